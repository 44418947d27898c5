// Package grpctest serves gRPC services on a loopback port for tests, the way a third party
// would run a provider, and dials them in plaintext.
package grpctest

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Serve starts srv on a free port of 127.0.0.1 and returns the address. The server stops
// when the test ends; register what must outlive it (a provider's Close) before calling Serve.
// Like every provider (and the server kit), it serves grpc.health.v1 as SERVING for "" and
// "provider", unless srv already has a health service of its own.
func Serve(t testing.TB, srv *grpc.Server) string {
	t.Helper()
	if _, ok := srv.GetServiceInfo()[healthpb.Health_ServiceDesc.ServiceName]; !ok {
		healthpb.RegisterHealthServer(srv, Health())
	}
	return ServeBare(t, srv)
}

// ServeBare is Serve without the health service: a server with only what srv registered.
func ServeBare(t testing.TB, srv *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// Health is the health service a provider serves: SERVING for "" and for "provider".
func Health() *health.Server {
	h := health.NewServer()
	h.SetServingStatus("provider", healthpb.HealthCheckResponse_SERVING)
	return h
}

// Dial returns a plaintext client connection to addr, closed when the test ends (before a
// server started earlier with Serve stops).
func Dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}
