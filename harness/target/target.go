// Package target starts (or finds) the provider under test and tells the runner how to
// reach it. One interface, one file per back end: process (the reference file provider as
// a child process, or in-process), endpoint (any running provider) and container
// (testcontainers). The kind target (a Helm release in kind, reached through a port-forward)
// fits the same interface; it lives in the e2e module (e2e/kindtarget) so that this module
// stays free of Kubernetes dependencies.
package target

import (
	"context"

	"google.golang.org/grpc"
)

// Target is a provider the suite can talk to. Start must be called first; Stop is safe to
// call at any time, more than once, and also after a failed Start (it releases whatever
// Start got).
type Target interface {
	// Start brings the provider up and returns once it reports SERVING (or, for a
	// provider the target does not own, once it is reachable).
	Start(ctx context.Context) error
	// Endpoint is the gRPC target to dial (host:port).
	Endpoint() string
	// DialOptions are the transport options for Endpoint: credentials (plaintext, TLS or
	// mTLS) and, for targets that need one, a dialer.
	DialOptions() []grpc.DialOption
	// Info describes the target for reports; complete after Start.
	Info() Info
	// Logs returns the provider's output captured so far (empty when the target cannot
	// see it, e.g. a remote endpoint).
	Logs() string
	// Stop stops what Start started and removes what it created (child process,
	// container, temporary storage).
	Stop(ctx context.Context) error
}

// Info describes a target.
type Info struct {
	// Kind is process, endpoint, container (or kind).
	Kind string
	// Mode refines the kind (process: "binary" or "in-process").
	Mode string
	// Detail is human-readable: the binary and how it was found, the image, the address.
	Detail string
	// TLS reports whether the transport is TLS.
	TLS bool
	// Image is the image reference the target ran (container, kind); empty for targets
	// that run no image.
	Image string
	// Version is the provider's version when the target can tell it; empty otherwise.
	Version string
}
