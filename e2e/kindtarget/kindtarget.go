// Package kindtarget is the kind back end of harness/target: a provider deployed with its
// Helm chart into a kind cluster and reached through a client-go port-forward on 127.0.0.1.
// It lives in the e2e module so that the conformance kit itself never depends on
// Kubernetes, Helm or kind; runner.Run takes it through runner.Options.Target.
package kindtarget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vctsio/vcts/e2e/chart"
	"github.com/vctsio/vcts/e2e/cluster"
	"github.com/vctsio/vcts/e2e/deploy"
	"github.com/vctsio/vcts/e2e/portforward"
	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/target"
)

// Kind is the target kind recorded in results.json.
const Kind = "kind"

// labelVersion is the OCI image label the provider's version is read from, as the container
// target does.
const labelVersion = "org.opencontainers.image.version"

// maxLogs bounds the provider logs kept, like the other targets' (results.json keeps a tail).
const maxLogs = 256 << 10

// Options describe one deployment.
type Options struct {
	// Cluster is the kind cluster's name (default "vcts").
	Cluster string
	// NodeImage is the kind node image; empty means the pinned kind's standard image.
	NodeImage string
	// Reuse takes the cluster of that name when it exists (creating it otherwise). Without
	// it, a cluster of that name is deleted first and a fresh one created.
	Reuse bool
	// Keep leaves the cluster running after Stop (the release is uninstalled regardless).
	Keep bool
	// Dir receives the kubeconfig; empty means a temporary directory, removed by Stop unless
	// the cluster is kept.
	Dir string

	// Image is the provider image under test, with an explicit tag: it is loaded into the
	// node and set as the chart's image.repository and image.tag.
	Image string
	// ExtraImages are loaded too (e.g. the vcts image that `helm test` runs).
	ExtraImages []string

	// ChartDir is the provider's chart.
	ChartDir string
	// Release and Namespace of the installation (defaults "provider", "vcts").
	Release, Namespace string
	// Values for the chart, as helm's -f, --set and --set-string; Image is laid over them.
	Values chart.Values
	// SystemTimeout bounds waiting for kube-system (CoreDNS, kube-proxy, the CNI) to be
	// ready (default 3m).
	SystemTimeout time.Duration
	// InstallTimeout bounds `helm install --wait` (default 3m).
	InstallTimeout time.Duration
	// Prepare runs after the cluster is up and before the chart is installed, e.g. to create
	// the Secrets the values refer to.
	Prepare func(ctx context.Context, cfg *rest.Config, namespace string) error

	// Service is the Service to forward; empty means the release's one Service with a port
	// named Port (label app.kubernetes.io/instance=<release>).
	Service string
	// Port is the Service port's name (default "grpc").
	Port string
	// TLS is the client side of the transport: plaintext when off, else verified against
	// CA, with a client certificate (mTLS) when Cert and Key are set. ServerName must be a
	// name in the provider's certificate, since the address is 127.0.0.1.
	TLS config.TLS
	// ServingTimeout bounds waiting for grpc.health.v1 SERVING through the forward
	// (default 30s).
	ServingTimeout time.Duration

	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
	// HelmLog receives helm's debug lines and ForwardLog the port-forward's; nil discards.
	HelmLog, ForwardLog io.Writer
}

// Phase is one step of Start or Stop and how long it took.
type Phase struct {
	Name string
	Took time.Duration
}

// Target implements target.Target for a chart in kind. Start does the whole deployment and
// does not undo it when a step fails: Stop does (as target.Target asks), so a caller can
// look at a failed deployment first. Start on a started target returns at once, so a caller
// may start it, act on the release (`helm test`), and then hand it to runner.Run.
type Target struct {
	o Options

	mu        sync.Mutex
	started   bool
	startErr  error
	stopped   bool
	tmpDir    string
	cluster   *cluster.Cluster
	reused    bool
	rest      *rest.Config
	helm      *deploy.Helm
	installed bool
	service   string
	fwd       *portforward.Forward
	ep        *target.Endpoint
	version   string
	logs      string
	phases    []Phase
}

var _ target.Target = (*Target)(nil)

// New returns a target for o; nothing happens before Start.
func New(o Options) *Target {
	if o.Cluster == "" {
		o.Cluster = "vcts"
	}
	if o.Release == "" {
		o.Release = "provider"
	}
	if o.Namespace == "" {
		o.Namespace = "vcts"
	}
	if o.Port == "" {
		o.Port = "grpc"
	}
	if o.SystemTimeout <= 0 {
		o.SystemTimeout = 3 * time.Minute
	}
	if o.InstallTimeout <= 0 {
		o.InstallTimeout = 3 * time.Minute
	}
	if o.ServingTimeout <= 0 {
		o.ServingTimeout = 30 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.HelmLog == nil {
		o.HelmLog = io.Discard
	}
	if o.ForwardLog == nil {
		o.ForwardLog = io.Discard
	}
	return &Target{o: o}
}

// Start creates (or reuses) the cluster, waits for kube-system, loads the images, installs
// the chart, waits until its Deployment is available, forwards the provider's Service port to 127.0.0.1 and waits
// for SERVING through it.
func (t *Target) Start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.stopped:
		return errors.New("kind target: already stopped")
	case t.started:
		return t.startErr
	}
	t.started = true
	t.startErr = t.start(ctx)
	return t.startErr
}

func (t *Target) start(ctx context.Context) error {
	o := t.o
	imageSet, err := ImageValues("image", o.Image)
	if err != nil {
		return err
	}
	if o.ChartDir == "" {
		return errors.New("kind target: no chart directory")
	}
	ch, err := chart.Load(o.ChartDir)
	if err != nil {
		return err
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "vcts-kind-"); err != nil {
			return err
		}
		t.tmpDir = dir
	}

	err = t.phase("kind cluster", func() error {
		cfg := cluster.Config{Name: o.Cluster, NodeImage: o.NodeImage, Dir: dir, Logf: o.Logf}
		if o.Reuse {
			t.cluster, t.reused, err = cluster.Use(cfg)
		} else {
			t.cluster, err = cluster.Create(cfg)
		}
		return err
	})
	if err != nil {
		return err
	}
	if t.rest, err = clientcmd.BuildConfigFromFlags("", t.cluster.Kubeconfig()); err != nil {
		return err
	}
	if err := t.phase("kube-system ready", func() error { return waitSystemReady(ctx, t.rest, o.SystemTimeout) }); err != nil {
		return err
	}
	err = t.phase("load images", func() error {
		t.version = imageVersion(ctx, o.Image)
		return t.cluster.LoadImages(ctx, append([]string{o.Image}, o.ExtraImages...)...)
	})
	if err != nil {
		return err
	}
	if o.Prepare != nil {
		if err := t.phase("prepare", func() error { return o.Prepare(ctx, t.rest, o.Namespace) }); err != nil {
			return err
		}
	}
	if t.helm, err = deploy.New(t.cluster.Kubeconfig(), o.Namespace, o.HelmLog); err != nil {
		return err
	}
	if t.reused {
		// A release that a killed run left in a kept cluster would block the install.
		if err := t.helm.Uninstall(o.Release, time.Minute); err != nil {
			return err
		}
	}
	err = t.phase("helm install --wait", func() error {
		v := o.Values
		v.SetStr = append(append([]string(nil), v.SetStr...), imageSet...)
		vals, err := v.Merge()
		if err != nil {
			return err
		}
		t.installed = true // from here on Stop uninstalls, also after a failed or timed-out install
		_, err = t.helm.Install(ctx, ch, o.Release, vals, o.InstallTimeout)
		return err
	})
	if err != nil {
		return err
	}
	err = t.phase("port-forward", func() error {
		if t.service = o.Service; t.service == "" {
			if t.service, err = releaseService(ctx, t.rest, o.Namespace, o.Release, o.Port); err != nil {
				return err
			}
		}
		t.fwd, err = portforward.ToService(ctx, t.rest, o.Namespace, t.service, o.Port, o.ForwardLog)
		return err
	})
	if err != nil {
		return err
	}
	return t.phase("SERVING through the forward", func() error {
		t.ep = target.NewEndpoint(t.fwd.Addr(), o.TLS)
		t.ep.StartTimeout = o.ServingTimeout
		return t.ep.Start(ctx)
	})
}

// phase runs f and records how long it took.
func (t *Target) phase(name string, f func() error) error {
	began := time.Now()
	err := f()
	took := time.Since(began)
	t.phases = append(t.phases, Phase{Name: name, Took: took})
	if err != nil {
		return fmt.Errorf("kind target: %s: %w", name, err)
	}
	t.o.Logf("kind target: %s (%s)", name, took.Round(100*time.Millisecond))
	return nil
}

// Endpoint is the forwarded address, 127.0.0.1:PORT.
func (t *Target) Endpoint() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fwd == nil {
		return ""
	}
	return t.fwd.Addr()
}

// DialOptions are plaintext, or TLS/mTLS with the client credentials of Options.TLS.
func (t *Target) DialOptions() []grpc.DialOption {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ep == nil {
		return nil
	}
	return t.ep.DialOptions()
}

// Info names the cluster, the release, the pod behind the forward and the image.
func (t *Target) Info() target.Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.o
	how := "created"
	if t.reused {
		how = "reused"
	}
	d := fmt.Sprintf("kind cluster %s (%s), release %s in namespace %s", o.Cluster, how, o.Release, o.Namespace)
	if t.fwd != nil {
		d += fmt.Sprintf(", service %s port %s → pod %s, forwarded on %s", t.service, o.Port, t.fwd.Pod, t.fwd.Addr())
	}
	if o.TLS.Enabled {
		d += " (TLS"
		if o.TLS.Cert != "" {
			d += ", client certificate"
		}
		d += ")"
	}
	return target.Info{Kind: Kind, Mode: "helm, port-forward", Detail: d, TLS: o.TLS.Enabled, Image: o.Image, Version: t.version}
}

// Logs are the provider pod's logs: live while it runs, as they were before the uninstall
// after Stop.
func (t *Target) Logs() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || t.fwd == nil {
		return t.logs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return t.fetchLogs(ctx)
}

// fetchLogs reads every container log of the pod behind the forward.
func (t *Target) fetchLogs(ctx context.Context) string {
	cs, err := kubernetes.NewForConfig(t.rest)
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	pod, err := cs.CoreV1().Pods(t.o.Namespace).Get(ctx, t.fwd.Pod, metav1.GetOptions{})
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	var b strings.Builder
	for _, c := range pod.Spec.Containers {
		if len(pod.Spec.Containers) > 1 {
			fmt.Fprintf(&b, "==> container %s <==\n", c.Name)
		}
		raw, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: c.Name}).DoRaw(ctx)
		if err != nil {
			fmt.Fprintf(&b, "(logs of %s unavailable: %v)\n", c.Name, err)
			continue
		}
		b.Write(raw)
	}
	return tailBytes(b.String(), maxLogs)
}

// Stop closes the forward, keeps the provider's logs, uninstalls the release and deletes
// the cluster unless it is kept. It carries on past a failed step and reports all of them.
func (t *Target) Stop(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return nil
	}
	t.stopped = true
	var errs []error
	if t.fwd != nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		t.logs = t.fetchLogs(lctx)
		cancel()
		if err := t.fwd.Close(); err != nil {
			errs = append(errs, fmt.Errorf("port-forward ended: %w", err))
		}
	}
	if t.installed {
		errs = append(errs, t.phase("helm uninstall", func() error { return t.helm.Uninstall(t.o.Release, 2*time.Minute) }))
	}
	if t.cluster != nil {
		if t.o.Keep {
			t.o.Logf("kind target: keeping cluster %s: KUBECONFIG=%s; delete it with: kind delete cluster --name %s",
				t.cluster.Name(), t.cluster.Kubeconfig(), t.cluster.Name())
		} else {
			errs = append(errs, t.phase("delete cluster", t.cluster.Delete))
		}
	}
	if t.tmpDir != "" && (t.cluster == nil || !t.o.Keep) {
		errs = append(errs, os.RemoveAll(t.tmpDir))
	}
	return errors.Join(errs...)
}

// Phases are the steps of Start and Stop so far, with their durations.
func (t *Target) Phases() []Phase {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Phase(nil), t.phases...)
}

// Cluster is the kind cluster (nil before Start got it), for callers that collect logs.
func (t *Target) Cluster() *cluster.Cluster {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cluster
}

// REST is the cluster's client configuration (nil before Start got the cluster).
func (t *Target) REST() *rest.Config {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rest
}

// Helm acts on the release's namespace, e.g. for `helm test` (nil before Start got there).
func (t *Target) Helm() *deploy.Helm {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.helm
}

// Release is the release name.
func (t *Target) Release() string { return t.o.Release }

// ImageValues are the --set-string values pointing a chart's PREFIX.repository and
// PREFIX.tag at ref, which needs an explicit tag: the node never pulls, so "latest" by
// omission would only hide a mistake.
func ImageValues(prefix, ref string) ([]string, error) {
	i := strings.LastIndex(ref, ":")
	if i <= 0 || strings.Contains(ref[i:], "/") || i == len(ref)-1 {
		return nil, fmt.Errorf("image %q needs an explicit tag (the node never pulls)", ref)
	}
	return []string{prefix + ".repository=" + ref[:i], prefix + ".tag=" + ref[i+1:]}, nil
}

// releaseService finds the release's one Service with a port named port.
func releaseService(ctx context.Context, cfg *rest.Config, namespace, release, port string) (string, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	list, err := cs.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release})
	if err != nil {
		return "", err
	}
	return pickService(list.Items, port, release)
}

func pickService(svcs []corev1.Service, port, release string) (string, error) {
	var found []string
	for _, s := range svcs {
		for _, p := range s.Spec.Ports {
			if p.Name == port {
				found = append(found, s.Name)
				break
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("release %s has no Service with a port named %q (set Options.Service)", release, port)
	}
	return "", fmt.Errorf("release %s has several Services with a port named %q: %s (set Options.Service)", release, port, strings.Join(found, ", "))
}

// imageVersion reads the image's OCI version label; unknown is empty, never an error.
func imageVersion(ctx context.Context, image string) string {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format",
		`{{index .Config.Labels "`+labelVersion+`"}}`, image).Output()
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(string(out))
	if v == "<no value>" {
		return ""
	}
	return v
}

// tailBytes keeps the last max bytes of s, from a line start when there is one.
func tailBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[len(s)-max:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return s
}
