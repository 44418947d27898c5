package target

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// errNoHealth: the provider answers, but does not serve grpc.health.v1.
var errNoHealth = errors.New("the provider does not serve grpc.health.v1")

// waitServing polls grpc.health.v1 until the overall service ("") is SERVING. stopped,
// when it fires, means the provider died and waiting is pointless.
func waitServing(ctx context.Context, endpoint string, opts []grpc.DialOption, stopped <-chan struct{}) error {
	// The default reconnect backoff starts at 1s: a provider that binds its port 30ms
	// after the first attempt would cost a whole second. Poll the way a person would.
	fast := grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.5, Jitter: 0.1, MaxDelay: 250 * time.Millisecond},
		MinConnectTimeout: time.Second,
	})
	conn, err := grpc.NewClient(endpoint, append(append([]grpc.DialOption(nil), opts...), fast)...)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	var last error
	tlsFailures := 0
	began := time.Now()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		callCtx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := client.Check(callCtx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if status.Code(err) == codes.Unimplemented {
			return errNoHealth
		}
		// A provider that answers with a TLS failure (an unknown CA, another name, a missing
		// client certificate) is up and will answer the same way until the start timeout.
		switch {
		case tlsFailure(err):
			if tlsFailures++; tlsFailures >= 3 {
				return fmt.Errorf("TLS with the provider at %s failed: %v (check --tls-ca, --tls-cert, --tls-key and --tls-server-name)", endpoint, err)
			}
		case notGRPC(err):
			// Something answers, but not in HTTP/2: an HTTP port (the provider's 8080) or
			// another service, which will not turn into a gRPC server.
			if tlsFailures++; tlsFailures >= 3 {
				return fmt.Errorf("%s does not speak gRPC (HTTP/2): %v (is it the provider's HTTP port, e.g. 8080, instead of its gRPC port, e.g. 9443?)", endpoint, err)
			}
		default:
			tlsFailures = 0
		}
		switch {
		case err == nil:
			last = fmt.Errorf("health status %s", resp.GetStatus())
		case status.Code(err) != codes.DeadlineExceeded || last == nil:
			// A call cut short by the overall deadline says less than the answer before it
			// (connection refused, a TLS failure), so that one is kept.
			last = err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("provider at %s not SERVING within the start timeout (%s): last answer: %v", endpoint, time.Since(began).Round(time.Second), last)
			}
			return fmt.Errorf("provider at %s not SERVING: %w (last answer: %v)", endpoint, ctx.Err(), last)
		case <-stopped:
			return fmt.Errorf("provider exited before it was SERVING (last answer: %v)", last)
		case <-tick.C:
		}
	}
}

// notGRPC reports whether the server at the other end answered, but not with HTTP/2's
// preface: it is no gRPC server.
func notGRPC(err error) bool {
	if status.Code(err) != codes.Unavailable {
		return false
	}
	msg := status.Convert(err).Message()
	return strings.Contains(msg, "error reading server preface") && !strings.Contains(msg, "EOF") &&
		!strings.Contains(msg, "connection reset")
}

// tlsFailure reports whether a call failed in the TLS handshake, on either side.
func tlsFailure(err error) bool {
	if status.Code(err) != codes.Unavailable {
		return false
	}
	msg := status.Convert(err).Message()
	return strings.Contains(msg, "authentication handshake failed") || strings.Contains(msg, "remote error: tls:")
}
