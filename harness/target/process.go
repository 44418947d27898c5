package target

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/internal/child"
	"github.com/vctsio/vcts/internal/version"
	"github.com/vctsio/vcts/providers/file"
	"github.com/vctsio/vcts/providers/kit"
)

// Process modes, recorded in the report.
const (
	ModeBinary    = "binary"
	ModeInProcess = "in-process"
)

// ModulePath is the module whose source tree the process target can build the provider in.
const ModulePath = "github.com/vctsio/vcts"

// ProviderBinary is the reference provider's executable name.
const ProviderBinary = "provider-file"

// Process runs the reference file provider on 127.0.0.1 with a free port and a temporary
// storage directory. The binary is, in order: Bin; provider-file next to the running
// executable; bin/provider-file in the module root; one built with `go build` when the
// source tree is at hand. When none works the provider is served in-process (same code,
// same wire) and Info().Mode says so.
type Process struct {
	// Bin is an explicit provider binary (--provider-bin); it is used or the start fails.
	Bin string
	// Mode forces ModeBinary or ModeInProcess; empty chooses as described above.
	Mode string
	// StartTimeout bounds waiting for SERVING (default 30s).
	StartTimeout time.Duration
	// KeepStorage leaves the storage directory behind (tests.cleanup: false).
	KeepStorage bool
	// TransitionDelay is the file provider's simulated transition time (0: immediate).
	TransitionDelay time.Duration
	// Log receives progress notes (building the binary); nil discards them.
	Log *slog.Logger

	mu       sync.Mutex
	endpoint string
	mode     string
	detail   string
	version  string
	tmp      string
	logs     *logBuffer
	cmd      *exec.Cmd
	exited   chan struct{}
	stopSrv  context.CancelFunc
	served   chan error
	provider *file.Provider
	stopped  bool
}

// Start launches the provider and waits until it is SERVING. On failure everything
// started is stopped again.
func (p *Process) Start(ctx context.Context) (err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Log == nil {
		p.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p.logs = newLogBuffer(defaultLogMax)
	p.tmp, err = os.MkdirTemp(scratchDir(), "vcts-process-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// Nothing of a failed start is worth a graceful shutdown: kill at once.
			dead, cancel := context.WithCancel(context.Background())
			cancel()
			_ = p.stopLocked(dead)
		}
	}()
	for _, d := range []string{"vms", "tls"} {
		if err := os.Mkdir(filepath.Join(p.tmp, d), 0o700); err != nil {
			return err
		}
	}
	timeout := p.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if p.Mode == ModeInProcess {
		return p.startInProcess(ctx, timeout, "in-process (requested)")
	}
	bin, how, err := p.findBinary(ctx)
	if err != nil {
		return err
	}
	if bin == "" {
		if p.Mode == ModeBinary {
			return fmt.Errorf("no %s binary: %s", ProviderBinary, how)
		}
		return p.startInProcess(ctx, timeout, "in-process: "+how)
	}
	p.version = binaryVersion(ctx, bin)
	// A free port can be taken between probing and binding: try a few.
	for attempt := 1; ; attempt++ {
		err = p.startBinary(ctx, bin, how, timeout)
		if err == nil || attempt == 3 || ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			return err
		}
		p.Log.Warn("provider exited during start; retrying on another port", "attempt", attempt, "error", err)
		p.killChild()
	}
}

// findBinary returns the binary to run and how it was found, or "" and why none was.
func (p *Process) findBinary(ctx context.Context) (string, string, error) {
	if p.Bin != "" {
		if err := executable(p.Bin); err != nil {
			return "", "", fmt.Errorf("--provider-bin: %w", err)
		}
		return p.Bin, "given (--provider-bin)", nil
	}
	var notes []string
	if exe, err := os.Executable(); err == nil {
		cand := filepath.Join(filepath.Dir(exe), ProviderBinary)
		if executable(cand) == nil {
			return cand, "found next to " + filepath.Base(exe), nil
		}
	}
	root, rootErr := ModuleRoot()
	if rootErr == nil {
		cand := filepath.Join(root, "bin", ProviderBinary)
		if executable(cand) == nil {
			return cand, "found in the module's bin/", nil
		}
		bin, err := p.build(ctx, root)
		if err == nil {
			return bin, "built from source (go build)", nil
		}
		notes = append(notes, "go build failed: "+err.Error())
	} else {
		notes = append(notes, "no source tree: "+rootErr.Error())
	}
	notes = append([]string{"no " + ProviderBinary + " next to the executable or in bin/"}, notes...)
	return "", joinNotes(notes), nil
}

func joinNotes(n []string) string {
	var b bytes.Buffer
	for i, s := range n {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}

func executable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// ModuleRoot finds the vcts source tree above the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isModuleRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", ModulePath)
		}
		dir = parent
	}
}

func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); bytes.HasPrefix(line, []byte("module ")) {
			return string(bytes.TrimSpace(line[len("module "):])) == ModulePath
		}
	}
	return false
}

func (p *Process) build(ctx context.Context, root string) (string, error) {
	pkg := "./providers/file/cmd/" + ProviderBinary
	if _, err := os.Stat(filepath.Join(root, pkg)); err != nil {
		return "", fmt.Errorf("%s is missing", pkg)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	out := filepath.Join(p.tmp, ProviderBinary)
	p.Log.Info("building the file provider from source", "package", pkg)
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s", err, bytes.TrimSpace(msg))
	}
	p.Log.Info("built the file provider", "took", time.Since(start).Round(time.Millisecond))
	return out, nil
}

var errExitedEarly = errors.New("provider exited before it was SERVING")

// binaryVersion asks the provider binary for its version (`-version` prints "provider-file
// VERSION (vcts spec X)"). It is for the report only: any other answer, or none within a
// few seconds, leaves the version unknown rather than failing the start.
func binaryVersion(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-version").Output()
	if err != nil {
		return ""
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || f[0] != ProviderBinary {
		return ""
	}
	return f[1]
}

func (p *Process) startBinary(ctx context.Context, bin, how string, timeout time.Duration) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--grpc-addr", addr, "--http-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(),
		kit.EnvInsecure+"=true",
		"PROVIDER_STORAGE_DIR="+filepath.Join(p.tmp, "vms"),
		// An empty TLS directory: plaintext even on a machine that has the real one.
		kit.EnvTLSDir+"="+filepath.Join(p.tmp, "tls"),
		"PROVIDER_TRANSITION_DELAY="+p.TransitionDelay.String(),
	)
	cmd.Stdout = p.logs
	cmd.Stderr = p.logs
	exited := make(chan struct{})
	if err := child.Start(cmd, exited); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	p.cmd, p.exited = cmd, exited
	p.endpoint, p.mode = addr, ModeBinary
	p.detail = fmt.Sprintf("%s (%s), pid %d, storage %s", bin, how, cmd.Process.Pid, filepath.Join(p.tmp, "vms"))

	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if err := waitServing(wctx, addr, opts, exited); err != nil {
		select {
		case <-exited:
			return fmt.Errorf("%w: %v\n%s", errExitedEarly, cmd.ProcessState, tail(p.logs.String(), 2000))
		default:
		}
		return fmt.Errorf("%v\n%s", err, tail(p.logs.String(), 2000))
	}
	return nil
}

func (p *Process) startInProcess(ctx context.Context, timeout time.Duration, why string) error {
	logger := slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	prov, err := file.New(file.Config{StorageDir: filepath.Join(p.tmp, "vms"), TransitionDelay: p.TransitionDelay, Logger: logger})
	if err != nil {
		return err
	}
	p.provider = prov
	srv, err := kit.Listen(kit.Options{
		GRPCAddr:        "127.0.0.1:0",
		HTTPAddr:        "127.0.0.1:0",
		TLSDir:          filepath.Join(p.tmp, "tls"),
		Insecure:        true,
		Name:            "file",
		Ready:           prov.Ready,
		ShutdownTimeout: 2 * time.Second,
		Logger:          logger,
	}, func(s *grpc.Server) { prov.Register(s) })
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx) }()
	p.stopSrv, p.served = cancel, served
	p.endpoint, p.mode = srv.GRPCAddr().String(), ModeInProcess
	p.version = version.Version // the provider is this very build
	p.detail = fmt.Sprintf("file provider served inside vcts (%s), storage %s", why, filepath.Join(p.tmp, "vms"))

	wctx, wcancel := context.WithTimeout(ctx, timeout)
	defer wcancel()
	return waitServing(wctx, p.endpoint, []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, nil)
}

// Endpoint is 127.0.0.1:port.
func (p *Process) Endpoint() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.endpoint
}

// DialOptions: the process target always serves plaintext on loopback.
func (p *Process) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
}

// Info says which mode ran and how the binary was found.
func (p *Process) Info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Info{Kind: config.TargetProcess, Mode: p.mode, Detail: p.detail, Version: p.version}
}

// Logs is the provider's output (stdout and stderr, or the in-process logger).
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.logs == nil {
		return ""
	}
	return p.logs.String()
}

// Stop terminates the provider (SIGTERM, then SIGKILL after 5s) and removes the temporary
// directory unless KeepStorage.
func (p *Process) Stop(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopLocked(ctx)
}

func (p *Process) stopLocked(ctx context.Context) error {
	if p.stopped {
		return nil
	}
	p.stopped = true
	var errs []error
	if p.cmd != nil {
		errs = append(errs, p.stopChild(ctx))
	}
	if p.stopSrv != nil {
		p.stopSrv()
		select {
		case err := <-p.served:
			errs = append(errs, err)
		case <-time.After(5 * time.Second):
			errs = append(errs, errors.New("in-process provider did not shut down within 5s"))
		}
	}
	if p.provider != nil {
		errs = append(errs, p.provider.Close())
	}
	if p.tmp != "" {
		if p.KeepStorage {
			p.Log.Info("kept the provider's storage (tests.cleanup: false)", "dir", filepath.Join(p.tmp, "vms"))
		} else {
			errs = append(errs, os.RemoveAll(p.tmp))
		}
	}
	return errors.Join(errs...)
}

func (p *Process) stopChild(ctx context.Context) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = child.Terminate(p.cmd)
	grace := time.NewTimer(5 * time.Second)
	defer grace.Stop()
	select {
	case <-p.exited:
		return nil
	case <-grace.C:
	case <-ctx.Done():
	}
	p.killChild()
	select {
	case <-p.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("provider pid %d did not exit after SIGKILL", p.cmd.Process.Pid)
	}
}

func (p *Process) killChild() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = child.Kill(p.cmd)
		<-p.exited
	}
	p.cmd = nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// scratchDir is where the provider's throwaway storage goes: $TMPDIR when it is set, else
// /dev/shm where the machine has it (RAM: the provider's fsyncs, which make its writes
// durable on a disk, cost a run on a throwaway directory nothing but time), else the
// system's temporary directory.
func scratchDir() string {
	if os.Getenv("TMPDIR") != "" {
		return ""
	}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", ".vcts-check-*"); err == nil {
			name := f.Name()
			_ = f.Close()
			_ = os.Remove(name)
			return "/dev/shm"
		}
	}
	return ""
}
