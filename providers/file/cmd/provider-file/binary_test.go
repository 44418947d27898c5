package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/file"
)

func TestBinaryStopsGracefullyOnSIGTERM(t *testing.T) {
	p := startProvider(t, filepath.Join(t.TempDir(), "vms"))
	c := p.dial(t)
	_, err := c.v1.Validate(t.Context(), &providerv1.ValidateRequest{})
	require.NoError(t, err)

	require.NoError(t, p.terminate(t), "exit status after SIGTERM:\n%s", p.logs)
	require.Len(t, p.logs.withMsg("shutting down"), 1)
	assert.Equal(t, "terminated signal received", p.logs.withMsg("shutting down")[0]["reason"])
	assert.Len(t, p.logs.withMsg("stopped"), 1)
}

// TestCorruptFileIsDetectedAtRestart shows that the signals the crash test relies on are real:
// a VM file cut short (what a non-atomic write would leave behind) shows up in the log and the
// skipped-files metric, and the VM is not served.
func TestCorruptFileIsDetectedAtRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vms")
	p := startProvider(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := p.dial(t).v1.Create(ctx, &providerv1.CreateRequest{Name: "victim", ClassJson: `{"CPU":1,"MemoryMiB":512}`})
	require.NoError(t, err)
	p.kill9(t)

	path := filepath.Join(dir, resp.GetId()+".json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data[:len(data)/2], 0o600))

	p = startProvider(t, dir)
	assert.Len(t, p.logs.withMsg(skipLogMsg), 1)
	v, ok := p.metric(t, file.MetricSkippedFiles, `provider="file"`, `reason="corrupt"`)
	require.True(t, ok)
	assert.Equal(t, 1.0, v)
	list, err := p.dial(t).v1.ListVMs(ctx, &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	assert.Empty(t, list.GetVms())
}

// recorder is a testing.TB that collects failures instead of failing the test, so a test can
// show that a check fails when it should. FailNow ends only the goroutine it runs in.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recorder) FailNow()                          { runtime.Goexit() }
func (r *recorder) Fail()                             { r.Errorf("failed") }

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs) > 0
}

// failures runs check against a recorder and returns what it reported.
func failures(t *testing.T, check func(tb testing.TB)) string {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(rec)
	}()
	<-done
	return strings.Join(rec.errs, "\n")
}

// TestCrashCheckCatchesLostAndPhantomVMs shows the crash test's verification is not vacuous: a
// VM whose acknowledged file vanished, and a VM no client created, are both reported.
func TestCrashCheckCatchesLostAndPhantomVMs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vms")
	p := startProvider(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := p.dial(t)
	var ids []string
	for _, name := range []string{"kept", "lost", "phantom"} {
		resp, err := c.v1.Create(ctx, &providerv1.CreateRequest{Name: name, ClassJson: `{"CPU":1,"MemoryMiB":512}`})
		require.NoError(t, err)
		ids = append(ids, resp.GetId())
	}
	book := newLedger()
	for i, name := range []string{"kept", "lost"} { // "phantom" is not in the clients' ledger
		book.vms[ids[i]] = &vmState{id: ids[i], name: name, allowed: []spec{{CPU: 1, MemoryMiB: 512}}}
	}
	p.kill9(t)
	require.NoError(t, os.Remove(filepath.Join(dir, ids[1]+".json")))

	p = startProvider(t, dir)
	got := failures(t, func(tb testing.TB) { verifyAfterRestart(tb, p, dir, book, 0) })
	assert.Contains(t, got, "acknowledged VM "+ids[1]+" (lost) is missing from ListVMs")
	assert.Contains(t, got, "VM "+ids[2]+" (phantom) appeared without any create")
	assert.NotContains(t, got, ids[0], "the surviving VM is fine")
}
