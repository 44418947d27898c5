package initproject_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/harness/catalog"
	"github.com/vctsio/vcts/harness/results"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/scaffold/initproject"
	"github.com/vctsio/vcts/scaffold/publish"
	"github.com/vctsio/vcts/scaffold/verify"
)

// offlineGo makes the go command build the generated project against this checkout and the
// module cache only: no workspace, no proxy, go.sum written as needed.
func offlineGo(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOTOOLCHAIN", "local")
}

// seedGoSum gives the generated project the checkout's go.sum: it builds against this
// checkout, so every module it needs is there, and -mod=mod adds no line that the go command
// would verify against the checksum database (which a machine without internet, or a fresh
// module cache there, cannot reach).
func seedGoSum(t *testing.T, root, dir string) {
	t.Helper()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
}

// TestTutorialFlow is the tutorial end to end: init writes a project; verify builds, vets
// and tests it, starts it on loopback and runs the suite (core must pass as generated, the
// optional profiles must be skipped for the reason that they are not offered); the binary
// answers Unimplemented for what it does not offer; publish turns the results into a
// catalog commit.
func TestTutorialFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a generated project")
	}
	offlineGo(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "provider-acme")

	start := time.Now()
	_, err = initproject.Generate(initproject.Options{Name: "acme", Dir: dir, VCTSPath: root, Image: "ghcr.io/acme/provider-acme"})
	require.NoError(t, err)
	tInit := time.Since(start)
	seedGoSum(t, root, dir)

	var out bytes.Buffer
	oc, err := verify.Run(t.Context(), verify.Options{Dir: dir, Profile: "all", Out: &out})
	tVerify := time.Since(start) - tInit
	require.NoError(t, err, out.String())
	t.Logf("init %s, verify (build, vet, test, binary, conformance) %s", tInit.Round(time.Millisecond), tVerify.Round(time.Millisecond))
	require.Equal(t, verify.ExitPass, oc.ExitCode, out.String())

	rep := oc.Report
	assert.Equal(t, results.VerdictPass, rep.Verdict)
	assert.Equal(t, "acme", rep.Provider.Name)
	core, _ := rep.Profile("core")
	assert.Equal(t, results.VerdictPass, core.Verdict)
	assert.Zero(t, core.Failed+core.Skipped)
	for _, name := range []string{"snapshot", "clone"} {
		p, ok := rep.Profile(name)
		require.True(t, ok, name)
		assert.Equal(t, results.VerdictSkip, p.Verdict, name)
		assert.Contains(t, p.Reason, "the provider does not offer "+name+"s", name)
	}
	for _, q := range rep.Requirements {
		if q.Profile == "core" {
			assert.Equal(t, results.Passed, q.Status, "%s: %s", q.ID, q.Reason)
		}
	}
	assert.Contains(t, out.String(), "ok  \tgithub.com/example/provider-acme/internal/provider", "the project's own tests ran")
	assert.Contains(t, out.String(), "✅ Core Profile Tests")
	assert.Contains(t, out.String(), "PASS: provider-acme is conformant (core pass, snapshot skip (not offered), clone skip (not offered))")
	assert.FileExists(t, filepath.Join(dir, "reports", "results.json"))
	assert.FileExists(t, filepath.Join(dir, "reports", "badge.svg"))

	t.Run("unoffered operations answer Unimplemented on the wire", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "provider-acme")
		build := exec.Command("go", "build", "-o", bin, "./cmd/provider-acme")
		build.Dir = dir
		msg, err := build.CombinedOutput()
		require.NoError(t, err, string(msg))
		addr, err := verify.FreeLoopbackAddr()
		require.NoError(t, err)
		l := &verify.Launched{Bin: bin, Addr: addr}
		require.NoError(t, l.Start(t.Context()))
		pid := l.Pid()
		defer func() {
			require.NoError(t, l.Stop(context.Background()))
			assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the provider is gone after Stop")
		}()
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer conn.Close()
		c := providerv1.NewProviderClient(conn)
		ctx := t.Context()
		caps, err := c.GetCapabilities(ctx, &providerv1.GetCapabilitiesRequest{})
		require.NoError(t, err)
		assert.False(t, caps.GetSupportsSnapshots())
		assert.False(t, caps.GetSupportsLinkedClones())
		vm, err := c.Create(ctx, &providerv1.CreateRequest{Name: "wire", ClassJson: `{"CPU":1,"MemoryMiB":512}`})
		require.NoError(t, err)
		calls := map[string]func() error{
			"SnapshotCreate": func() error {
				_, err := c.SnapshotCreate(ctx, &providerv1.SnapshotCreateRequest{VmId: vm.GetId(), NameHint: "s"})
				return err
			},
			"SnapshotRevert": func() error {
				_, err := c.SnapshotRevert(ctx, &providerv1.SnapshotRevertRequest{VmId: vm.GetId(), SnapshotId: "s"})
				return err
			},
			"Clone": func() error {
				_, err := c.Clone(ctx, &providerv1.CloneRequest{SourceVmId: vm.GetId(), TargetName: "copy"})
				return err
			},
			"ImagePrepare": func() error {
				_, err := c.ImagePrepare(ctx, &providerv1.ImagePrepareRequest{TargetName: "img"})
				return err
			},
			"HardwareUpgrade": func() error {
				_, err := c.HardwareUpgrade(ctx, &providerv1.HardwareUpgradeRequest{Id: vm.GetId(), TargetVersion: 20})
				return err
			},
			"ExportDisk": func() error {
				_, err := c.ExportDisk(ctx, &providerv1.ExportDiskRequest{VmId: vm.GetId()})
				return err
			},
		}
		for name, call := range calls {
			assert.Equal(t, codes.Unimplemented, status.Code(call()), name)
		}
	})

	t.Run("publish", func(t *testing.T) {
		repo := t.TempDir()
		git := func(args ...string) string {
			cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "git %v: %s", args, b)
			return strings.TrimSpace(string(b))
		}
		git("init", "--quiet", "--initial-branch=main")
		require.NoError(t, os.WriteFile(filepath.Join(repo, "README.md"), []byte("catalog\n"), 0o644))
		git("add", "README.md")
		git("commit", "--quiet", "-m", "init")

		var pout bytes.Buffer
		res, err := publish.Run(t.Context(), publish.Options{
			Name: "acme", Image: "ghcr.io/acme/provider-acme", Tag: "0.1.0",
			Repo: "https://github.com/acme/provider-acme", Maintainer: "dev@acme.example", License: "Apache-2.0",
			Results: filepath.Join(dir, "reports", "results.json"), CatalogRepo: repo, Out: &pout,
		})
		require.NoError(t, err, pout.String())
		assert.Equal(t, "add-provider-acme-0.1.0", git("rev-parse", "--abbrev-ref", "HEAD"))
		assert.Equal(t, "providers/badges/acme.svg\nproviders/catalog.yaml", git("show", "--name-only", "--format=", "HEAD"))
		data, err := os.ReadFile(filepath.Join(repo, "providers", "catalog.yaml"))
		require.NoError(t, err)
		require.NoError(t, catalog.ValidateDocument(data))
		assert.Equal(t, map[string]string{"core": "pass", "snapshot": "skip", "clone": "skip"}, res.Entry.Conformance.Profiles)
		assert.Equal(t, []string{"core"}, res.Entry.Capabilities)
		assert.Contains(t, pout.String(), "gh pr create --head add-provider-acme-0.1.0 --base main")
	})
}
