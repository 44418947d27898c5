package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vctsio/vcts/internal/version"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
	"github.com/vctsio/vcts/providers/file"
	"github.com/vctsio/vcts/providers/kit"
)

// lockedBuffer is stderr for an in-process run, read while run still writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func noEnv(string) (string, bool) { return "", false }

func envMap(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// runOnce runs the command to completion with a context that is already cancelled, which is
// enough for everything that fails or exits before serving.
func runOnce(t *testing.T, env func(string) (string, bool), args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut lockedBuffer
	code = run(ctx, args, env, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runOnce(t, noEnv, "--version")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "provider-file "+version.Version+" (vcts spec "+version.SpecVersion+")\n", out)
}

func TestHelpNamesEveryFlagAndVariable(t *testing.T) {
	code, _, errOut := runOnce(t, noEnv, "-h")
	assert.Equal(t, exitOK, code)
	for _, want := range []string{
		"-storage-dir", EnvStorageDir, "-transition-delay", EnvTransitionDelay,
		"-grpc-addr", kit.EnvGRPCAddr, "-http-addr", kit.EnvHTTPAddr, "-tls-dir", "-insecure",
		kit.EnvInsecure, "-log-level", "-shutdown-timeout", "-version",
	} {
		assert.Contains(t, errOut, want)
	}
}

func TestBadConfigurationExitsWithUsageError(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown flag", nil, []string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{"positional argument", nil, []string{"serve"}, `unexpected arguments ["serve"]`},
		{"negative delay", nil, []string{"--transition-delay=-1s"}, "--transition-delay -1s is negative"},
		{"malformed delay variable", map[string]string{EnvTransitionDelay: "soon"}, nil, EnvTransitionDelay + `="soon" is not a duration`},
		{"malformed insecure variable", map[string]string{kit.EnvInsecure: "maybe"}, nil, kit.EnvInsecure + `="maybe" is not a boolean`},
		{"empty storage dir", nil, []string{"--storage-dir="}, "--storage-dir is empty"},
		{"bad log level", nil, []string{"--log-level=chatty"}, `--log-level "chatty"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runOnce(t, envMap(tc.env), tc.args...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, errOut, tc.want)
		})
	}
}

func TestRefusesToStartWithoutTLSOrInsecure(t *testing.T) {
	storage := filepath.Join(t.TempDir(), "vms")
	code, _, errOut := runOnce(t, noEnv,
		"--storage-dir", storage, "--tls-dir", t.TempDir(), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, `"msg":"cannot start"`)
	assert.Contains(t, errOut, "no TLS files")
	assert.Contains(t, errOut, kit.EnvInsecure+"=true")
	assert.NoDirExists(t, storage, "a provider that cannot serve makes no storage directory")
}

func TestRefusesAnUnusableStorageDir(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notDir, []byte("x"), 0o600))
	code, _, errOut := runOnce(t, noEnv, "--storage-dir", notDir, "--insecure", "--tls-dir", t.TempDir())
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "cannot start: the storage directory is unusable")
	assert.Contains(t, errOut, notDir)
}

// TestServesBothAPIsInProcess runs main's run function the way the binary does and stops it
// the way SIGTERM does, through the context.
func TestServesBothAPIsInProcess(t *testing.T) {
	storage := filepath.Join(t.TempDir(), "vms")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	exited := make(chan int, 1)
	env := envMap(map[string]string{
		kit.EnvGRPCAddr: "127.0.0.1:0", kit.EnvHTTPAddr: "127.0.0.1:0", kit.EnvInsecure: "true",
		kit.EnvTLSDir: t.TempDir(), EnvStorageDir: storage, EnvTransitionDelay: "10ms",
	})
	go func() { exited <- run(ctx, nil, env, new(lockedBuffer), &stderr) }()

	var grpcAddr, httpAddr string
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(stderr.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "serving" {
				grpcAddr, _ = rec["grpc_addr"].(string)
				httpAddr, _ = rec["http_addr"].(string)
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "no serving line in:\n%s", &stderr)
	assert.Contains(t, stderr.String(), `"transition_delay":"10ms"`, "the environment reached the provider")

	cc, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()

	v1 := providerv1.NewProviderClient(cc)
	created, err := v1.Create(ctx, &providerv1.CreateRequest{Name: "web-1", ClassJson: `{"CPU":2,"MemoryMiB":2048}`})
	require.NoError(t, err)
	desc, err := v1.Describe(ctx, &providerv1.DescribeRequest{Id: created.GetId()})
	require.NoError(t, err)
	assert.True(t, desc.GetExists())

	tut := tutorialv1.NewProviderServiceClient(cc)
	got, err := tut.GetVM(ctx, &tutorialv1.GetVMRequest{VmId: created.GetId()})
	require.NoError(t, err, "both APIs share one store")
	assert.Equal(t, "web-1", got.GetName())

	health, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: kit.HealthService})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, health.GetStatus())

	resp, err := http.Get("http://" + httpAddr + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	metrics, err := http.Get("http://" + httpAddr + "/metrics")
	require.NoError(t, err)
	var body bytes.Buffer
	_, err = body.ReadFrom(metrics.Body)
	metrics.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, body.String(), file.MetricVMs+`{provider="file"} 1`, "the provider's metrics share the kit's registry")
	assert.Contains(t, body.String(), kit.MetricRequests+`{code="OK",method="Create",provider="file",service="provider.v1.Provider"} 1`)

	cancel()
	select {
	case code := <-exited:
		assert.Equal(t, exitOK, code)
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
	assert.Contains(t, stderr.String(), `"msg":"stopped"`)
}
