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

	helmchart "helm.sh/helm/v3/pkg/chart"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/vctsio/vcts/e2e/artifacts"
	"github.com/vctsio/vcts/e2e/chart"
	"github.com/vctsio/vcts/e2e/cluster"
	"github.com/vctsio/vcts/e2e/deploy"
	"github.com/vctsio/vcts/e2e/pki"
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
	w.lines = append(w.lines, fmt.Sprintf("%-46s %8s", name, d))
	if err != nil {
		w.t.Fatalf("%s (after %s): %v", name, d, err)
	}
	w.t.Logf("✔ %s (%s)", name, d)
}

func (w *stopwatch) write(dir string) {
	total := time.Since(w.start).Round(100 * time.Millisecond)
	text := strings.Join(w.lines, "\n") + fmt.Sprintf("\n%-46s %8s\n", "total", total)
	w.t.Logf("durations:\n%s", text)
	_ = os.WriteFile(filepath.Join(dir, "durations.txt"), []byte(text), 0o644)
}

// TestKindEndToEnd deploys the file provider with its Helm chart into a real kind cluster and
// runs the whole conformance suite against each installation twice: from outside through a
// port-forward, and from inside with `helm test`. There are two installations: the development
// example in plaintext, and the same with mutual TLS.
func TestKindEndToEnd(t *testing.T) {
	s := load(t)
	ctx := t.Context()
	w := &stopwatch{t: t, start: time.Now()}
	t.Cleanup(func() { w.write(s.artifacts) })

	// client-go reports through klog on stderr, e.g. a broken pipe each time the suite drops a
	// connection on purpose; keep that out of the test output.
	klogFile, err := os.Create(filepath.Join(s.artifacts, "client-go.log"))
	if err != nil {
		t.Fatal(err)
	}
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for name, value := range map[string]string{"logtostderr": "false", "stderrthreshold": "FATAL", "one_output": "true"} {
		if err := klogFlags.Set(name, value); err != nil {
			t.Fatal(err)
		}
	}
	klog.SetOutput(klogFile)
	t.Cleanup(func() { klog.Flush(); _ = klogFile.Close() })

	// The kubeconfig holds the cluster's admin key: it stays out of the uploaded artifacts
	// unless the cluster is kept and someone needs it.
	kubeDir := t.TempDir()
	if s.keep {
		kubeDir = s.artifacts
	}
	var kc *cluster.Cluster
	w.step("create kind cluster", func() (err error) {
		kc, err = cluster.Create(cluster.Config{
			Name: s.clusterName, NodeImage: s.nodeImage, Dir: kubeDir, Logf: t.Logf,
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
	t.Cleanup(func() { _ = helmLog.Close() })

	ch, err := chart.Load(filepath.Join("..", "charts", "provider-file"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := imageValues(s.providerImage, s.vctsImage)
	if err != nil {
		t.Fatal(err)
	}
	r := &e2eRun{t: t, w: w, s: s, kubeconfig: kc.Kubeconfig(), rest: restCfg, helmLog: helmLog, chart: ch, images: images}
	for _, v := range variants(t) {
		r.verify(v)
	}
}

// e2eRun is what every variant shares: the cluster, the chart and the images under test.
type e2eRun struct {
	t          *testing.T
	w          *stopwatch
	s          settings
	kubeconfig string
	rest       *rest.Config
	helmLog    *os.File
	chart      *helmchart.Chart
	images     []string // --set-string values pointing the chart at them
}

// variant is one installation of the chart that must pass the suite.
type variant struct {
	label, namespace string
	set              []string
	// mTLS: the provider's Secret and the suite's client certificate.
	tls *tlsFiles
}

type tlsFiles struct {
	dir        string // ca.crt, tls.crt, tls.key of the client
	serverName string
}

// variants: the development example as it is (plaintext), and the same with mutual TLS, which
// also proves that the non-root provider can read its key through the pod's fsGroup and that
// the HTTP probes replace the gRPC ones.
func variants(t *testing.T) []variant {
	plain := variant{label: "plaintext", namespace: namespace}
	mtlsNS := namespace + "-mtls"
	mtls := variant{label: "mtls", namespace: mtlsNS, set: []string{
		"tls.enabled=true", "tls.secretName=provider-tls", "tests.tlsSecretName=vcts-client-tls",
	}, tls: &tlsFiles{dir: t.TempDir(), serverName: service + "." + mtlsNS + ".svc"}}
	return []variant{plain, mtls}
}

// verify installs the variant, runs the suite from outside and then with `helm test`.
func (r *e2eRun) verify(v variant) {
	t, w := r.t, r.w
	ctx := t.Context()
	dir := filepath.Join(r.s.artifacts, v.label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := deploy.New(r.kubeconfig, v.namespace, r.helmLog)
	if err != nil {
		t.Fatal(err)
	}

	if v.tls != nil {
		w.step("["+v.label+"] certificates and Secrets", func() error {
			return makeTLS(ctx, r.rest, v)
		})
	}

	w.step("["+v.label+"] helm install --wait", func() error {
		vals, err := chart.Values{
			Files:  []string{filepath.Join("..", "charts", "provider-file", "examples", "values-development.yaml")},
			Set:    v.set,
			SetStr: r.images,
		}.Merge()
		if err != nil {
			return err
		}
		_, err = h.Install(ctx, r.chart, release, vals, 3*time.Minute)
		return err
	})

	w.step("["+v.label+"] vcts run from outside", func() error {
		pfLog, err := os.Create(filepath.Join(dir, "port-forward.log"))
		if err != nil {
			return err
		}
		defer func() { _ = pfLog.Close() }()
		fwd, err := portforward.ToService(ctx, r.rest, v.namespace, service, "grpc", pfLog)
		if err != nil {
			return err
		}
		defer func() {
			if err := fwd.Close(); err != nil {
				t.Logf("port-forward ended: %v", err)
			}
		}()
		t.Logf("service %s/%s port grpc → pod %s → %s", v.namespace, service, fwd.Pod, fwd.Addr())
		args := []string{"run", "--target", "endpoint", "--endpoint", fwd.Addr(), "--profile", "all"}
		if v.tls != nil {
			args = append(args, "--tls-ca", filepath.Join(v.tls.dir, "ca.crt"),
				"--tls-cert", filepath.Join(v.tls.dir, "tls.crt"), "--tls-key", filepath.Join(v.tls.dir, "tls.key"),
				"--tls-server-name", v.tls.serverName)
		}
		return runVCTS(ctx, t, r.s.vctsBin, filepath.Join(dir, "outside"), args...)
	})

	w.step("["+v.label+"] helm test (vcts in the cluster)", func() error {
		logFile := filepath.Join(dir, "helm-test.log")
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

// makeTLS issues the run's certificates, stores the provider's and the in-cluster client's
// in Secrets and the outside client's in v.tls.dir.
func makeTLS(ctx context.Context, cfg *rest.Config, v variant) error {
	ca, err := pki.NewCA("vcts e2e CA")
	if err != nil {
		return err
	}
	server, err := ca.Server(v.tls.serverName, service+"."+v.namespace, service)
	if err != nil {
		return err
	}
	client, err := ca.Client("vcts")
	if err != nil {
		return err
	}
	if err := deploy.TLSSecret(ctx, cfg, v.namespace, "provider-tls", server.Cert, server.Key, ca.PEM); err != nil {
		return err
	}
	if err := deploy.TLSSecret(ctx, cfg, v.namespace, "vcts-client-tls", client.Cert, client.Key, ca.PEM); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"ca.crt": ca.PEM, "tls.crt": client.Cert, "tls.key": client.Key} {
		if err := os.WriteFile(filepath.Join(v.tls.dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
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
	for _, ns := range []string{namespace, namespace + "-mtls", "kube-system"} {
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
