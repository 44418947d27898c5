package runner

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/internal/grpctest"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/file"
)

// fault changes one provider behaviour, as a real provider's bug would.
type fault func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error)

// reconfigureIgnored: Reconfigure answers OK and changes nothing (the bug the contract's
// producer-shape rules were written for).
func reconfigureIgnored(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if strings.HasSuffix(info.FullMethod, "/Reconfigure") {
		return &providerv1.TaskResponse{}, nil
	}
	return h(ctx, req)
}

// noSnapshots: the provider does not offer snapshots, and says so honestly.
func noSnapshots(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if strings.Contains(info.FullMethod, "/Snapshot") {
		return nil, status.Error(codes.Unimplemented, "snapshots are not offered")
	}
	resp, err := h(ctx, req)
	if caps, ok := resp.(*providerv1.GetCapabilitiesResponse); ok {
		caps.SupportsSnapshots = false
		caps.SupportsMemorySnapshots = false
	}
	return resp, err
}

// provider serves the file provider on 127.0.0.1 the way a third party would run one,
// with optional faults, and returns its address and a client to inspect it afterwards.
func provider(t testing.TB, delay time.Duration, faults ...fault) (string, providerv1.ProviderClient) {
	t.Helper()
	p, err := file.New(file.Config{StorageDir: t.TempDir(), TransitionDelay: delay, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	var chain []grpc.UnaryServerInterceptor
	for _, f := range faults {
		chain = append(chain, grpc.UnaryServerInterceptor(f))
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(chain...))
	p.Register(srv)
	healthpb.RegisterHealthServer(srv, grpctest.Health())
	addr := grpctest.Serve(t, srv)
	return addr, providerv1.NewProviderClient(grpctest.Dial(t, addr))
}

// vmsLeft lists the VMs the provider still holds.
func vmsLeft(t testing.TB, c providerv1.ProviderClient) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.ListVMs(ctx, &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	var names []string
	for _, vm := range resp.GetVms() {
		names = append(names, vm.GetName())
	}
	return names
}

// buildProvider builds the provider binary with the go tool (cached after the first time).
func buildProvider(t testing.TB, root, out string, flags ...string) {
	t.Helper()
	args := append(append([]string{"build"}, flags...), "-o", out, "./providers/file/cmd/provider-file")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
}
