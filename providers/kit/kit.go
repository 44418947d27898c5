// Package kit is the small server kit every provider needs: gRPC and HTTP listeners, health,
// reflection, metrics, logging, panic recovery, transport security and graceful shutdown.
package kit

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
)

// Options configure a provider server. Zero values mean the defaults in the field comments.
type Options struct {
	// GRPCAddr (default ":9443", env PROVIDER_GRPC_ADDR) and HTTPAddr (default ":8080",
	// env PROVIDER_HTTP_ADDR).
	GRPCAddr string
	HTTPAddr string
	// TLSDir holds tls.crt, tls.key and ca.crt (default /etc/virtrigaud/tls).
	TLSDir string
	// Insecure allows plaintext when no TLS file is present (VIRTRIGAUD_PROVIDER_INSECURE=true).
	Insecure bool
	// Name is the provider's name, used in logs and as a metrics label.
	Name string
	// Ready is called by /readyz; nil means always ready.
	Ready func(ctx context.Context) error
	// ShutdownTimeout bounds graceful shutdown (default 15s).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

// Run serves until ctx is cancelled (e.g. on SIGTERM), then shuts down gracefully.
// register adds the provider's services to the gRPC server.
func Run(ctx context.Context, opts Options, register func(*grpc.Server)) error {
	panic("not implemented yet")
}
