package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
)

// scratchDir holds what the tests build once per run (the provider binary, the client tools).
var scratchDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "provider-file-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scratchDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// providerBinary builds this command once per test run. Under -race the binary is built with
// the race detector too, so the crash test also hunts data races in the real process.
func providerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(scratchDir, "provider-file")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command(goCommand(), append(args, ".")...)
		if raceEnabled {
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// logLines collects a process's stderr, one JSON log record per line.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// withMsg returns the decoded records whose msg is msg.
func (l *logLines) withMsg(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range l.all() {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func (l *logLines) String() string { return strings.Join(l.all(), "\n") }

// providerProcess is a provider-file process listening on loopback ports it chose itself.
type providerProcess struct {
	cmd      *exec.Cmd
	logs     *logLines
	grpcAddr string
	httpAddr string
	exited   chan struct{} // closed once the process is reaped; then exitErr is set
	exitErr  error
}

// startProvider runs the binary on 127.0.0.1:0 in plaintext mode and waits until it serves.
// The process is killed when the test ends, if it still runs.
func startProvider(t *testing.T, storageDir string, extraArgs ...string) *providerProcess {
	t.Helper()
	args := append([]string{
		"--grpc-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0",
		"--storage-dir", storageDir,
		"--tls-dir", t.TempDir(), // empty: plaintext must come from --insecure, not from this machine
		"--insecure",
		"--log-level", "debug",
	}, extraArgs...)
	cmd := exec.Command(providerBinary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	p := &providerProcess{cmd: cmd, logs: &logLines{}, exited: make(chan struct{})}
	serving := make(chan map[string]any, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.logs.add(line)
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "serving" {
				serving <- rec
			}
		}
	}()
	go func() {
		<-readDone // Wait must not close the pipe while lines are still unread
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})

	select {
	case rec := <-serving:
		p.grpcAddr, _ = rec["grpc_addr"].(string)
		p.httpAddr, _ = rec["http_addr"].(string)
	case <-p.exited:
		t.Fatalf("provider-file exited before serving (%v):\n%s", p.exitErr, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("provider-file did not serve within 30s:\n%s", p.logs)
	}
	return p
}

// kill9 kills the process without warning, as a node failure or the OOM killer would.
func (p *providerProcess) kill9(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.exited
}

// terminate sends SIGTERM and waits for the exit.
func (p *providerProcess) terminate(t *testing.T) error {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(30 * time.Second):
		t.Fatal("provider-file ignored SIGTERM for 30s")
		return nil
	}
}

// dataRaces returns the race detector's reports in the process output.
func (p *providerProcess) dataRaces() []string {
	var out []string
	for _, line := range p.logs.all() {
		if strings.Contains(line, "WARNING: DATA RACE") {
			out = append(out, line)
		}
	}
	return out
}

type clients struct {
	v1       providerv1.ProviderClient
	tutorial tutorialv1.ProviderServiceClient
	conn     *grpc.ClientConn
}

func (p *providerProcess) dial(t testing.TB) clients {
	t.Helper()
	cc, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return clients{v1: providerv1.NewProviderClient(cc), tutorial: tutorialv1.NewProviderServiceClient(cc), conn: cc}
}

// metric reads one sample of /metrics; labels like `reason="corrupt"` select it. ok is false
// when no line matches.
func (p *providerProcess) metric(t testing.TB, name string, labels ...string) (value float64, ok bool) {
	t.Helper()
	body := httpBody(t, "http://"+p.httpAddr+"/metrics")
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				match = false
			}
		}
		if !match {
			continue
		}
		fields := strings.Fields(line)
		_, err := fmt.Sscan(fields[len(fields)-1], &value)
		require.NoError(t, err, "metric line %q", line)
		return value, true
	}
	return 0, false
}

func httpBody(t testing.TB, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
