// Package deps pins the core module's dependencies while the packages that use them are being
// written. TEMPORARY: removed once every dependency is imported by real code.
package deps

import (
	_ "github.com/bufbuild/protocompile"
	_ "github.com/cucumber/godog"
	_ "github.com/google/uuid"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "github.com/testcontainers/testcontainers-go"
	_ "go.uber.org/goleak"
	_ "google.golang.org/grpc"
	_ "google.golang.org/grpc/health"
	_ "google.golang.org/grpc/reflection"
	_ "google.golang.org/protobuf/proto"
	_ "sigs.k8s.io/yaml"
)
