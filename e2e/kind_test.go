package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vctsio/vcts/e2e/artifacts"
	"github.com/vctsio/vcts/e2e/chart"
	"github.com/vctsio/vcts/e2e/cluster"
	"github.com/vctsio/vcts/e2e/deploy"
	"github.com/vctsio/vcts/e2e/portforward"
)

var keep = flag.Bool("keep", false, "keep the kind cluster after the run (also E2E_KEEP=1)")

const (
	release   = "provider-file"
	namespace = "vcts-e2e"
	// The Service is named after the release, which already contains the chart name.
	service = release
)

// settings of one run, from the environment (make e2e-kind sets them).
type settings struct {
	nodeImage, providerImage, vctsImage, vctsBin, artifacts, clusterName string
	keep                                                                 bool
}

func load(t *testing.T) settings {
	if os.Getenv("E2E_KIND") != "1" {
		t.Skip("kind end-to-end run skipped: set E2E_KIND=1 (`make e2e-kind` does). It needs Docker and the images " +
			"vcts/provider-file:dev and vcts/vcts:dev, and creates a kind cluster.")
	}
	s := settings{
		nodeImage:     envOr("KIND_NODE_IMAGE", cluster.DefaultNodeImage),
		providerImage: envOr("PROVIDER_IMAGE", "vcts/provider-file:dev"),
		vctsImage:     envOr("VCTS_IMAGE", "vcts/vcts:dev"),
		vctsBin:       envOr("VCTS_BIN", filepath.Join("..", "bin", "vcts")),
		artifacts:     envOr("E2E_ARTIFACTS", filepath.Join("..", "reports", "e2e")),
		clusterName:   envOr("E2E_CLUSTER", "vcts-e2e"),
		keep:          *keep || os.Getenv("E2E_KEEP") == "1",
	}
	var err error
	if s.vctsBin, err = filepath.Abs(s.vctsBin); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.vctsBin); err != nil {
		t.Fatalf("vcts binary: %v (run make build, or set VCTS_BIN)", err)
	}
	if s.artifacts, err = filepath.Abs(s.artifacts); err != nil {
		t.Fatal(err)
	}
	// Artifacts of an earlier run would be mistaken for this one's.
	if err := os.RemoveAll(s.artifacts); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// imageValues points the chart at the images under test, whatever the example file says.
func imageValues(provider, vcts string) ([]string, error) {
	var set []string
	for prefix, ref := range map[string]string{"image": provider, "tests.image": vcts} {
		i := strings.LastIndex(ref, ":")
		if i <= 0 || strings.Contains(ref[i:], "/") {
			return nil, fmt.Errorf("image %q needs an explicit tag (the node never pulls)", ref)
		}
		set = append(set, prefix+".repository="+ref[:i], prefix+".tag="+ref[i+1:])
	}
	return set, nil
}

// stopwatch records how long each step took; the e2e budget in CI is tight.
type stopwatch struct {
	t     *testing.T
	start time.Time
	lines []string
}

func (w *stopwatch) step(name string, f func() error) {
	w.t.Helper()
	begin := time.Now()
	w.t.Logf("▶ %s", name)
	err := f()
	d := time.Since(begin).Round(100 * time.Millisecond)
	w.lines = append(w.lines, fmt.Sprintf("%-38s %8s", name, d))
	if err != nil {
		w.t.Fatalf("%s (after %s): %v", name, d, err)
	}
	w.t.Logf("✔ %s (%s)", name, d)
}

func (w *stopwatch) write(dir string) {
	total := time.Since(w.start).Round(100 * time.Millisecond)
	text := strings.Join(w.lines, "\n") + fmt.Sprintf("\n%-38s %8s\n", "total", total)
	w.t.Logf("durations:\n%s", text)
	_ = os.WriteFile(filepath.Join(dir, "durations.txt"), []byte(text), 0o644)
}

// TestKindEndToEnd deploys the file provider with its Helm chart into a real kind cluster and
// runs the whole conformance suite against it twice: from outside through a port-forward, and
// from inside with `helm test`.
func TestKindEndToEnd(t *testing.T) {
	s := load(t)
	ctx := t.Context()
	w := &stopwatch{t: t, start: time.Now()}
	t.Cleanup(func() { w.write(s.artifacts) })

	var kc *cluster.Cluster
	w.step("create kind cluster", func() (err error) {
		kc, err = cluster.Create(cluster.Config{
			Name: s.clusterName, NodeImage: s.nodeImage, Dir: s.artifacts, Logf: t.Logf,
		})
		return err
	})
	t.Cleanup(func() {
		if s.keep {
			t.Logf("keeping cluster %s: KUBECONFIG=%s; delete it with: kind delete cluster --name %s",
				kc.Name(), kc.Kubeconfig(), kc.Name())
			return
		}
		begin := time.Now()
		if err := kc.Delete(); err != nil {
			t.Error(err)
		}
		t.Logf("deleted cluster %s (%s)", kc.Name(), time.Since(begin).Round(100*time.Millisecond))
	})

	restCfg, err := clientcmd.BuildConfigFromFlags("", kc.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the delete, so it runs before it.
	t.Cleanup(func() {
		if t.Failed() {
			collect(t, kc, restCfg, s.artifacts)
		}
	})

	w.step("load images into the node", func() error {
		return kc.LoadImages(ctx, s.providerImage, s.vctsImage)
	})

	helmLog, err := os.Create(filepath.Join(s.artifacts, "helm-debug.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { helmLog.Close() })
	h, err := deploy.New(kc.Kubeconfig(), namespace, helmLog)
	if err != nil {
		t.Fatal(err)
	}

	w.step("helm install --wait (pod ready)", func() error {
		ch, err := chart.Load(filepath.Join("..", "charts", "provider-file"))
		if err != nil {
			return err
		}
		set, err := imageValues(s.providerImage, s.vctsImage)
		if err != nil {
			return err
		}
		vals, err := chart.Values{
			Files:  []string{filepath.Join("..", "charts", "provider-file", "examples", "values-development.yaml")},
			SetStr: set,
		}.Merge()
		if err != nil {
			return err
		}
		_, err = h.Install(ctx, ch, release, vals, 3*time.Minute)
		return err
	})

	w.step("vcts run from outside (port-forward)", func() error {
		pfLog, err := os.Create(filepath.Join(s.artifacts, "port-forward.log"))
		if err != nil {
			return err
		}
		defer pfLog.Close()
		fwd, err := portforward.ToService(ctx, restCfg, namespace, service, "grpc", pfLog)
		if err != nil {
			return err
		}
		defer func() {
			if err := fwd.Close(); err != nil {
				t.Logf("port-forward ended: %v", err)
			}
		}()
		t.Logf("service %s/%s port grpc → pod %s → %s", namespace, service, fwd.Pod, fwd.Addr())
		return runVCTS(ctx, t, s.vctsBin, filepath.Join(s.artifacts, "outside"),
			"run", "--target", "endpoint", "--endpoint", fwd.Addr(), "--profile", "all")
	})

	w.step("helm test (vcts pod in the cluster)", func() error {
		logFile := filepath.Join(s.artifacts, "helm-test.log")
		var logs bytes.Buffer
		err := h.Test(release, 10*time.Minute, &logs)
		if werr := os.WriteFile(logFile, logs.Bytes(), 0o644); werr != nil {
			t.Error(werr)
		}
		if err != nil {
			t.Logf("helm test pod log (%s):\n%s", logFile, tail(logs.String(), 60))
		}
		return err
	})
}

// runVCTS runs the vcts CLI with its report in reportDir and its output in reportDir/vcts.log.
// Exit 0 means the provider is conformant.
func runVCTS(ctx context.Context, t *testing.T, bin, reportDir string, args ...string) error {
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, append(args, "--report-dir", reportDir)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	logFile := filepath.Join(reportDir, "vcts.log")
	if werr := os.WriteFile(logFile, out.Bytes(), 0o644); werr != nil {
		t.Error(werr)
	}
	if err != nil {
		t.Logf("vcts output (%s):\n%s", logFile, tail(out.String(), 60))
		return fmt.Errorf("vcts %s: %w (report in %s)", strings.Join(args, " "), err, reportDir)
	}
	t.Logf("vcts: %s", lastLine(out.String()))
	return nil
}

// collect saves pod logs, events and the node's logs after a failure.
func collect(t *testing.T, kc *cluster.Cluster, cfg *rest.Config, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	begin := time.Now()
	for _, ns := range []string{namespace, "kube-system"} {
		if err := artifacts.Collect(ctx, cfg, ns, filepath.Join(dir, "cluster")); err != nil {
			t.Logf("collecting %s: %v", ns, err)
		}
	}
	if err := kc.CollectLogs(filepath.Join(dir, "kind-logs")); err != nil {
		t.Logf("collecting node logs: %v", err)
	}
	t.Logf("failure artifacts in %s (%s)", dir, time.Since(begin).Round(100*time.Millisecond))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func lastLine(s string) string { return tail(s, 1) }
