package verify

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/vctsio/vcts/harness/config"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/kit"
)

// fakeEnv switches the test binary into a fake provider (see fakeProvider).
const fakeEnv = "VRTG_VERIFY_FAKE_PROVIDER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeEnv); mode != "" {
		os.Exit(fakeProvider(mode))
	}
	os.Exit(m.Run())
}

// fakeProvider is a provider binary for Launched's tests:
//   - serve: a kit server (health only) that prints the environment verify gave it;
//   - exit: fails at start, as a provider that cannot reach its hypervisor does;
//   - stubborn: serves and ignores SIGTERM.
func fakeProvider(mode string) int {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	flags := kit.BindFlags(fs, os.LookupEnv)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	for _, k := range []string{kit.EnvInsecure, kit.EnvTLSDir, "PROVIDER_STORAGE_DIR"} {
		fmt.Printf("%s=%s\n", k, os.Getenv(k))
	}
	if st, err := os.Stat(os.Getenv("PROVIDER_STORAGE_DIR")); err != nil || !st.IsDir() {
		fmt.Println("storage directory missing")
		return 4
	}
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "cannot reach the hypervisor at https://hv.example")
		return 3
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
	}
	opts, err := flags.Options("fake", io.Discard)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if mode == "serve" {
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM)
		defer stop()
	}
	err = kit.Run(ctx, opts, func(s *grpc.Server) {
		providerv1.RegisterProviderServer(s, providerv1.UnimplementedProviderServer{})
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// launch runs the test binary as a fake provider in mode.
func launch(t *testing.T, mode string) *Launched {
	t.Helper()
	t.Setenv(fakeEnv, mode)
	exe, err := os.Executable()
	require.NoError(t, err)
	addr, err := FreeLoopbackAddr()
	require.NoError(t, err)
	l := &Launched{Bin: exe, Addr: addr, StartTimeout: 2 * time.Minute}
	t.Cleanup(func() { _ = l.Stop(context.Background()) })
	return l
}

func gone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }

func TestLaunchedServesInPlaintextAndStops(t *testing.T) {
	l := launch(t, "serve")
	require.NoError(t, l.Start(t.Context()))
	pid := l.Pid()
	require.NotZero(t, pid)
	assert.False(t, gone(pid))
	assert.Equal(t, l.Addr, l.Endpoint())
	assert.NotEmpty(t, l.DialOptions())
	info := l.Info()
	assert.Equal(t, config.TargetEndpoint, info.Kind)
	assert.Equal(t, ModeLaunched, info.Mode)
	assert.Contains(t, info.Detail, fmt.Sprintf("pid %d, on %s (plaintext)", pid, l.Addr))
	assert.False(t, info.TLS)

	logs := l.Logs()
	assert.Contains(t, logs, kit.EnvInsecure+"=true")
	tmp := l.tmp
	assert.Contains(t, logs, kit.EnvTLSDir+"="+filepath.Join(tmp, "tls"), "an empty TLS directory, whatever the machine has")
	assert.Contains(t, logs, "PROVIDER_STORAGE_DIR="+filepath.Join(tmp, "storage"))
	assert.Error(t, l.Start(t.Context()), "a second Start is refused")

	require.NoError(t, l.Stop(context.Background()))
	assert.True(t, gone(pid), "the provider is gone after Stop")
	assert.NoDirExists(t, tmp)
	assert.NoError(t, l.Stop(context.Background()), "Stop twice is fine")
}

func TestLaunchedReportsAProviderThatDiesAtStart(t *testing.T) {
	l := launch(t, "exit")
	start := time.Now()
	err := l.Start(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the provider exited before it was SERVING (exit status 3)")
	assert.Contains(t, err.Error(), "cannot reach the hypervisor at https://hv.example")
	// It must not sit out the 2-minute start timeout once the process is gone.
	assert.Less(t, time.Since(start), time.Minute)
	tmp := l.tmp
	require.NoError(t, l.Stop(context.Background()))
	assert.NoDirExists(t, tmp)
}

func TestLaunchedKillsAProviderThatIgnoresSIGTERM(t *testing.T) {
	l := launch(t, "stubborn")
	require.NoError(t, l.Start(t.Context()))
	pid := l.Pid()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.NoError(t, l.Stop(ctx))
	assert.True(t, gone(pid))
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := newTailBuffer(8)
	_, _ = b.Write([]byte("0123"))
	assert.Equal(t, "0123", b.String())
	_, _ = b.Write([]byte("456789ab"))
	assert.Equal(t, "[earlier output dropped]\n456789ab", b.String())
	assert.Equal(t, "…89ab", tail("0123456789ab", 4))
}
