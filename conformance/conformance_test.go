package conformance_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vctsio/vcts/conformance"
	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/internal/grpctest"
	"github.com/vctsio/vcts/providers/file"
)

// serve runs the reference provider the way a provider author's test would run theirs.
func serve(t *testing.T) string {
	t.Helper()
	p, err := file.New(file.Config{StorageDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	srv := grpc.NewServer()
	p.Register(srv)
	return grpctest.Serve(t, srv)
}

// TestFileProviderIsConformant is how a provider author uses the package: one subtest per
// requirement, run with their own `go test`.
func TestFileProviderIsConformant(t *testing.T) {
	cc, err := grpc.NewClient(serve(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()
	cfg := conformance.NewConfig()
	cfg.Conn = cc
	cfg.ProviderName = "file"
	conformance.Test(t, cfg)
}

func TestRunWithAnEndpointWritesReports(t *testing.T) {
	dir := t.TempDir()
	cfg := conformance.NewConfig()
	cfg.Endpoint = serve(t)
	cfg.Profiles = []string{"core"}
	cfg.Tags = "@CORE-003,@CORE-016"
	cfg.ReportDir = dir
	cfg.VMSpec = &conformance.VMSpec{CPU: 1, Memory: 512, Image: "ubuntu-22.04"}
	rep, err := conformance.Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, results.VerdictPartial, rep.Verdict, "a run narrowed by tags is partial")
	ran := map[string]results.Status{}
	for _, q := range rep.Requirements {
		if q.Reason != results.NotSelectedReason {
			ran[q.ID] = q.Status
		}
	}
	assert.Equal(t, map[string]results.Status{"CORE-003": results.Passed, "CORE-016": results.Passed}, ran)
	assert.Equal(t, "endpoint", rep.Target.Kind)
	assert.Equal(t, int64(512), rep.Config.Profiles.Core.VMSpecs[0].Memory, "the configured VM was used")
	assert.FileExists(t, filepath.Join(dir, "results.json"))
}

func TestRunWithoutEndpointUsesTheReferenceProvider(t *testing.T) {
	cfg := conformance.NewConfig()
	cfg.Profiles = []string{"core"}
	cfg.Tags = "@CORE-001"
	rep, err := conformance.Run(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, results.VerdictPartial, rep.Verdict, "a run narrowed by tags is partial")
	core, _ := rep.Profile("core")
	assert.Equal(t, 1, core.Passed)
	assert.Equal(t, "process", rep.Target.Kind)
}

func TestBadConfigIsAnError(t *testing.T) {
	for name, edit := range map[string]func(*conformance.Config){
		"profile":  func(c *conformance.Config) { c.Profiles = []string{"gpu"} },
		"dialect":  func(c *conformance.Config) { c.Dialect = "v7" },
		"tags":     func(c *conformance.Config) { c.Tags = "CORE-001" },
		"endpoint": func(c *conformance.Config) { c.Endpoint = "no-port" },
		"unknown known-failing ID": func(c *conformance.Config) {
			c.Endpoint = "127.0.0.1:1"
			c.KnownFailing = []string{"CORE-999"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := conformance.NewConfig()
			edit(&cfg)
			_, err := conformance.Run(context.Background(), cfg)
			var ce *config.Error
			assert.ErrorAs(t, err, &ce)
		})
	}
}

func TestMain(m *testing.M) {
	// The process target must not pick up a stale bin/provider-file from a developer's
	// tree: run from a directory outside it so it serves the provider in-process.
	dir, err := os.MkdirTemp("", "vcts-conformance-test-")
	if err != nil || os.Chdir(dir) != nil {
		panic("cannot leave the source tree for the tests")
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
