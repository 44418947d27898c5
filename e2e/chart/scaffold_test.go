package chart_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vctsio/vcts/e2e/chart"
	"github.com/vctsio/vcts/providers/kit"
	"github.com/vctsio/vcts/scaffold/initproject"
)

// The chart `vrtg-provider init acme` writes, checked like charts/provider-file: strict lint,
// an offline render, every manifest decoded strictly into its Kubernetes type, and the pod
// run as the kit-built binary expects (ports, health service, TLS directory, environment).
const (
	scaffoldName    = "acme"
	scaffoldChart   = "provider-acme"
	scaffoldImage   = "ghcr.io/acme/provider-acme"
	scaffoldRelease = "acme-prod" // does not contain the chart name: fullname is release-chart
	scaffoldFull    = "acme-prod-provider-acme"
)

// scaffoldChartDir generates a provider project into a temporary directory and returns its
// chart directory.
func scaffoldChartDir(t *testing.T) string {
	t.Helper()
	res, err := initproject.Generate(initproject.Options{
		Name: scaffoldName, Dir: t.TempDir(), Image: scaffoldImage, VCTSVersion: "v1.0.0",
	})
	require.NoError(t, err)
	dir := filepath.Join(res.Dir, "charts", scaffoldChart)
	require.Contains(t, res.Files, filepath.Join("charts", scaffoldChart, "Chart.yaml"))
	return dir
}

var scaffoldTLS = chart.Values{Set: []string{"tls.enabled=true", "tls.secretName=acme-tls"}}

func renderScaffold(t *testing.T, dir string, v chart.Values) (*chart.Rendered, []chart.Object) {
	t.Helper()
	ch, err := chart.Load(dir)
	require.NoError(t, err)
	r, err := chart.Render(ch, scaffoldRelease, namespace, v)
	require.NoError(t, err)
	objs, err := chart.DecodeAll(r)
	require.NoError(t, err, "every rendered manifest must decode strictly")
	return r, objs
}

func TestScaffoldChartLintsStrictly(t *testing.T) {
	dir := scaffoldChartDir(t)
	for name, v := range map[string]chart.Values{"defaults": {}, "tls": scaffoldTLS} {
		t.Run(name, func(t *testing.T) {
			for _, p := range lintStrict(t, dir, v) {
				t.Errorf("lint: %s", p)
			}
		})
	}
}

// Lint reads values.schema.json too: a misspelt value fails `helm lint --strict`.
func TestScaffoldChartLintRefusesAMisspeltValue(t *testing.T) {
	problems := lintStrict(t, scaffoldChartDir(t), chart.Values{Set: []string{"tls.enable=true"}})
	assert.Contains(t, strings.Join(problems, "\n"), "'enable'")
}

func TestScaffoldChartRendersStrictKubernetesObjects(t *testing.T) {
	dir := scaffoldChartDir(t)
	for name, v := range map[string]chart.Values{
		"defaults": {},
		"tls":      scaffoldTLS,
		"extras": {Set: []string{"podAnnotations.a=b", "nodeSelector.disk=ssd", "imagePullSecrets[0].name=pull",
			"provider.extraEnv[0].name=HYPERVISOR_URL", "provider.extraEnv[0].value=https://hv.example"}},
		// The schema passes Kubernetes objects through and takes quantities as numbers too.
		"kubernetes objects": {Set: []string{
			"provider.extraEnv[0].name=HV_PASSWORD", "provider.extraEnv[0].valueFrom.secretKeyRef.name=hv",
			"provider.extraEnv[0].valueFrom.secretKeyRef.key=password",
			"resources.requests.cpu=0.5", "resources.limits.cpu=2", "resources.limits.memory=1.5Gi",
			"tolerations[0].key=hv", "tolerations[0].operator=Exists", "tolerations[0].effect=NoSchedule",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=hv",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
			"securityContext.seccompProfile.type=RuntimeDefault", "probes.liveness.initialDelaySeconds=3",
			"probes.liveness.terminationGracePeriodSeconds=10", "probes.readiness.successThreshold=2",
			"replicaCount=0", "service.type=NodePort",
		}, SetStr: []string{"image.tag=1"}},
	} {
		t.Run(name, func(t *testing.T) {
			r, objs := renderScaffold(t, dir, v)
			assert.Equal(t, []string{"Deployment", "Service"}, kinds(objs))
			for _, o := range objs {
				assert.Equal(t, scaffoldFull, o.Name, "%s name", o.Kind)
			}
			assert.Contains(t, r.Notes, scaffoldFull+"."+namespace+".svc:9443")
		})
	}
}

func TestScaffoldPodIsNonRootWithAReadOnlyRoot(t *testing.T) {
	_, objs := renderScaffold(t, scaffoldChartDir(t), chart.Values{})
	spec := one[*appsv1.Deployment](t, objs, "Deployment", false).Spec.Template.Spec
	require.NotNil(t, spec.AutomountServiceAccountToken)
	assert.False(t, *spec.AutomountServiceAccountToken, "the provider never talks to the API server")

	pod := spec.SecurityContext
	require.NotNil(t, pod)
	require.NotNil(t, pod.RunAsNonRoot)
	assert.True(t, *pod.RunAsNonRoot)
	require.NotNil(t, pod.RunAsUser)
	assert.NotZero(t, *pod.RunAsUser, "a non-root user id")
	require.NotNil(t, pod.SeccompProfile)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SeccompProfile.Type)

	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0].SecurityContext
	require.NotNil(t, c)
	require.NotNil(t, c.ReadOnlyRootFilesystem)
	assert.True(t, *c.ReadOnlyRootFilesystem)
	require.NotNil(t, c.AllowPrivilegeEscalation)
	assert.False(t, *c.AllowPrivilegeEscalation)
	require.NotNil(t, c.RunAsNonRoot)
	assert.True(t, *c.RunAsNonRoot)
	require.NotNil(t, c.Capabilities)
	assert.Equal(t, []corev1.Capability{"ALL"}, c.Capabilities.Drop)
	assert.Empty(t, c.Capabilities.Add)
	assert.Nil(t, c.Privileged)
	assertMountsResolve(t, "provider", spec)
	assert.Equal(t, "/tmp", mounts(spec.Containers[0])["tmp"].MountPath, "scratch space despite the read-only root")
}

// port returns the container port of that name.
func port(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port %q", c.Name, name)
	return 0
}

// kitPort is the port of a kit default address such as ":9443".
func kitPort(t *testing.T, addr string) int32 {
	_, p, ok := strings.Cut(addr, ":")
	require.True(t, ok, addr)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return int32(n)
}

func TestScaffoldPlaintextPodMatchesTheKit(t *testing.T) {
	_, objs := renderScaffold(t, scaffoldChartDir(t), chart.Values{})
	dep := one[*appsv1.Deployment](t, objs, "Deployment", false)
	spec := dep.Spec.Template.Spec
	c := spec.Containers[0]

	assert.Equal(t, scaffoldImage+":0.1.0", c.Image, "the tag defaults to the chart's appVersion")
	grpcPort, httpPort := port(t, c, "grpc"), port(t, c, "http")
	assert.Equal(t, kitPort(t, kit.DefaultGRPCAddr), grpcPort, "VirtRigaud's default provider port")
	assert.Equal(t, kitPort(t, kit.DefaultHTTPAddr), httpPort)
	assert.Equal(t, []string{fmt.Sprintf("--grpc-addr=:%d", grpcPort), fmt.Sprintf("--http-addr=:%d", httpPort)}, c.Args)
	e := env(c)
	assert.Equal(t, "true", e[kit.EnvInsecure], "plaintext needs the explicit opt-in")
	assert.Equal(t, "info", e[kit.EnvLogLevel])

	r := c.ReadinessProbe
	require.NotNil(t, r)
	require.NotNil(t, r.GRPC, "readiness uses gRPC health in plaintext")
	assert.Equal(t, grpcPort, r.GRPC.Port)
	require.NotNil(t, r.GRPC.Service)
	assert.Equal(t, kit.HealthService, *r.GRPC.Service, "readiness asks the service the kit serves")
	require.NotNil(t, c.LivenessProbe)
	require.NotNil(t, c.LivenessProbe.HTTPGet, "liveness asks whether the process serves")
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, intstr.FromString("http"), c.LivenessProbe.HTTPGet.Port)

	svc := one[*corev1.Service](t, objs, "Service", false)
	assert.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)), "the Service selects the pod")
	assert.Equal(t, dep.Spec.Selector.MatchLabels, svc.Spec.Selector)
	byName := map[string]corev1.ServicePort{}
	for _, p := range svc.Spec.Ports {
		byName[p.Name] = p
	}
	require.Contains(t, byName, "grpc")
	assert.Equal(t, grpcPort, byName["grpc"].Port)
	assert.Equal(t, intstr.FromString("grpc"), byName["grpc"].TargetPort)
	require.NotNil(t, byName["grpc"].AppProtocol)
	assert.Equal(t, "grpc", *byName["grpc"].AppProtocol)
	assert.Equal(t, intstr.FromString("http"), byName["http"].TargetPort)
}

func TestScaffoldTLSMountsTheSecretWhereTheKitReadsIt(t *testing.T) {
	_, objs := renderScaffold(t, scaffoldChartDir(t), scaffoldTLS)
	spec := one[*appsv1.Deployment](t, objs, "Deployment", false).Spec.Template.Spec
	c := spec.Containers[0]
	assert.NotContains(t, env(c), kit.EnvInsecure, "no plaintext opt-in with TLS")
	m := mounts(c)["tls"]
	assert.Equal(t, kit.DefaultTLSDir, m.MountPath)
	assert.True(t, m.ReadOnly)
	v := volumes(spec)["tls"]
	require.NotNil(t, v.Secret)
	assert.Equal(t, "acme-tls", v.Secret.SecretName)
	require.NotNil(t, v.Secret.DefaultMode)
	assert.Equal(t, int32(0o440), *v.Secret.DefaultMode, "the key is readable through fsGroup, not by everyone")
	require.NotNil(t, spec.SecurityContext.FSGroup, "the non-root user reads the key through its group")
	assertMountsResolve(t, "provider", spec)

	// The kubelet has no client certificate: the probes move to the HTTP port.
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		require.NotNil(t, p, name)
		assert.Nil(t, p.GRPC, name)
		require.NotNil(t, p.HTTPGet, name)
		assert.Equal(t, intstr.FromString("http"), p.HTTPGet.Port, name)
	}
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
}

func TestScaffoldChartValues(t *testing.T) {
	dir := scaffoldChartDir(t)
	_, objs := renderScaffold(t, dir, chart.Values{SetStr: []string{"image.tag=v2.0.0"}, Set: []string{"fullnameOverride=hv"}})
	dep := one[*appsv1.Deployment](t, objs, "Deployment", false)
	assert.Equal(t, scaffoldImage+":v2.0.0", dep.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, "hv", dep.Name)
	assert.Equal(t, "hv", one[*corev1.Service](t, objs, "Service", false).Name)

	ch, err := chart.Load(dir)
	require.NoError(t, err)
	// The schema refuses this first (TestScaffoldBadValuesAreRejected); the template's own
	// guard still holds with --skip-schema-validation.
	_, err = chart.Render(ch, scaffoldRelease, namespace, chart.Values{Set: []string{"tls.enabled=true"}, NoCheck: true})
	assert.ErrorContains(t, err, "tls.enabled needs tls.secretName")
}

// The checks above can fail: a misspelt security field in the generated chart, which the
// API server would silently drop, is caught by the strict decoding.
func TestScaffoldChecksCatchAMisspeltField(t *testing.T) {
	dir := scaffoldChartDir(t)
	values := filepath.Join(dir, "values.yaml")
	data, err := os.ReadFile(values)
	require.NoError(t, err)
	broken := strings.Replace(string(data), "readOnlyRootFilesystem:", "readOnlyRootFilesytem:", 1)
	require.NotEqual(t, string(data), broken)
	require.NoError(t, os.WriteFile(values, []byte(broken), 0o644))

	ch, err := chart.Load(dir)
	require.NoError(t, err)
	r, err := chart.Render(ch, scaffoldRelease, namespace, chart.Values{})
	require.NoError(t, err, "helm itself renders it")
	_, err = chart.DecodeAll(r)
	assert.ErrorContains(t, err, "readOnlyRootFilesytem")
}

// values.schema.json of the generated chart turns a misspelt or mistyped value, which helm
// would otherwise ignore, into an error that names the key: where it is (helm prints a JSON
// pointer) and, for an unknown key, the key itself. Each case is refused by the schema,
// before any template runs.
func TestScaffoldBadValuesAreRejected(t *testing.T) {
	cases := map[string]struct {
		v    chart.Values
		want []string
	}{
		"unknown top-level key":   {chart.Values{Set: []string{"replicaCont=2"}}, []string{"'replicaCont'"}},
		"unknown key under tls":   {chart.Values{Set: []string{"tls.enable=true"}}, []string{"'/tls'", "'enable'"}},
		"unknown key under image": {chart.Values{Set: []string{"image.tg=v1"}}, []string{"'/image'", "'tg'"}},
		"unknown key in service":  {chart.Values{Set: []string{"service.grpcPrt=9000"}}, []string{"'/service'", "'grpcPrt'"}},
		"unknown key in provider": {chart.Values{Set: []string{"provider.loglevel=debug"}}, []string{"'/provider'", "'loglevel'"}},
		"unknown key in a probe":  {chart.Values{Set: []string{"probes.liveness.periodSecond=5"}}, []string{"'/probes/liveness'", "'periodSecond'"}},
		"unknown probe":           {chart.Values{Set: []string{"probes.startup.periodSeconds=5"}}, []string{"'/probes'", "'startup'"}},
		"misspelt env var field": {chart.Values{Set: []string{"provider.extraEnv[0].name=A", "provider.extraEnv[0].vaule=x"}},
			[]string{"'/provider/extraEnv/0'", "'vaule'"}},
		"string port":        {chart.Values{SetStr: []string{"service.grpcPort=x"}}, []string{"'/service/grpcPort'"}},
		"port out of range":  {chart.Values{Set: []string{"service.httpPort=70000"}}, []string{"'/service/httpPort'"}},
		"tls without secret": {chart.Values{Set: []string{"tls.enabled=true"}}, []string{"'/tls/secretName'"}},
		"tls with the secret removed": {chart.Values{Set: []string{"tls.enabled=true", "tls.secretName=null"}},
			[]string{"'/tls'", "'secretName'"}},
		"negative replicas":      {chart.Values{Set: []string{"replicaCount=-1"}}, []string{"'/replicaCount'"}},
		"unknown log level":      {chart.Values{Set: []string{"provider.logLevel=verbose"}}, []string{"'/provider/logLevel'"}},
		"bad pull policy":        {chart.Values{Set: []string{"image.pullPolicy=Sometimes"}}, []string{"'/image/pullPolicy'"}},
		"bad service type":       {chart.Values{Set: []string{"service.type=ExternalName"}}, []string{"'/service/type'"}},
		"env var without a name": {chart.Values{Set: []string{"provider.extraEnv[0].value=x"}}, []string{"'/provider/extraEnv/0'", "'name'"}},
		"numeric env var value": {chart.Values{Set: []string{"provider.extraEnv[0].name=A", "provider.extraEnv[0].value=8080"}},
			[]string{"'/provider/extraEnv/0/value'"}},
		"bad memory quantity":  {chart.Values{Set: []string{"resources.limits.memory=lots"}}, []string{"'/resources/limits/memory'"}},
		"probe period of zero": {chart.Values{Set: []string{"probes.readiness.periodSeconds=0"}}, []string{"'/probes/readiness/periodSeconds'"}},
		"bad fullnameOverride": {chart.Values{Set: []string{"fullnameOverride=9Lives"}}, []string{"'/fullnameOverride'"}},
	}
	ch, err := chart.Load(scaffoldChartDir(t))
	require.NoError(t, err)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := chart.Render(ch, scaffoldRelease, namespace, tc.v)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "schema", "refused by values.schema.json, not by a template")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w, "the error names the bad key")
			}
		})
	}
}
