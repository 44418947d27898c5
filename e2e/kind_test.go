package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/vctsio/vcts/e2e/artifacts"
	"github.com/vctsio/vcts/e2e/chart"
	"github.com/vctsio/vcts/e2e/cluster"
	"github.com/vctsio/vcts/e2e/deploy"
	"github.com/vctsio/vcts/e2e/kindtarget"
	"github.com/vctsio/vcts/e2e/pki"
	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/console"
	"github.com/vctsio/vcts/harness/report"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/runner"
)

var keep = flag.Bool("keep", false, "keep the kind cluster after the run (also E2E_KEEP=1)")

const (
	release   = "provider-file"
	namespace = "vcts-e2e"
	// The Service is named after the release, which already contains the chart name.
	service = release
)

var chartDir = filepath.Join("..", "charts", "provider-file")

// settings of one run, from the environment (make e2e-kind sets them).
type settings struct {
	nodeImage, providerImage, vctsImage, artifacts, clusterName string
	keep                                                        bool
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
		artifacts:     envOr("E2E_ARTIFACTS", filepath.Join("..", "reports", "e2e")),
		clusterName:   envOr("E2E_CLUSTER", "vcts-e2e"),
		keep:          *keep || os.Getenv("E2E_KEEP") == "1",
	}
	var err error
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

// phases adds the kind target's own steps under the step that ran them.
func (w *stopwatch) phases(ps []kindtarget.Phase) {
	for _, p := range ps {
		w.lines = append(w.lines, fmt.Sprintf("  %-44s %8s", p.Name, p.Took.Round(100*time.Millisecond)))
	}
}

func (w *stopwatch) write(dir string) {
	total := time.Since(w.start).Round(100 * time.Millisecond)
	text := strings.Join(w.lines, "\n") + fmt.Sprintf("\n%-46s %8s\n", "total", total)
	w.t.Logf("durations:\n%s", text)
	_ = os.WriteFile(filepath.Join(dir, "durations.txt"), []byte(text), 0o644)
}

// TestKindEndToEnd deploys the file provider with its Helm chart into a real kind cluster and
// runs the whole conformance suite against each installation twice: from inside with `helm
// test`, and from outside with runner.Run through the kind target (kindtarget), which reaches
// the provider through a port-forward. There are two installations: the development example in
// plaintext, and the same with mutual TLS. The first creates the cluster and keeps it for the
// second, which reuses it and deletes it when it stops (unless E2E_KEEP).
func TestKindEndToEnd(t *testing.T) {
	s := load(t)
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
	helmLog, err := os.Create(filepath.Join(s.artifacts, "helm-debug.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = helmLog.Close() })
	testImage, err := kindtarget.ImageValues("tests.image", s.vctsImage)
	if err != nil {
		t.Fatal(err)
	}

	r := &e2eRun{t: t, w: w, s: s, kubeDir: kubeDir, helmLog: helmLog, testImage: testImage}
	// The last variant's target deletes the cluster; when an earlier one fails, this does.
	t.Cleanup(func() {
		if r.cluster == nil || s.keep {
			return
		}
		if err := r.cluster.Delete(); err != nil {
			t.Error(err)
		}
	})
	vs := variants(t)
	for i, v := range vs {
		r.verify(v, i == 0, i == len(vs)-1)
	}
}

// e2eRun is what every variant shares: the cluster, the images under test, the logs.
type e2eRun struct {
	t         *testing.T
	w         *stopwatch
	s         settings
	kubeDir   string
	helmLog   *os.File
	testImage []string // --set-string values pointing the helm test at the vcts image
	cluster   *cluster.Cluster
	collected bool
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

// clientTLS is the suite's side of the variant's transport.
func (v variant) clientTLS() config.TLS {
	if v.tls == nil {
		return config.TLS{}
	}
	return config.TLS{Enabled: true, CA: filepath.Join(v.tls.dir, "ca.crt"), Cert: filepath.Join(v.tls.dir, "tls.crt"),
		Key: filepath.Join(v.tls.dir, "tls.key"), ServerName: v.tls.serverName}
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

// verify deploys the variant with the kind target, runs `helm test` against the release and
// then the suite from outside with runner.Run, which stops the target: the release is
// uninstalled and, after the last variant, the cluster deleted.
func (r *e2eRun) verify(v variant, first, last bool) {
	t, w, s := r.t, r.w, r.s
	ctx := t.Context()
	dir := filepath.Join(s.artifacts, v.label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pfLog, err := os.Create(filepath.Join(dir, "port-forward.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pfLog.Close() })

	opts := kindtarget.Options{
		Cluster: s.clusterName, NodeImage: s.nodeImage, Reuse: !first, Keep: !last || s.keep, Dir: r.kubeDir,
		Image: s.providerImage, ExtraImages: []string{s.vctsImage},
		ChartDir: chartDir, Release: release, Namespace: v.namespace,
		Values: chart.Values{
			Files:  []string{filepath.Join(chartDir, "examples", "values-development.yaml")},
			Set:    v.set,
			SetStr: r.testImage,
		},
		InstallTimeout: 3 * time.Minute,
		Service:        service,
		TLS:            v.clientTLS(),
		Logf:           t.Logf,
		HelmLog:        r.helmLog,
		ForwardLog:     pfLog,
	}
	if v.tls != nil {
		opts.Prepare = func(ctx context.Context, cfg *rest.Config, _ string) error { return makeTLS(ctx, cfg, v) }
	}
	kt := kindtarget.New(opts)
	// Cleanups run last-registered first: the artifacts are collected before Stop removes the
	// release (and the cluster). A failure inside runner.Run has stopped the target already;
	// its report keeps the provider's logs.
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := kt.Stop(sctx); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			r.collect(kt)
		}
	})

	w.step("["+v.label+"] kind target start", func() error { return kt.Start(ctx) })
	started := kt.Phases()
	w.phases(started)
	if first {
		r.cluster = kt.Cluster()
	}

	w.step("["+v.label+"] helm test (vcts in the cluster)", func() error {
		logFile := filepath.Join(dir, "helm-test.log")
		var logs bytes.Buffer
		err := kt.Helm().Test(release, 10*time.Minute, &logs)
		if werr := os.WriteFile(logFile, logs.Bytes(), 0o644); werr != nil {
			t.Error(werr)
		}
		if err != nil {
			t.Logf("helm test pod log (%s):\n%s", logFile, tail(logs.String(), 60))
		}
		return err
	})

	w.step("["+v.label+"] runner.Run from outside (then stop)", func() error {
		return runOutside(ctx, t, kt, v, s.providerImage, filepath.Join(dir, "outside"))
	})
	w.phases(kt.Phases()[len(started):])
}

// runOutside runs the whole suite through the started kind target, with the reports in
// reportDir and the progress and summary in reportDir/vcts.log, and requires a pass.
func runOutside(ctx context.Context, t *testing.T, kt *kindtarget.Target, v variant, image, reportDir string) error {
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return err
	}
	logFile := filepath.Join(reportDir, "vcts.log")
	out, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer func() { _ = out.Close() }()

	cfg := config.Default()
	cfg.Provider.Name = "file"
	// What the suite dials, so the configuration recorded in results.json says so.
	cfg.Provider.Endpoint = kt.Endpoint()
	cfg.Provider.TLS = v.clientTLS()
	if err := cfg.Finalize(""); err != nil {
		return err
	}
	res, err := runner.Run(ctx, runner.Options{
		Config: cfg, Target: kt, ReportDir: reportDir, Progress: out,
		Log: slog.New(slog.NewTextHandler(out, nil)),
	})
	if res == nil {
		return fmt.Errorf("runner: %w", err)
	}
	rep := res.Report
	console.Summary(out, rep)
	if err != nil || rep.Verdict != results.VerdictPass {
		var failed []string
		for _, q := range rep.Requirements {
			if q.Status == results.Failed || q.Status == results.StaleKnownFailing {
				failed = append(failed, q.ID)
			}
		}
		return fmt.Errorf("verdict %s (error %v; problems %q; failed %v); report in %s, log in %s",
			rep.Verdict, err, rep.Problems, failed, reportDir, logFile)
	}
	// The report describes what the kind target deployed.
	var wrong []string
	if rep.Target.Kind != kindtarget.Kind {
		wrong = append(wrong, "target.kind "+rep.Target.Kind)
	}
	if rep.Provider.Image != image {
		wrong = append(wrong, "provider.image "+rep.Provider.Image)
	}
	if rep.Provider.TLS != (v.tls != nil) {
		wrong = append(wrong, fmt.Sprintf("provider.tls %v", rep.Provider.TLS))
	}
	// The tail of the pod's log, which the suite's own calls fill (the start line may be
	// cut off at debug level).
	if !strings.Contains(rep.ProviderLogs, "/provider.v1.Provider/") {
		wrong = append(wrong, "providerLogs without the provider's request log")
	}
	if len(wrong) > 0 {
		return fmt.Errorf("results.json does not describe the kind deployment: %s", strings.Join(wrong, "; "))
	}
	t.Logf("vcts: %s (%s)", report.Headline(rep), rep.Target.Detail)
	return nil
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

// collect saves pod logs, events and the node's logs after a failure, once.
func (r *e2eRun) collect(kt *kindtarget.Target) {
	t := r.t
	kc, cfg := kt.Cluster(), kt.REST()
	if r.collected || kc == nil || cfg == nil {
		return
	}
	r.collected = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	begin := time.Now()
	dir := r.s.artifacts
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
