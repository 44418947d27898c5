package target

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testImage builds a FROM-scratch image around a freshly built static provider binary, so
// the container target is tested with the real provider without depending on
// `make docker-build`. The image is removed with the test.
func testImage(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("container target: needs Docker (skipped with -short)")
	}
	if err := exec.Command("docker", "version").Run(); err != nil {
		t.Skipf("container target: Docker is not available: %v", err)
	}
	bin := providerBinary(t)
	dir := t.TempDir()
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "provider-file"), data, 0o755))
	image := fmt.Sprintf("vcts-test/provider-file:%d", os.Getpid())
	// The label first makes every layer this build's own: the legacy builder would otherwise
	// share cached layers with another package's build of the same files, and removing one
	// image (rmi below) can pull a layer from under the other build while it runs.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(
		"FROM scratch\nLABEL vcts.test.build="+image+"\nCOPY provider-file /provider-file\nENV PROVIDER_STORAGE_DIR=/vms\nEXPOSE 9443\nENTRYPOINT [\"/provider-file\"]\n"), 0o644))
	out, err := exec.Command("docker", "build", "-q", "-t", image, dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	return image
}

func containersOf(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label="+Label+"="+name, "--format", "{{.ID}}").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.TrimSpace(string(out))
}

func TestContainer(t *testing.T) {
	image := testImage(t)
	c := &Container{Image: image, Log: discard()}
	require.NoError(t, c.Start(context.Background()))
	info := c.Info()
	assert.Equal(t, "container", info.Kind)
	assert.Contains(t, info.Detail, image)
	assert.Equal(t, image, info.Image)
	assert.Empty(t, info.Version, "the test image has no version label")
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, c.Endpoint(), "published on loopback")
	create(t, c)
	assert.NotEmpty(t, containersOf(t, c.name))

	out, err := exec.Command("docker", "port", c.name).CombinedOutput()
	require.NoError(t, err)
	assert.NotContains(t, string(out), "0.0.0.0", "the port is not published on every interface")

	require.NoError(t, c.Stop(context.Background()))
	assert.Empty(t, containersOf(t, c.name), "no container is left behind")
	assert.Contains(t, c.Logs(), "file provider storage loaded", "the provider's logs outlive the container")
}

func TestContainerRemovedWhenTheContextIsAlreadyCancelled(t *testing.T) {
	image := testImage(t)
	c := &Container{Image: image, Log: discard()}
	require.NoError(t, c.Start(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as after Ctrl-C
	require.NoError(t, c.Stop(ctx))
	assert.Empty(t, containersOf(t, c.name))
}

func TestContainerMissingImage(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Docker")
	}
	if err := exec.Command("docker", "version").Run(); err != nil {
		t.Skipf("Docker is not available: %v", err)
	}
	c := &Container{Image: "vcts-test/does-not-exist:never", Log: discard()}
	err := c.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make docker-build")
	assert.Empty(t, containersOf(t, c.name))
}

func TestOrphanedContainersOfDeadRunsAreReaped(t *testing.T) {
	image := testImage(t)
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	host, _ := os.Hostname()
	create := func(name, owner string) {
		out, err := exec.Command("docker", "create", "--name", name, "--label", Label+"="+name, "--label", LabelOwner+"="+owner, image).CombinedOutput()
		require.NoError(t, err, "%s", out)
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	}
	orphan := fmt.Sprintf("vcts-test-orphan-%d", os.Getpid())
	live := fmt.Sprintf("vcts-test-live-%d", os.Getpid())
	foreign := fmt.Sprintf("vcts-test-foreign-%d", os.Getpid())
	create(orphan, fmt.Sprintf("%s/%d", host, dead.Process.Pid))
	create(live, fmt.Sprintf("%s/%d", host, os.Getpid()))
	create(foreign, fmt.Sprintf("another-host/%d", dead.Process.Pid))

	reapOrphans(context.Background(), discard())
	assert.Empty(t, containersOf(t, orphan), "the container of a vcts that was killed is removed")
	assert.NotEmpty(t, containersOf(t, live), "a running vcts keeps its container")
	assert.NotEmpty(t, containersOf(t, foreign), "another host's containers are not ours to judge")
}
