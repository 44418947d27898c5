package target

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"

	"github.com/vctsio/vcts/harness/config"
)

// Endpoint is a provider someone else runs: the suite only dials it. Start checks that the
// provider answers grpc.health.v1 SERVING when it serves health; a provider without the
// health service is accepted (the suite's own calls then show whether it works).
type Endpoint struct {
	Address      string
	TLS          config.TLS
	StartTimeout time.Duration

	opts []grpc.DialOption
	note string
}

// NewEndpoint returns an endpoint target.
func NewEndpoint(address string, tls config.TLS) *Endpoint {
	return &Endpoint{Address: address, TLS: tls}
}

// Start builds the transport and waits (bounded) for the provider to be SERVING.
func (e *Endpoint) Start(ctx context.Context) error {
	opt, err := TransportOption(e.TLS)
	if err != nil {
		return err
	}
	e.opts = []grpc.DialOption{opt}
	timeout := e.StartTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = waitServing(wctx, e.Address, e.opts, nil)
	if errors.Is(err, errNoHealth) {
		e.note = err.Error()
		return nil
	}
	if err != nil {
		return err // every answer of waitServing names the address
	}
	return nil
}

// Endpoint is the configured address.
func (e *Endpoint) Endpoint() string { return e.Address }

// DialOptions carry the TLS/mTLS or plaintext credentials.
func (e *Endpoint) DialOptions() []grpc.DialOption { return e.opts }

// Info describes the endpoint.
func (e *Endpoint) Info() Info {
	d := e.Address
	if e.TLS.Enabled {
		d += " (TLS"
		if e.TLS.Cert != "" {
			d += ", client certificate"
		}
		d += ")"
	} else {
		d += " (plaintext)"
	}
	if e.note != "" {
		d += "; " + e.note
	}
	return Info{Kind: config.TargetEndpoint, Detail: d, TLS: e.TLS.Enabled}
}

// Logs is empty: a remote provider's output is not visible to the suite.
func (e *Endpoint) Logs() string { return "" }

// Stop does nothing: the suite does not own the provider.
func (e *Endpoint) Stop(context.Context) error { return nil }
