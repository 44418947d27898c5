package target

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/vctsio/vcts/internal/version"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

// create makes one VM through the target, proving the provider behind it serves the wire.
func create(t *testing.T, tg Target) {
	t.Helper()
	cc, err := grpc.NewClient(tg.Endpoint(), tg.DialOptions()...)
	require.NoError(t, err)
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := providerv1.NewProviderClient(cc).Create(ctx, &providerv1.CreateRequest{Name: "target-test", ClassJson: `{"CPU":1,"MemoryMiB":512}`})
	require.NoError(t, err)
	assert.NotEmpty(t, resp.GetId())
}

func TestProcessInProcess(t *testing.T) {
	p := &Process{Mode: ModeInProcess, Log: discard()}
	require.NoError(t, p.Start(context.Background()))
	info := p.Info()
	assert.Equal(t, "process", info.Kind)
	assert.Equal(t, ModeInProcess, info.Mode)
	assert.Equal(t, version.Version, info.Version, "the in-process provider is this build")
	assert.Empty(t, info.Image)
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, p.Endpoint())
	create(t, p)
	tmp := p.tmp
	assert.DirExists(t, tmp)
	assert.Contains(t, p.Logs(), "file provider storage loaded", "the in-process provider's logs are captured")

	require.NoError(t, p.Stop(context.Background()))
	assert.NoDirExists(t, tmp, "the temporary storage is removed")
	require.NoError(t, p.Stop(context.Background()), "Stop is idempotent")
}

func TestProcessBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	bin := providerBinary(t)
	p := &Process{Bin: bin, Log: discard()}
	require.NoError(t, p.Start(context.Background()))
	info := p.Info()
	assert.Equal(t, ModeBinary, info.Mode)
	assert.Contains(t, info.Detail, bin)
	assert.Contains(t, info.Detail, "given (--provider-bin)")
	create(t, p)
	pid := pidOf(t, info.Detail)
	require.True(t, alive(pid))
	tmp := p.tmp

	require.NoError(t, p.Stop(context.Background()))
	assert.False(t, alive(pid), "the child is gone after Stop")
	assert.NoDirExists(t, tmp)
	assert.NotEmpty(t, p.Logs(), "the child's output was captured")
}

func TestBinaryVersion(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
		return path
	}
	ctx := context.Background()
	assert.Equal(t, "v1.2.3", binaryVersion(ctx, script("good", `echo "provider-file v1.2.3 (vcts spec 1.0.0)"`)))
	assert.Empty(t, binaryVersion(ctx, script("other", `echo "some-other-tool 4.5"`)), "another program's answer is not a version")
	assert.Empty(t, binaryVersion(ctx, script("fails", `echo "provider-file v1"; exit 2`)), "a failing -version says nothing")
	assert.Empty(t, binaryVersion(ctx, script("mute", `true`)))
	assert.Empty(t, binaryVersion(ctx, filepath.Join(dir, "missing")))
}

func TestProcessKeepStorage(t *testing.T) {
	p := &Process{Mode: ModeInProcess, KeepStorage: true, Log: discard()}
	require.NoError(t, p.Start(context.Background()))
	create(t, p)
	require.NoError(t, p.Stop(context.Background()))
	vms := filepath.Join(p.tmp, "vms")
	assert.DirExists(t, vms, "tests.cleanup: false keeps the storage for inspection")
	require.NoError(t, os.RemoveAll(p.tmp))
}

func TestProcessChildThatDiesFailsTheStartAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "provider-file")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\necho 'cannot open storage' >&2\nexit 3\n"), 0o755))
	p := &Process{Bin: bin, Log: discard(), StartTimeout: 5 * time.Second}
	err := p.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited before it was SERVING")
	assert.Contains(t, err.Error(), "cannot open storage", "the provider's own words are in the error")
	assert.NoDirExists(t, p.tmp, "a failed start cleans up")
}

func TestProcessHangingChildIsKilled(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "provider-file")
	// Never serves and ignores SIGTERM: Stop must still get rid of it.
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\ntrap '' TERM\necho $$ > \"$0.pid\"\nwhile :; do sleep 1; done\n"), 0o755))
	p := &Process{Bin: bin, Log: discard(), StartTimeout: 500 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Stop with a cancelled context goes straight to SIGKILL
	err := p.Start(context.Background())
	require.Error(t, err)
	b, rerr := os.ReadFile(bin + ".pid")
	require.NoError(t, rerr)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	assert.False(t, alive(pid), "a start that timed out kills the child")
	require.NoError(t, p.Stop(ctx))
}

func TestProcessBadExplicitBinary(t *testing.T) {
	p := &Process{Bin: filepath.Join(t.TempDir(), "nope"), Log: discard()}
	err := p.Start(context.Background())
	assert.ErrorContains(t, err, "--provider-bin")
	notExec := filepath.Join(t.TempDir(), "provider-file")
	require.NoError(t, os.WriteFile(notExec, []byte("x"), 0o644))
	err = (&Process{Bin: notExec, Log: discard()}).Start(context.Background())
	assert.ErrorContains(t, err, "not an executable file")
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "go.mod"))
	assert.True(t, isModuleRoot(root))
	assert.False(t, isModuleRoot(t.TempDir()))
}

var pidRe = regexp.MustCompile(`pid (\d+)`)

func pidOf(t *testing.T, detail string) int {
	t.Helper()
	m := pidRe.FindStringSubmatch(detail)
	require.NotNil(t, m, detail)
	pid, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return pid
}

func TestScratchDirFollowsTMPDIRElseRAM(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	assert.Equal(t, "", scratchDir(), "TMPDIR set: os.MkdirTemp uses it")
	t.Setenv("TMPDIR", "")
	want := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		want = "/dev/shm"
	}
	assert.Equal(t, want, scratchDir())
}
