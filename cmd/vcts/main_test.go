package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vctsio/vcts/harness/report"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/target"
	"github.com/vctsio/vcts/internal/grpctest"
	"github.com/vctsio/vcts/internal/version"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/file"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersionSpecList(t *testing.T) {
	code, out, _ := run(t, "version")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "vcts dev\nspec "+version.SpecVersion+"\nresults vcts.dev/results/v1\ngo1.")

	code, out, _ = run(t, "spec")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "CORE-001")
	assert.Contains(t, out, "SNAP-001")

	code, out, _ = run(t, "list")
	assert.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^CORE-001\s+core\s+`, out)
	assert.Regexp(t, `(?m)^CLONE-001\s+clone\s+`, out)

	code, out, _ = run(t, "list", "--profile", "clone")
	assert.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^CLONE-001\s+clone\s+`, out)
	assert.NotContains(t, out, "CORE-001", "--profile narrows the list")
}

func TestUsageErrorsExitTwo(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "vcts-config.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("provider:\n  tsl: true\n"), 0o600))
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"run", "extra-arg"}, "unknown command"},
		{[]string{"run", "--config", bad}, bad + ": provider.tsl: unknown key"},
		{[]string{"run", "--config", filepath.Join(dir, "missing.yaml")}, "no such file"},
		{[]string{"run", "--profile", "gold"}, `--profile: want core, snapshot, clone or all, got "gold"`},
		{[]string{"run", "--target", "endpoint"}, "provider.endpoint: the endpoint target needs an endpoint"},
		{[]string{"run", "--endpoint", "nohostport"}, "want host:port"},
		{[]string{"run", "--dialect", "v9"}, "provider.dialect"},
		{[]string{"run", "--endpoint", "127.0.0.1:1", "--tls-cert", "/x"}, "cert and key go together"},
		{[]string{"run", "--tls-ca", "/x"}, "TLS applies to the endpoint target"},
		{[]string{"run", "--concurrency", "-1"}, "--concurrency: must be positive"},
		{[]string{"run", "--concurrency", "0"}, "--concurrency: must be positive, got 0"},
		{[]string{"run", "--timeout", "0s"}, "--timeout: must be positive, got 0s"},
		{[]string{"run", "--report-dir", filepath.Join(bad, "sub")}, "--report-dir"},
		{[]string{"run", "--report-dir", ""}, "--report-dir: is empty"},
		{[]string{"run", "--target", "process", "--endpoint", "127.0.0.1:9443"}, "--endpoint (provider.endpoint): \"127.0.0.1:9443\" is set, but the process target"},
		{[]string{"run", "--provider-bin", filepath.Join(dir, "nope")}, "target.provider_bin"},
		{[]string{"run", "--endpoint", "127.0.0.1:99999"}, "port from 1 to 65535"},
		{[]string{"run", "--timeout", "soon"}, `invalid argument "soon" for "--timeout"`},
		{[]string{"run", "--tags", "CORE-001"}, "--tags (tests.tags): bad tag term"},
		{[]string{"run", "--dialect", "v2"}, "--dialect (provider.dialect): want v1 or tutorial"},
		{[]string{"run", "--profile", ""}, "--profile: is empty"},
		{[]string{"list", "--profile", "cor"}, `--profile: want core, snapshot, clone or all, got "cor"`},
		{[]string{"list", "--dialect", "bogus"}, "--dialect (provider.dialect)"},
		{[]string{"run", "--known-failing", filepath.Join(dir, "kf")}, "tests.known_failing"},
		{[]string{"run", "--known-flaky", filepath.Join(dir, "flaky")}, "tests.known_flaky"},
		{[]string{"report"}, "--results is required"},
		{[]string{"report", "--results", bad}, "not a results.json"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, tc.args...)
			assert.Equal(t, 2, code, "stdout: %s\nstderr: %s", out, errOut)
			assert.Contains(t, errOut, tc.msg)
			assert.True(t, strings.HasPrefix(errOut, "vcts: "), errOut)
		})
	}
}

func TestReportReRenders(t *testing.T) {
	r := &results.Report{APIVersion: results.APIVersion, Suite: results.Suite{Name: "vcts", Version: "v1"}, Provider: results.Provider{Name: "file"}}
	results.Evaluate(r, nil, []results.Scenario{{Requirement: "CORE-001", Profile: "core", Name: "x", Status: results.Passed}},
		results.Plan{Profiles: []string{"core"}, Selected: 1})
	b, err := r.Marshal()
	require.NoError(t, err)
	in := filepath.Join(t.TempDir(), "results.json")
	require.NoError(t, os.WriteFile(in, b, 0o600))
	out := t.TempDir()
	code, stdout, stderr := run(t, "report", "--results", in, "--report-dir", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "🎉 All tests passed!")
	for _, f := range []string{report.JUnitFile, report.HTMLFile, report.SummaryFile, report.BadgeFile, report.CatalogFile, report.ResultsFile} {
		assert.FileExists(t, filepath.Join(out, f))
	}
}

// serveProvider runs the file provider on 127.0.0.1 like a third party would.
func serveProvider(t *testing.T, delay time.Duration) (string, providerv1.ProviderClient) {
	t.Helper()
	p, err := file.New(file.Config{StorageDir: t.TempDir(), TransitionDelay: delay, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	srv := grpc.NewServer()
	p.Register(srv)
	healthpb.RegisterHealthServer(srv, grpctest.Health())
	addr := grpctest.Serve(t, srv)
	return addr, providerv1.NewProviderClient(grpctest.Dial(t, addr))
}

func vmCount(t *testing.T, c providerv1.ProviderClient) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.ListVMs(ctx, &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	return len(resp.GetVms())
}

func TestRunAgainstAnEndpointWithoutConfig(t *testing.T) {
	addr, client := serveProvider(t, 0)
	dir := t.TempDir()
	code, out, errOut := run(t, "run", "--target", "endpoint", "--endpoint", addr, "--profile", "all", "--report-dir", dir)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "✓ CORE-001")
	assert.Contains(t, out, "✅ Core Profile Tests")
	assert.Contains(t, out, "✅ Snapshot Profile Tests")
	assert.Contains(t, out, "✅ Clone Profile Tests")
	assert.Contains(t, out, "🎉 All tests passed! Provider is conformant.")
	assert.FileExists(t, filepath.Join(dir, report.ResultsFile))
	assert.Zero(t, vmCount(t, client))

	code, out, _ = run(t, "list", "--endpoint", addr, "--profile", "core")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Capabilities: snapshots=true clones=true")
	assert.Regexp(t, `(?m)^SNAP-001\s+snapshot\s+no\s+profile snapshot not selected`, out)
}

func TestRunPartialExitsThree(t *testing.T) {
	addr, _ := serveProvider(t, 0)
	code, out, _ := run(t, "run", "--endpoint", addr, "--dialect", "tutorial", "--profile", "core", "--report-dir", t.TempDir())
	assert.Equal(t, 3, code, out)
	assert.Contains(t, out, "⚠️ Partially conformant")
}

var (
	buildOnce sync.Once
	vctsBin   string
	provBin   string
	buildErr  error
)

// binaries builds vcts and provider-file once for the tests that need real processes.
func binaries(t *testing.T) (string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds binaries")
	}
	buildOnce.Do(func() {
		root, err := target.ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "vcts-cli-test-")
		if err != nil {
			buildErr = err
			return
		}
		vctsBin, provBin = filepath.Join(dir, "vcts"), filepath.Join(dir, "provider-file")
		for out, pkg := range map[string]string{vctsBin: "./cmd/vcts", provBin: "./providers/file/cmd/provider-file"} {
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("%w: %s", err, b)
				return
			}
		}
	})
	require.NoError(t, buildErr)
	return vctsBin, provBin
}

// interrupt starts a real vcts process, waits until it reported n scenarios, sends it
// SIGINT and returns its exit code and output.
func interrupt(t *testing.T, n int, args ...string) (int, string) {
	t.Helper()
	bin, _ := binaries(t)
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir() // away from the source tree: no stray bin/ or go build
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	var out bytes.Buffer
	seen := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if strings.HasPrefix(line, "✓ ") || strings.HasPrefix(line, "✗ ") {
			seen++
		}
		if seen == n {
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			break
		}
	}
	rest, _ := io.ReadAll(stdout)
	out.Write(rest)
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	require.Equal(t, n, seen, "the run ended before it could be interrupted:\n%s\n%s", out.String(), stderr.String())
	_ = err
	return code, out.String() + stderr.String()
}

func TestSIGINTMidRunCleansUpTheProvider(t *testing.T) {
	addr, client := serveProvider(t, 150*time.Millisecond) // slow enough to interrupt
	dir := t.TempDir()
	code, out := interrupt(t, 3, "run", "--endpoint", addr, "--report-dir", dir)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "the run was interrupted")
	assert.Zero(t, vmCount(t, client), "after SIGINT the provider holds no VM created by the suite")
	r, err := results.Load(filepath.Join(dir, report.ResultsFile))
	require.NoError(t, err)
	assert.Equal(t, results.VerdictFail, r.Verdict)
}

func TestSIGINTStopsTheProcessTarget(t *testing.T) {
	_, prov := binaries(t)
	dir := t.TempDir()
	code, out := interrupt(t, 3, "run", "--provider-bin", prov, "--report-dir", dir)
	assert.Equal(t, 1, code, out)
	r, err := results.Load(filepath.Join(dir, report.ResultsFile))
	require.NoError(t, err)
	var pid int
	var storage string
	_, err = fmt.Sscanf(r.Target.Detail[strings.Index(r.Target.Detail, "pid "):], "pid %d, storage %s", &pid, &storage)
	require.NoError(t, err, r.Target.Detail)
	assert.Error(t, syscall.Kill(pid, 0), "the provider process is gone")
	assert.NoDirExists(t, filepath.Dir(storage), "its temporary storage is gone")
}

func TestSIGINTRemovesTheContainer(t *testing.T) {
	if err := exec.Command("docker", "version").Run(); err != nil {
		t.Skipf("needs Docker: %v", err)
	}
	_, prov := binaries(t)
	ctxDir := t.TempDir()
	data, err := os.ReadFile(prov)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "provider-file"), data, 0o755))
	image := fmt.Sprintf("vcts-test/provider-file:cli-%d", os.Getpid())
	// The label first keeps this build's layers its own (see harness/target's testImage).
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(
		"FROM scratch\nLABEL vcts.test.build="+image+"\nCOPY provider-file /provider-file\nENV PROVIDER_STORAGE_DIR=/vms PROVIDER_TRANSITION_DELAY=150ms\nENTRYPOINT [\"/provider-file\"]\n"), 0o644))
	b, err := exec.Command("docker", "build", "-q", "-t", image, ctxDir).CombinedOutput()
	require.NoError(t, err, "%s", b)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })

	code, out := interrupt(t, 3, "run", "--target", "container", "--image", image, "--report-dir", t.TempDir())
	assert.Equal(t, 1, code, out)
	left, err := exec.Command("docker", "ps", "-a", "--filter", "ancestor="+image, "--format", "{{.Names}}").CombinedOutput()
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(string(left)), "no container is left after Ctrl-C")
}
