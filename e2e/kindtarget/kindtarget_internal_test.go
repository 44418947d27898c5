package kindtarget

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestImageValuesSplitRepositoryAndTag(t *testing.T) {
	set, err := ImageValues("image", "localhost:5000/vcts/provider-file:dev")
	require.NoError(t, err)
	assert.Equal(t, []string{"image.repository=localhost:5000/vcts/provider-file", "image.tag=dev"}, set)
	set, err = ImageValues("tests.image", "vcts/vcts:v1.2.3")
	require.NoError(t, err)
	assert.Equal(t, []string{"tests.image.repository=vcts/vcts", "tests.image.tag=v1.2.3"}, set)

	for _, ref := range []string{"vcts/provider-file", "localhost:5000/provider-file", "vcts/provider-file:", ""} {
		_, err := ImageValues("image", ref)
		assert.ErrorContains(t, err, "needs an explicit tag", "%q", ref)
	}
}

func svc(name string, ports ...string) corev1.Service {
	s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: p})
	}
	return s
}

func TestPickService(t *testing.T) {
	name, err := pickService([]corev1.Service{svc("metrics", "http"), svc("provider-file", "grpc", "http")}, "grpc", "r")
	require.NoError(t, err)
	assert.Equal(t, "provider-file", name)

	_, err = pickService([]corev1.Service{svc("metrics", "http")}, "grpc", "r")
	assert.ErrorContains(t, err, `release r has no Service with a port named "grpc"`)
	_, err = pickService([]corev1.Service{svc("a", "grpc"), svc("b", "grpc")}, "grpc", "r")
	assert.ErrorContains(t, err, "several Services with a port named \"grpc\": a, b")
}

func TestTailBytesKeepsWholeLines(t *testing.T) {
	assert.Equal(t, "short\n", tailBytes("short\n", 100))
	assert.Equal(t, "line3\n", tailBytes("line1\nline2\nline3\n", 8), "the cut line is dropped")
	long := strings.Repeat("x", 50)
	assert.Equal(t, long[40:], tailBytes(long, 10), "no line break: the last bytes")
}

// fakeDocker puts a docker stand-in first on PATH.
func fakeDocker(t *testing.T, script string) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker"), []byte("#!/bin/sh\n"+script+"\n"), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestImageVersionReadsTheOCILabel(t *testing.T) {
	ctx := context.Background()
	fakeDocker(t, `case "$*" in *org.opencontainers.image.version*vcts/provider-file:dev) echo v1.4.0;; *) exit 1;; esac`)
	assert.Equal(t, "v1.4.0", imageVersion(ctx, "vcts/provider-file:dev"))
	assert.Empty(t, imageVersion(ctx, "missing:dev"), "an image docker does not know has no version")

	fakeDocker(t, `echo "<no value>"`)
	assert.Empty(t, imageVersion(ctx, "vcts/provider-file:dev"), "no label: unknown")
}

func TestStartRefusesBadOptionsBeforeTouchingAnything(t *testing.T) {
	// A docker that fails the test if anything calls it.
	fakeDocker(t, `echo "docker must not be called" >&2; exit 99`)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"image without a tag", Options{Image: "vcts/provider-file", ChartDir: "."}, "needs an explicit tag"},
		{"no chart", Options{Image: "vcts/provider-file:dev"}, "no chart directory"},
		{"not a chart", Options{Image: "vcts/provider-file:dev", ChartDir: t.TempDir()}, "loading chart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := New(tc.o)
			err := k.Start(context.Background())
			require.ErrorContains(t, err, tc.want)
			assert.Equal(t, err, k.Start(context.Background()), "a second Start reports the first one's failure")
			assert.Nil(t, k.Cluster(), "no cluster was made")
			assert.Empty(t, k.Endpoint())
			assert.Nil(t, k.DialOptions())
			require.NoError(t, k.Stop(context.Background()), "Stop after a failed Start releases nothing and succeeds")
			require.NoError(t, k.Stop(context.Background()), "Stop is idempotent")
			assert.ErrorContains(t, k.Start(context.Background()), "already stopped")
		})
	}
}

func TestInfoBeforeStart(t *testing.T) {
	k := New(Options{Image: "vcts/provider-file:dev", Cluster: "c1", Release: "r1", Namespace: "n1"})
	info := k.Info()
	assert.Equal(t, Kind, info.Kind)
	assert.Equal(t, "vcts/provider-file:dev", info.Image)
	assert.Equal(t, "kind cluster c1 (created), release r1 in namespace n1", info.Detail)
	assert.False(t, info.TLS)
	assert.Empty(t, k.Logs(), "no pod yet")
	assert.Empty(t, k.Phases())
}

func TestNotReadyNamesWhatIsStillStarting(t *testing.T) {
	two := int32(2)
	dep := func(name string, gen, observed int64, updated, available int32) appsv1.Deployment {
		return appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Generation: gen},
			Spec:       appsv1.DeploymentSpec{Replicas: &two},
			Status:     appsv1.DeploymentStatus{ObservedGeneration: observed, UpdatedReplicas: updated, AvailableReplicas: available},
		}
	}
	ds := func(name string, gen, observed int64, desired, updated, available int32) appsv1.DaemonSet {
		return appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Generation: gen},
			Status: appsv1.DaemonSetStatus{ObservedGeneration: observed, DesiredNumberScheduled: desired,
				UpdatedNumberScheduled: updated, NumberAvailable: available},
		}
	}
	assert.Empty(t, notReady(
		[]appsv1.Deployment{dep("coredns", 1, 1, 2, 2)},
		[]appsv1.DaemonSet{ds("kube-proxy", 1, 1, 1, 1, 1), ds("kindnet", 1, 1, 1, 1, 1)}))
	assert.Equal(t, []string{
		"deployment coredns 1/2 available",
		"deployment fresh 0/2 available",
		"daemonset kube-proxy 0/1 available",
		"daemonset unseen 0/0 available",
	}, notReady(
		[]appsv1.Deployment{dep("coredns", 1, 1, 2, 1), dep("fresh", 1, 0, 0, 0)},
		[]appsv1.DaemonSet{ds("kube-proxy", 1, 1, 1, 1, 0), ds("unseen", 1, 0, 0, 0, 0)}))
}
