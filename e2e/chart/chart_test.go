package chart_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vctsio/vcts/e2e/chart"
)

const (
	release   = "vcts"
	namespace = "conformance"
	// With release "vcts" the fullname is "<release>-<chart>".
	fullname = "vcts-provider-file"
)

var (
	chartDir    = filepath.Join("..", "..", "charts", "provider-file")
	exampleFile = filepath.Join(chartDir, "examples", "values-development.yaml")
)

// everything switches on every optional part of the chart.
var everything = chart.Values{Set: []string{
	"tls.enabled=true", "tls.secretName=provider-tls",
	"networkPolicy.enabled=true",
	"serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus",
	"persistence.enabled=true", "persistence.storageClass=fast",
}}

// valueSets are the renders every structural test runs against.
var valueSets = map[string]chart.Values{
	"defaults":      {},
	"example":       {Files: []string{exampleFile}},
	"everything":    everything,
	"existingClaim": {Set: []string{"persistence.enabled=true", "persistence.existingClaim=vms"}},
	"noTests":       {Set: []string{"tests.enabled=false", "networkPolicy.enabled=true"}},
}

func render(t *testing.T, v chart.Values) (*chart.Rendered, []chart.Object) {
	t.Helper()
	ch, err := chart.Load(chartDir)
	require.NoError(t, err)
	r, err := chart.Render(ch, release, namespace, v)
	require.NoError(t, err)
	objs, err := chart.DecodeAll(r)
	require.NoError(t, err, "every rendered manifest must decode strictly")
	return r, objs
}

// one returns the single object of kind (hook or not as asked), failing when there are
// zero or several.
func one[T any](t *testing.T, objs []chart.Object, kind string, hook bool) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if o.Kind == kind && o.Hook == hook {
			typed, ok := o.Typed.(T)
			require.True(t, ok, "%s decoded as %T", kind, o.Typed)
			found = append(found, typed)
		}
	}
	require.Len(t, found, 1, "want exactly one %s (hook=%v)", kind, hook)
	return found[0]
}

func kinds(objs []chart.Object) []string {
	var ks []string
	for _, o := range objs {
		k := o.Kind
		if o.Hook {
			k += "(hook)"
		}
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestLintPasses(t *testing.T) {
	for name, v := range map[string]chart.Values{
		"defaults": {}, "example": {Files: []string{exampleFile}}, "everything": everything,
	} {
		t.Run(name, func(t *testing.T) {
			for _, p := range lintStrict(t, chartDir, v) {
				t.Errorf("lint: %s", p)
			}
		})
	}
}

// lintStrict lints the chart in dir with values v as `helm lint --strict` does, with the
// values schema: it returns the messages that count (warnings and errors) and logs the
// informational notes.
func lintStrict(t *testing.T, dir string, v chart.Values) []string {
	t.Helper()
	vals, err := v.Merge()
	require.NoError(t, err)
	kv, err := chartutil.ParseKubeVersion(chart.KubeVersion)
	require.NoError(t, err)
	var problems []string
	for _, m := range lint.AllWithKubeVersionAndSchemaValidation(dir, vals, namespace, kv, false).Messages {
		if m.Severity >= support.WarningSev {
			problems = append(problems, m.Error())
		} else {
			t.Logf("lint note: %s", m.Error())
		}
	}
	return problems
}

func TestRenderedKinds(t *testing.T) {
	want := map[string][]string{
		"defaults": {"Deployment", "Pod(hook)", "Service", "ServiceAccount"},
		"example":  {"Deployment", "Pod(hook)", "Service", "ServiceAccount"},
		"everything": {"Deployment", "NetworkPolicy", "PersistentVolumeClaim", "Pod(hook)", "Service",
			"ServiceAccount", "ServiceMonitor"},
		"existingClaim": {"Deployment", "Pod(hook)", "Service", "ServiceAccount"},
		"noTests":       {"Deployment", "NetworkPolicy", "Service", "ServiceAccount"},
	}
	for name, v := range valueSets {
		t.Run(name, func(t *testing.T) {
			_, objs := render(t, v)
			assert.Equal(t, want[name], kinds(objs))
			for _, o := range objs {
				if meta, ok := o.Typed.(metav1.Object); ok {
					assert.Equal(t, namespace, meta.GetNamespace(), "%s %s namespace", o.Kind, o.Name)
				}
			}
		})
	}
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	for name, doc := range map[string]string{
		"typo in a container field": `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: c
      image: i
      securityContext: {readOnlyRootFilesytem: true}
`,
		"duplicate field": `apiVersion: v1
kind: Service
metadata: {name: s}
spec: {type: ClusterIP, type: NodePort}
`,
		"unknown ServiceMonitor field": `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: m}
spec:
  selector: {}
  endpoints: [{port: http, intervall: 30s}]
`,
		"unknown kind": `apiVersion: example.com/v1
kind: Gadget
metadata: {name: g}
`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := chart.Decode(chart.Manifest{Source: "test.yaml", YAML: doc})
			assert.Error(t, err)
		})
	}
}

// The pod and container security settings of the provider and of the test pod are exactly the
// values, both for the defaults and for overridden values.
func TestPodSecurityMatchesValues(t *testing.T) {
	cases := map[string]struct {
		v       chart.Values
		podSec  string
		contSec string
	}{
		"defaults": {
			podSec: `{"runAsNonRoot":true,"runAsUser":65532,"runAsGroup":65532,"fsGroup":65532,
				"seccompProfile":{"type":"RuntimeDefault"}}`,
			contSec: `{"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"runAsNonRoot":true,
				"capabilities":{"drop":["ALL"]}}`,
		},
		"overridden": {
			v: chart.Values{Set: []string{"podSecurityContext.runAsUser=1001", "podSecurityContext.fsGroup=2002",
				"securityContext.runAsUser=1001"}},
			podSec: `{"runAsNonRoot":true,"runAsUser":1001,"runAsGroup":65532,"fsGroup":2002,
				"seccompProfile":{"type":"RuntimeDefault"}}`,
			contSec: `{"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"runAsNonRoot":true,
				"runAsUser":1001,"capabilities":{"drop":["ALL"]}}`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var wantPod corev1.PodSecurityContext
			var wantCont corev1.SecurityContext
			require.NoError(t, json.Unmarshal([]byte(tc.podSec), &wantPod))
			require.NoError(t, json.Unmarshal([]byte(tc.contSec), &wantCont))

			_, objs := render(t, tc.v)
			dep := one[*appsv1.Deployment](t, objs, "Deployment", false)
			testPod := one[*corev1.Pod](t, objs, "Pod", true)
			for name, spec := range map[string]corev1.PodSpec{"provider": dep.Spec.Template.Spec, "test": testPod.Spec} {
				assert.Equal(t, &wantPod, spec.SecurityContext, "%s pod security context", name)
				require.Len(t, spec.Containers, 1)
				assert.Equal(t, &wantCont, spec.Containers[0].SecurityContext, "%s container security context", name)
				require.NotNil(t, spec.AutomountServiceAccountToken)
				assert.False(t, *spec.AutomountServiceAccountToken, "%s pod mounts no API token", name)
			}
		})
	}
}

func env(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

func mounts(c corev1.Container) map[string]corev1.VolumeMount {
	m := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		m[vm.Name] = vm
	}
	return m
}

func volumes(spec corev1.PodSpec) map[string]corev1.Volume {
	m := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		m[v.Name] = v
	}
	return m
}

// Every mount has a volume and every writable path the binaries use is a volume, since the
// root file system is read-only.
func assertMountsResolve(t *testing.T, what string, spec corev1.PodSpec) {
	t.Helper()
	vols := volumes(spec)
	for _, c := range spec.Containers {
		for _, vm := range c.VolumeMounts {
			_, ok := vols[vm.Name]
			assert.True(t, ok, "%s: mount %s has no volume", what, vm.Name)
		}
	}
}

func TestProviderPlaintextByDefault(t *testing.T) {
	_, objs := render(t, chart.Values{})
	dep := one[*appsv1.Deployment](t, objs, "Deployment", false)
	spec := dep.Spec.Template.Spec
	c := spec.Containers[0]

	assert.Equal(t, int32(1), *dep.Spec.Replicas)
	assert.Equal(t, appsv1.RecreateDeploymentStrategyType, dep.Spec.Strategy.Type,
		"one writer owns the storage directory")
	assert.Equal(t, "ghcr.io/vctsio/provider-file:0.1.0", c.Image, "tag defaults to appVersion")
	assert.Equal(t, []string{"--grpc-addr=:9443", "--http-addr=:8080"}, c.Args)
	assert.Equal(t, map[string]string{
		"PROVIDER_STORAGE_DIR":         "/var/lib/virtrigaud/vms",
		"PROVIDER_LOG_LEVEL":           "info",
		"PROVIDER_TRANSITION_DELAY":    "0s",
		"VIRTRIGAUD_PROVIDER_INSECURE": "true",
	}, env(c))

	// Readiness follows the storage through the native gRPC probe; liveness only asks whether
	// the process serves, so a broken volume does not restart the pod in a loop.
	r := c.ReadinessProbe
	require.NotNil(t, r)
	require.NotNil(t, r.GRPC, "readiness uses the native gRPC probe")
	assert.Equal(t, int32(9443), r.GRPC.Port)
	require.NotNil(t, r.GRPC.Service)
	assert.Equal(t, "provider", *r.GRPC.Service)
	assert.Nil(t, r.HTTPGet)
	l := c.LivenessProbe
	require.NotNil(t, l)
	assert.Nil(t, l.GRPC)
	require.NotNil(t, l.HTTPGet)
	assert.Equal(t, "/healthz", l.HTTPGet.Path)
	assert.Equal(t, intstr.FromString("http"), l.HTTPGet.Port)
	assert.Equal(t, int32(5), c.ReadinessProbe.PeriodSeconds)

	ms := mounts(c)
	assert.Equal(t, "/var/lib/virtrigaud/vms", ms["data"].MountPath)
	assert.Equal(t, "/tmp", ms["tmp"].MountPath)
	assert.NotContains(t, ms, "tls")
	vols := volumes(spec)
	assert.NotNil(t, vols["data"].EmptyDir, "no persistence: the data lives in an emptyDir")
	assert.NotContains(t, vols, "tls")
	assertMountsResolve(t, "provider", spec)

	// Ports line up: the probes and the Service target the container's named ports.
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	assert.Equal(t, map[string]int32{"grpc": 9443, "http": 8080}, ports)
	svc := one[*corev1.Service](t, objs, "Service", false)
	assert.Equal(t, fullname, svc.Name)
	assert.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)),
		"the Service selects the provider pod")
	assert.True(t, labels.SelectorFromSet(dep.Spec.Selector.MatchLabels).Matches(labels.Set(dep.Spec.Template.Labels)))
	for _, p := range svc.Spec.Ports {
		assert.Equal(t, intstr.FromString(p.Name), p.TargetPort)
		assert.Contains(t, ports, p.Name)
	}
	sa := one[*corev1.ServiceAccount](t, objs, "ServiceAccount", false)
	assert.Equal(t, sa.Name, spec.ServiceAccountName)
}

func TestProviderValuesReachThePod(t *testing.T) {
	_, objs := render(t, chart.Values{
		Set: []string{"provider.storageDir=/data/vms", "provider.logLevel=debug", "image.tag=v9",
			"replicaCount=0", "service.grpcPort=19443", "serviceAccount.create=false"},
		SetStr: []string{"provider.transitionDelay=1500ms"},
	})
	dep := one[*appsv1.Deployment](t, objs, "Deployment", false)
	c := dep.Spec.Template.Spec.Containers[0]
	assert.Equal(t, int32(0), *dep.Spec.Replicas)
	assert.Equal(t, "ghcr.io/vctsio/provider-file:v9", c.Image)
	e := env(c)
	assert.Equal(t, "/data/vms", e["PROVIDER_STORAGE_DIR"])
	assert.Equal(t, "debug", e["PROVIDER_LOG_LEVEL"])
	assert.Equal(t, "1500ms", e["PROVIDER_TRANSITION_DELAY"])
	assert.Equal(t, "/data/vms", mounts(c)["data"].MountPath)
	assert.Equal(t, "default", dep.Spec.Template.Spec.ServiceAccountName)
	for _, o := range objs {
		assert.NotEqual(t, "ServiceAccount", o.Kind, "serviceAccount.create=false")
	}
	testPod := one[*corev1.Pod](t, objs, "Pod", true)
	assert.Contains(t, testPod.Spec.Containers[0].Args, "--endpoint="+fullname+"."+namespace+".svc:19443",
		"the test pod dials the Service port it was given")
}

func TestTLSMountsTheSecretAndDropsPlaintext(t *testing.T) {
	_, objs := render(t, chart.Values{Set: []string{"tls.enabled=true", "tls.secretName=provider-tls"}})
	dep := one[*appsv1.Deployment](t, objs, "Deployment", false)
	spec := dep.Spec.Template.Spec
	c := spec.Containers[0]

	assert.NotContains(t, env(c), "VIRTRIGAUD_PROVIDER_INSECURE")
	m := mounts(c)["tls"]
	assert.Equal(t, "/etc/virtrigaud/tls", m.MountPath)
	assert.True(t, m.ReadOnly)
	vol := volumes(spec)["tls"]
	require.NotNil(t, vol.Secret)
	assert.Equal(t, "provider-tls", vol.Secret.SecretName)
	require.NotNil(t, vol.Secret.DefaultMode)
	assert.Equal(t, int32(0o440), *vol.Secret.DefaultMode, "readable through the pod's fsGroup only")
	assert.Equal(t, "provider-tls", dep.Spec.Template.Annotations["virtrigaud.io/tls-secret"])

	// The kubelet cannot present a client certificate, so the probes use plaintext HTTP.
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		require.NotNil(t, p.HTTPGet, name)
		assert.Nil(t, p.GRPC, name)
		assert.Equal(t, intstr.FromString("http"), p.HTTPGet.Port, name)
	}
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)

	testPod := one[*corev1.Pod](t, objs, "Pod", true)
	tc := testPod.Spec.Containers[0]
	for _, arg := range []string{"--tls-ca=/etc/vcts/tls/ca.crt", "--tls-cert=/etc/vcts/tls/tls.crt",
		"--tls-key=/etc/vcts/tls/tls.key", "--tls-server-name=" + fullname + "." + namespace + ".svc"} {
		assert.Contains(t, tc.Args, arg)
	}
	assert.Equal(t, "/etc/vcts/tls", mounts(tc)["tls"].MountPath)
	assert.Equal(t, "provider-tls", volumes(testPod.Spec)["tls"].Secret.SecretName)
	assertMountsResolve(t, "test", testPod.Spec)

	_, objs = render(t, chart.Values{Set: []string{"tls.enabled=true", "tls.secretName=provider-tls",
		"tests.tlsSecretName=client-tls", "tests.tlsServerName=provider.example", "podSecurityContext.fsGroup=null"}})
	testPod = one[*corev1.Pod](t, objs, "Pod", true)
	assert.Equal(t, "client-tls", volumes(testPod.Spec)["tls"].Secret.SecretName)
	assert.Contains(t, testPod.Spec.Containers[0].Args, "--tls-server-name=provider.example")
	assert.Equal(t, int32(0o444), *volumes(testPod.Spec)["tls"].Secret.DefaultMode,
		"without an fsGroup the non-root user could not read 0440 root-owned files")
}

func TestPersistence(t *testing.T) {
	_, objs := render(t, chart.Values{Files: []string{exampleFile}, Set: []string{"persistence.enabled=true",
		"persistence.size=256Mi", "persistence.storageClass=fast", "persistence.accessModes={ReadWriteOncePod}"}})
	pvc := one[*corev1.PersistentVolumeClaim](t, objs, "PersistentVolumeClaim", false)
	assert.Equal(t, fullname+"-data", pvc.Name)
	assert.Equal(t, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}, pvc.Spec.AccessModes)
	require.NotNil(t, pvc.Spec.StorageClassName)
	assert.Equal(t, "fast", *pvc.Spec.StorageClassName)
	assert.Equal(t, "256Mi", pvc.Spec.Resources.Requests.Storage().String())
	assert.Equal(t, "keep", pvc.Annotations["helm.sh/resource-policy"])
	dep := one[*appsv1.Deployment](t, objs, "Deployment", false)
	data := volumes(dep.Spec.Template.Spec)["data"]
	require.NotNil(t, data.PersistentVolumeClaim)
	assert.Equal(t, pvc.Name, data.PersistentVolumeClaim.ClaimName)

	_, objs = render(t, chart.Values{Set: []string{"persistence.enabled=true"}})
	pvc = one[*corev1.PersistentVolumeClaim](t, objs, "PersistentVolumeClaim", false)
	assert.Nil(t, pvc.Spec.StorageClassName, "empty storageClass: the cluster default")

	_, objs = render(t, chart.Values{Set: []string{"persistence.enabled=true", "persistence.storageClass=-"}})
	pvc = one[*corev1.PersistentVolumeClaim](t, objs, "PersistentVolumeClaim", false)
	require.NotNil(t, pvc.Spec.StorageClassName)
	assert.Empty(t, *pvc.Spec.StorageClassName, `"-": explicitly no StorageClass`)

	_, objs = render(t, valueSets["existingClaim"])
	dep = one[*appsv1.Deployment](t, objs, "Deployment", false)
	assert.Equal(t, "vms", volumes(dep.Spec.Template.Spec)["data"].PersistentVolumeClaim.ClaimName)
}

func TestNetworkPolicy(t *testing.T) {
	_, objs := render(t, everything)
	np := one[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", false)
	dep := one[*appsv1.Deployment](t, objs, "Deployment", false)
	testPod := one[*corev1.Pod](t, objs, "Pod", true)

	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	require.NoError(t, err)
	assert.True(t, sel.Matches(labels.Set(dep.Spec.Template.Labels)), "the policy covers the provider pod")
	assert.False(t, sel.Matches(labels.Set(testPod.Labels)), "and not the test pod")
	assert.ElementsMatch(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		np.Spec.PolicyTypes)

	require.Len(t, np.Spec.Ingress, 1)
	in := np.Spec.Ingress[0]
	var ports []string
	for _, p := range in.Ports {
		ports = append(ports, fmt.Sprintf("%s/%s", p.Port.String(), *p.Protocol))
	}
	assert.ElementsMatch(t, []string{"9443/TCP", "8080/TCP"}, ports)

	require.Len(t, in.From, 2)
	client := in.From[0]
	require.NotNil(t, client.NamespaceSelector)
	require.NotNil(t, client.PodSelector, "namespace and pod selector in one peer means both must match")
	assert.Equal(t, map[string]string{"kubernetes.io/metadata.name": "virtrigaud-system"}, client.NamespaceSelector.MatchLabels)
	testPeer := in.From[1]
	assert.Nil(t, testPeer.NamespaceSelector, "the test pod is admitted from the release namespace only")
	testSel, err := metav1.LabelSelectorAsSelector(testPeer.PodSelector)
	require.NoError(t, err)
	assert.True(t, testSel.Matches(labels.Set(testPod.Labels)), "the helm test pod may reach the provider")
	assert.False(t, testSel.Matches(labels.Set(dep.Spec.Template.Labels)))

	require.Len(t, np.Spec.Egress, 1, "egress: DNS only")
	eg := np.Spec.Egress[0]
	assert.Empty(t, eg.To)
	ports = nil
	for _, p := range eg.Ports {
		ports = append(ports, fmt.Sprintf("%s/%s", p.Port.String(), *p.Protocol))
	}
	assert.ElementsMatch(t, []string{"53/UDP", "53/TCP"}, ports)

	_, objs = render(t, chart.Values{Set: []string{"networkPolicy.enabled=true",
		"networkPolicy.additionalPeers[0].namespaceSelector.matchLabels.team=monitoring"}})
	np = one[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", false)
	require.Len(t, np.Spec.Ingress[0].From, 3)
	assert.Equal(t, map[string]string{"team": "monitoring"}, np.Spec.Ingress[0].From[1].NamespaceSelector.MatchLabels)

	_, objs = render(t, valueSets["noTests"])
	np = one[*networkingv1.NetworkPolicy](t, objs, "NetworkPolicy", false)
	assert.Len(t, np.Spec.Ingress[0].From, 1, "no test pod, no peer for it")
}

func TestServiceMonitorScrapesTheHTTPPort(t *testing.T) {
	_, objs := render(t, everything)
	sm := one[*chart.ServiceMonitor](t, objs, "ServiceMonitor", false)
	svc := one[*corev1.Service](t, objs, "Service", false)
	assert.Equal(t, "prometheus", sm.Labels["release"])
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	require.NoError(t, err)
	assert.True(t, sel.Matches(labels.Set(svc.Labels)), "the ServiceMonitor selects the Service")
	assert.Equal(t, []string{namespace}, sm.Spec.NamespaceSelector.MatchNames)
	require.Len(t, sm.Spec.Endpoints, 1)
	ep := sm.Spec.Endpoints[0]
	assert.Equal(t, "/metrics", ep.Path)
	assert.Equal(t, "30s", ep.Interval)
	var svcPorts []string
	for _, p := range svc.Spec.Ports {
		svcPorts = append(svcPorts, p.Name)
	}
	assert.Contains(t, svcPorts, ep.Port, "the endpoint names a Service port")
	assert.Equal(t, "http", ep.Port)
}

func TestHelmTestPodRunsTheSuiteAgainstTheService(t *testing.T) {
	r, objs := render(t, chart.Values{Files: []string{exampleFile}})
	pod := one[*corev1.Pod](t, objs, "Pod", true)
	svc := one[*corev1.Service](t, objs, "Service", false)

	assert.Equal(t, "test", pod.Annotations["helm.sh/hook"])
	assert.Equal(t, corev1.RestartPolicyNever, pod.Spec.RestartPolicy)
	require.NotNil(t, pod.Spec.ActiveDeadlineSeconds)
	c := pod.Spec.Containers[0]
	assert.Equal(t, "vcts/vcts:dev", c.Image)
	assert.Equal(t, corev1.PullNever, c.ImagePullPolicy)
	var grpcPort int32
	for _, p := range svc.Spec.Ports {
		if p.Name == "grpc" {
			grpcPort = p.Port
		}
	}
	assert.Equal(t, []string{"run", "--target=endpoint",
		fmt.Sprintf("--endpoint=%s.%s.svc:%d", svc.Name, namespace, grpcPort),
		"--profile=all", "--report-dir=/reports"}, c.Args)
	assert.Equal(t, "/reports", mounts(c)["reports"].MountPath)
	assert.NotNil(t, volumes(pod.Spec)["reports"].EmptyDir, "reports go to an emptyDir: the root fs is read-only")
	assertMountsResolve(t, "test", pod.Spec)

	assert.Contains(t, r.Notes, "helm test vcts -n conformance --logs")
	assert.Contains(t, r.Notes, fullname+"."+namespace+".svc:9443")
}

func TestExampleValuesDeployLocalImages(t *testing.T) {
	_, objs := render(t, chart.Values{Files: []string{exampleFile}})
	dep := one[*appsv1.Deployment](t, objs, "Deployment", false)
	c := dep.Spec.Template.Spec.Containers[0]
	assert.Equal(t, "vcts/provider-file:dev", c.Image)
	assert.Equal(t, corev1.PullNever, c.ImagePullPolicy)
	assert.Equal(t, "debug", env(c)["PROVIDER_LOG_LEVEL"])
}

// Values that cannot work fail at render time with a message that names the problem.
func TestBadValuesAreRejected(t *testing.T) {
	cases := map[string]struct {
		v    chart.Values
		want string
	}{
		"typo at the top":       {chart.Values{Set: []string{"servce.type=ClusterIP"}}, "servce"},
		"typo in a nested key":  {chart.Values{Set: []string{"image.tg=v1"}}, "tg"},
		"typo in securityCtx":   {chart.Values{Set: []string{"securityContext.readOnlyRootFilesytem=true"}}, "readOnlyRootFilesytem"},
		"two replicas (schema)": {chart.Values{Set: []string{"replicaCount=2"}}, "replicaCount"},
		"two replicas (template)": {chart.Values{Set: []string{"replicaCount=2"}, NoCheck: true},
			"one directory owned by one process"},
		"unknown log level":   {chart.Values{Set: []string{"provider.logLevel=verbose"}}, "logLevel"},
		"bad delay":           {chart.Values{Set: []string{"provider.transitionDelay=soon"}}, "transitionDelay"},
		"relative storageDir": {chart.Values{Set: []string{"provider.storageDir=vms"}}, "storageDir"},
		"tls without secret":  {chart.Values{Set: []string{"tls.enabled=true"}}, "tls.secretName"},
		"bad pull policy":     {chart.Values{Set: []string{"image.pullPolicy=Sometimes"}}, "pullPolicy"},
		"bad profile":         {chart.Values{Set: []string{"tests.profile=everything"}}, "profile"},
		"string port":         {chart.Values{SetStr: []string{"service.grpcPort=grpc"}}, "grpcPort"},
	}
	ch, err := chart.Load(chartDir)
	require.NoError(t, err)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := chart.Render(ch, release, namespace, tc.v)
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tc.want), "error %q should name %q", err, tc.want)
		})
	}
}
