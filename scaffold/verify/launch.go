package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/target"
	"github.com/vctsio/vcts/internal/child"
	"github.com/vctsio/vcts/providers/kit"
)

// ModeLaunched is the report's target mode: an endpoint whose provider verify started.
const ModeLaunched = "launched by vrtg-provider verify"

// Launched is a target.Target for a provider binary built from the project: it runs the
// binary on a loopback port in plaintext (with an empty TLS directory and a temporary
// storage directory, for providers that keep files) and reaches it as an endpoint. The
// binary must take the kit's flags and variables (--grpc-addr, --http-addr,
// VIRTRIGAUD_PROVIDER_INSECURE), as every provider built on providers/kit does.
type Launched struct {
	// Bin is the provider binary.
	Bin string
	// Addr is the loopback host:port it serves gRPC on (FreeLoopbackAddr).
	Addr string
	// StartTimeout bounds waiting for SERVING (default 30s).
	StartTimeout time.Duration

	mu       sync.Mutex
	tmp      string
	cmd      *exec.Cmd
	exited   chan struct{}
	logs     *tailBuffer
	endpoint *target.Endpoint
	stopped  bool
}

var _ target.Target = (*Launched)(nil)

// FreeLoopbackAddr returns 127.0.0.1:port with a port that was free a moment ago.
func FreeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start runs the binary and waits until it reports SERVING; when it exits first, the
// error carries the end of its output. A failed Start is cleaned up by Stop.
func (l *Launched) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cmd != nil || l.stopped {
		return errors.New("the provider was already started")
	}
	l.logs = newTailBuffer(256 << 10)
	tmp, err := os.MkdirTemp("", "vrtg-provider-verify-")
	if err != nil {
		return err
	}
	l.tmp = tmp
	for _, d := range []string{"tls", "storage"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o700); err != nil {
			return err
		}
	}
	cmd := exec.Command(l.Bin, "--grpc-addr", l.Addr, "--http-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(),
		kit.EnvInsecure+"=true",
		// An empty TLS directory: plaintext even on a machine that has the real one.
		kit.EnvTLSDir+"="+filepath.Join(tmp, "tls"),
		kit.EnvShutdownTimeout+"=5s",
		"PROVIDER_STORAGE_DIR="+filepath.Join(tmp, "storage"),
	)
	cmd.Dir = tmp
	cmd.Stdout = l.logs
	cmd.Stderr = l.logs
	exited := make(chan struct{})
	if err := child.Start(cmd, exited); err != nil {
		return fmt.Errorf("start %s: %w", l.Bin, err)
	}
	l.cmd, l.exited = cmd, exited

	timeout := l.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	l.endpoint = target.NewEndpoint(l.Addr, config.TLS{})
	l.endpoint.StartTimeout = timeout
	// Stop waiting as soon as the provider dies: its output says why.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-wctx.Done():
		}
	}()
	err = l.endpoint.Start(wctx)
	select {
	case <-exited:
		return fmt.Errorf("the provider exited before it was SERVING (%v); its output:\n%s", cmd.ProcessState, tail(l.logs.String(), 4000))
	default:
	}
	if err != nil {
		return fmt.Errorf("%w; the provider's output:\n%s", err, tail(l.logs.String(), 4000))
	}
	return nil
}

// Endpoint is the loopback address.
func (l *Launched) Endpoint() string { return l.Addr }

// DialOptions: plaintext, as the provider was started.
func (l *Launched) DialOptions() []grpc.DialOption {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.endpoint == nil {
		return nil
	}
	return l.endpoint.DialOptions()
}

// Info describes the launched provider for the report.
func (l *Launched) Info() target.Info {
	l.mu.Lock()
	defer l.mu.Unlock()
	detail := fmt.Sprintf("%s on %s (plaintext)", l.Bin, l.Addr)
	if l.cmd != nil && l.cmd.Process != nil {
		detail = fmt.Sprintf("%s, pid %d, on %s (plaintext)", l.Bin, l.cmd.Process.Pid, l.Addr)
	}
	return target.Info{Kind: config.TargetEndpoint, Mode: ModeLaunched, Detail: detail}
}

// Logs is the provider's output so far (its tail).
func (l *Launched) Logs() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.logs == nil {
		return ""
	}
	return l.logs.String()
}

// Stop terminates the provider (SIGTERM, SIGKILL after 10s or when ctx ends) and removes
// the temporary directories. It is safe to call more than once.
func (l *Launched) Stop(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return nil
	}
	l.stopped = true
	var errs []error
	if l.cmd != nil {
		errs = append(errs, l.stopChild(ctx))
	}
	if l.tmp != "" {
		errs = append(errs, os.RemoveAll(l.tmp))
	}
	return errors.Join(errs...)
}

func (l *Launched) stopChild(ctx context.Context) error {
	select {
	case <-l.exited:
		return nil
	default:
	}
	_ = child.Terminate(l.cmd)
	grace := time.NewTimer(10 * time.Second)
	defer grace.Stop()
	select {
	case <-l.exited:
		return nil
	case <-grace.C:
	case <-ctx.Done():
	}
	_ = child.Kill(l.cmd)
	select {
	case <-l.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("provider pid %d did not exit after SIGKILL", l.cmd.Process.Pid)
	}
}

// Pid is the provider's process id (0 before Start).
func (l *Launched) Pid() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cmd == nil || l.cmd.Process == nil {
		return 0
	}
	return l.cmd.Process.Pid
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.cut = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return "[earlier output dropped]\n" + string(b.buf)
	}
	return string(b.buf)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
