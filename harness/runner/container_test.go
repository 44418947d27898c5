package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/target"
)

// providerImage builds a FROM-scratch image of the provider binary for the container
// target, removed with the test (or skips where Docker is absent, or with -short).
func providerImage(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("container target: needs Docker (skipped with -short)")
	}
	if err := exec.Command("docker", "version").Run(); err != nil {
		t.Skipf("container target: Docker is not available: %v", err)
	}
	root, err := target.ModuleRoot()
	require.NoError(t, err)
	dir := t.TempDir()
	buildProvider(t, root, filepath.Join(dir, "provider-file"))
	image := fmt.Sprintf("vcts-test/provider-file:runner-%d", os.Getpid())
	// The label first makes every layer this build's own (see harness/target's testImage):
	// another package's concurrent build and removal of the same files cannot touch them.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(
		"FROM scratch\nLABEL vcts.test.build="+image+"\nCOPY provider-file /provider-file\nENV PROVIDER_STORAGE_DIR=/vms\nEXPOSE 9443\nENTRYPOINT [\"/provider-file\"]\n"+
			"LABEL "+target.LabelVersion+"=v0.0.0-container-test\n"), 0o644))
	out, err := exec.Command("docker", "build", "-q", "-t", image, dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	return image
}

// containerNamed lists the container of that name if it still exists (other tests may run
// containers of their own at the same time, so only this run's container is looked at).
func containerNamed(t testing.TB, name string) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label="+target.Label+"="+name, "--format", "{{.Names}}").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.TrimSpace(string(out))
}

var containerName = regexp.MustCompile(`container (vcts-provider-[0-9a-f]+) `)

func TestContainerTargetPassesAndLeavesNoContainer(t *testing.T) {
	image := providerImage(t)
	cfg := finalized(t, func(f *config.File) { f.Target.Kind = config.TargetContainer; f.Target.Image = image })
	res, err := Run(context.Background(), Options{Config: cfg})
	require.NoError(t, err)
	r := res.Report
	require.Equal(t, results.VerdictPass, r.Verdict, "failed: %v %v", failures(r), r.Problems)
	assert.Equal(t, "container", r.Target.Kind)
	assert.Contains(t, r.Target.Detail, image)
	assert.Equal(t, image, r.Provider.Image, "the image the container ran")
	assert.Equal(t, "v0.0.0-container-test", r.Provider.Version, "from the image's OCI version label")
	// The report keeps the tail of the logs: the last lines, from the shutdown, are there.
	assert.Contains(t, r.ProviderLogs, `"msg":"shutting down"`, "container logs are attached, up to the provider's exit")
	m := containerName.FindStringSubmatch(r.Target.Detail)
	require.NotNil(t, m, r.Target.Detail)
	assert.Empty(t, containerNamed(t, m[1]), "the container is removed")
}
