package initproject

import (
	"encoding/json"
	"errors"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/vctsio/vcts/harness/config"
)

// repoRoot is this vcts checkout (the module root, two levels up).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	return root
}

var wantPaths = []string{
	".github/workflows/ci.yml",
	".gitignore",
	"Makefile",
	"README.md",
	"charts/provider-acme/Chart.yaml",
	"charts/provider-acme/templates/NOTES.txt",
	"charts/provider-acme/templates/_helpers.tpl",
	"charts/provider-acme/templates/deployment.yaml",
	"charts/provider-acme/templates/service.yaml",
	"charts/provider-acme/values.schema.json",
	"charts/provider-acme/values.yaml",
	"cmd/provider-acme/Dockerfile",
	"cmd/provider-acme/main.go",
	"go.mod",
	"internal/provider/capabilities.go",
	"internal/provider/provider.go",
	"internal/provider/provider_test.go",
	"vcts-config.yaml",
}

func generate(t *testing.T, o Options) (*Result, string) {
	t.Helper()
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "provider-acme")
	}
	if o.Name == "" {
		o.Name = "acme"
	}
	res, err := Generate(o)
	require.NoError(t, err)
	return res, res.Dir
}

func read(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	require.NoError(t, err)
	return string(b)
}

func TestGenerateWritesTheTutorialLayout(t *testing.T) {
	res, dir := generate(t, Options{VCTSPath: repoRoot(t)})
	assert.Equal(t, wantPaths, res.Files)
	paths, err := Paths("acme")
	require.NoError(t, err)
	assert.Equal(t, wantPaths, paths)
	assert.Empty(t, res.Overwritten)

	for _, rel := range res.Files {
		body := read(t, dir, rel)
		assert.NotContains(t, body, "[[", "%s: a scaffold action was left unrendered", rel)
		assert.NotContains(t, body, "__name__", rel)
		if strings.HasSuffix(rel, ".go") {
			formatted, err := format.Source([]byte(body))
			require.NoError(t, err, rel)
			assert.Equal(t, string(formatted), body, "%s is not gofmt-formatted", rel)
		}
	}
	main := read(t, dir, "cmd/provider-acme/main.go")
	assert.Contains(t, main, `"github.com/example/provider-acme/internal/provider"`)
	assert.Contains(t, main, `flags.Options("acme", stderr)`)
	gomod := read(t, dir, "go.mod")
	assert.Contains(t, gomod, "module github.com/example/provider-acme\n")
	assert.Contains(t, gomod, "go "+GoVersion+"\n")
	assert.Contains(t, gomod, "\tgithub.com/vctsio/vcts "+DevVersion+"\n")
	assert.Contains(t, gomod, "\tgoogle.golang.org/grpc "+GRPCVersion+"\n")
	assert.Contains(t, gomod, "replace github.com/vctsio/vcts => "+repoRoot(t)+"\n")
	assert.Contains(t, read(t, dir, "cmd/provider-acme/Dockerfile"), "FROM golang:1.26 AS build")
	assert.Contains(t, read(t, dir, "Makefile"), "IMAGE        ?= ghcr.io/example/provider-acme\n")
	// The replace is only for local work; the author is told so.
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], "remove it before building the image")
}

// The generated configuration must pass vcts's strict loader, describe the provider by the
// generated name and image, and point at `make run`'s address.
func TestGeneratedConfigIsValidForVCTS(t *testing.T) {
	_, dir := generate(t, Options{Image: "registry.example:5000/acme/provider-acme"})
	cfg, err := config.Load(filepath.Join(dir, "vcts-config.yaml"))
	require.NoError(t, err)
	require.NoError(t, cfg.Finalize(dir))
	assert.Equal(t, "acme", cfg.Provider.Name)
	assert.Equal(t, DefaultEndpoint, cfg.Provider.Endpoint)
	assert.Equal(t, config.TargetEndpoint, cfg.Target.Kind)
	assert.Equal(t, config.DialectV1, cfg.Provider.Dialect)
	assert.False(t, cfg.Provider.TLS.Enabled)
	assert.Equal(t, "registry.example:5000/acme/provider-acme", cfg.Catalog.Image)
	assert.Equal(t, "Acme Provider", cfg.Catalog.DisplayName)
	assert.Equal(t, []string{"acme"}, cfg.Catalog.Tags)
	require.Len(t, cfg.Profiles.Core.VMSpecs, 1)
}

func TestGeneratedWorkflowRunsConformance(t *testing.T) {
	_, dir := generate(t, Options{VCTSVersion: "v1.4.2"})
	var wf struct {
		// YAML 1.1 reads the bare key on as the boolean true.
		On   map[string]any `json:"true"`
		Jobs map[string]struct {
			Needs any `json:"needs"`
			Steps []struct {
				Name string `json:"name"`
				Uses string `json:"uses"`
				Run  string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(read(t, dir, ".github/workflows/ci.yml")), &wf))
	assert.Contains(t, wf.On, "pull_request")
	require.Contains(t, wf.Jobs, "conformance")
	var runs []string
	for _, s := range wf.Jobs["conformance"].Steps {
		runs = append(runs, s.Run)
	}
	all := strings.Join(runs, "\n")
	assert.Contains(t, all, "go tool vcts run")
	assert.Contains(t, all, "--target endpoint --endpoint 127.0.0.1:9443")
	assert.Contains(t, all, "--profile core")
	assert.Contains(t, all, "VIRTRIGAUD_PROVIDER_INSECURE=true ./bin/provider-acme")
	assert.Contains(t, read(t, dir, "go.mod"), "\tgithub.com/vctsio/vcts v1.4.2\n")
	assert.Contains(t, read(t, dir, "go.mod"), "\ntool github.com/vctsio/vcts/cmd/vcts\n", "the CLI at the version go.mod requires")
	assert.NotContains(t, read(t, dir, "go.mod"), "replace")
}

// Without helm at hand: the plain YAML files of the chart parse, and every template parses
// as a Go template with Helm's functions (syntax and function names).
func TestGeneratedChartParses(t *testing.T) {
	_, dir := generate(t, Options{})
	chart := filepath.Join(dir, "charts", "provider-acme")
	var meta struct {
		APIVersion, Name, Version, AppVersion, KubeVersion string
		Description, Type                                  string
	}
	require.NoError(t, yaml.UnmarshalStrict([]byte(read(t, chart, "Chart.yaml")), &meta))
	assert.Equal(t, "v2", meta.APIVersion)
	assert.Equal(t, "provider-acme", meta.Name)

	var values map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(read(t, chart, "values.yaml")), &values))
	assert.Equal(t, "ghcr.io/example/provider-acme", values["image"].(map[string]any)["repository"])
	sc := values["securityContext"].(map[string]any)
	assert.Equal(t, true, sc["readOnlyRootFilesystem"])
	assert.Equal(t, true, sc["runAsNonRoot"])
	assert.Equal(t, false, sc["allowPrivilegeEscalation"])
	assert.Equal(t, true, values["podSecurityContext"].(map[string]any)["runAsNonRoot"])

	helmFuncs := template.FuncMap{}
	for _, f := range []string{"include", "default", "trunc", "trimSuffix", "contains", "replace", "quote", "nindent", "toYaml", "fail"} {
		helmFuncs[f] = func(...any) string { return "" }
	}
	entries, err := os.ReadDir(filepath.Join(chart, "templates"))
	require.NoError(t, err)
	require.Len(t, entries, 4)
	for _, e := range entries {
		_, err := template.New(e.Name()).Funcs(helmFuncs).Parse(read(t, filepath.Join(chart, "templates"), e.Name()))
		assert.NoError(t, err, e.Name())
	}
	deploy := read(t, filepath.Join(chart, "templates"), "deployment.yaml")
	assert.Regexp(t, regexp.MustCompile(`readinessProbe:\s+\{\{- if \.Values\.tls\.enabled \}\}\s+httpGet:[^{]*\{\{- else \}\}\s+grpc:\s+port: \{\{ \.Values\.service\.grpcPort \}\}\s+service: provider`), deploy)
	assert.Contains(t, deploy, `{{- include "provider-acme.selectorLabels" . | nindent 6 }}`)
}

// The schema is rendered JSON and describes values.yaml exactly: every key there has a
// property here (so the defaults are not refused as unknown) and the schema names no top-level
// key that values.yaml dropped. Whether the defaults also satisfy the schema is checked with
// helm itself in e2e/chart.
func TestGeneratedSchemaCoversTheValues(t *testing.T) {
	_, dir := generate(t, Options{})
	chart := filepath.Join(dir, "charts", "provider-acme")
	var schema map[string]any
	require.NoError(t, json.Unmarshal([]byte(read(t, chart, "values.schema.json")), &schema))
	assert.Equal(t, "http://json-schema.org/draft-07/schema#", schema["$schema"])
	assert.Equal(t, "provider-acme chart values", schema["title"])

	var values map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(read(t, chart, "values.yaml")), &values))
	props, ok := schema["properties"].(map[string]any)
	require.True(t, ok)
	var schemaKeys, valueKeys []string
	for k := range props {
		if k != "global" { // set by a parent chart, never in values.yaml
			schemaKeys = append(schemaKeys, k)
		}
	}
	for k := range values {
		valueKeys = append(valueKeys, k)
	}
	assert.ElementsMatch(t, valueKeys, schemaKeys)
	assertKnown(t, "", values, schema)
}

// assertKnown fails for a key of values that s, an object schema refusing unknown keys,
// has no property for, and descends into the nested objects s describes.
func assertKnown(t *testing.T, at string, values map[string]any, s map[string]any) {
	t.Helper()
	props, _ := s["properties"].(map[string]any)
	for k, v := range values {
		p, ok := props[k].(map[string]any)
		if !ok {
			assert.NotEqual(t, false, s["additionalProperties"], "values.yaml has %s%s, the schema refuses it", at, k)
			continue
		}
		if nested, ok := v.(map[string]any); ok {
			assertKnown(t, at+k+".", nested, p)
		}
	}
}

func TestGenerateRefusesToOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "internal", "provider"), 0o755))
	mine := map[string]string{"Makefile": "my makefile\n", "internal/provider/provider.go": "package mine\n"}
	for rel, body := range mine {
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), []byte(body), 0o644))
	}
	_, err := Generate(Options{Name: "acme", Dir: dir})
	var ee *ExistsError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, []string{"Makefile", "internal/provider/provider.go"}, ee.Files)
	assert.Contains(t, err.Error(), "use --force")
	// Nothing was written: not even the files that did not exist.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "only the author's own files are there")
	for rel, body := range mine {
		assert.Equal(t, body, read(t, dir, rel))
	}

	res, err := Generate(Options{Name: "acme", Dir: dir, Force: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"Makefile", "internal/provider/provider.go"}, res.Overwritten)
	assert.Contains(t, read(t, dir, "Makefile"), "provider-acme")

	// A directory where a file goes is never replaced, even with --force.
	require.NoError(t, os.Remove(filepath.Join(dir, "go.mod")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "go.mod"), 0o755))
	_, err = Generate(Options{Name: "acme", Dir: dir, Force: true})
	assert.ErrorContains(t, err, "is a directory")
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Name: ""}, "empty"},
		{Options{Name: "Acme"}, "not valid"},
		{Options{Name: "provider-acme"}, "without the"},
		{Options{Name: "a"}, "not valid"},
		{Options{Name: "ac me"}, "not valid"},
		{Options{Name: "acme", Module: "github.com/acme/my provider"}, "module path"},
		{Options{Name: "acme", Image: "GHCR.io/Acme/X"}, "not a valid image"},
		{Options{Name: "acme", Image: "ghcr.io/acme/x:1.0"}, "not a valid image"},
		{Options{Name: "acme", VCTSVersion: "latest"}, "not a module version"},
		{Options{Name: "acme", VCTSPath: "/nonexistent/vcts"}, "--vcts-path"},
		{Options{Name: "acme", VCTSPath: "testdata-missing"}, "--vcts-path"},
	} {
		dir := t.TempDir()
		tc.o.Dir = dir
		_, err := Generate(tc.o)
		var ue *UsageError
		require.True(t, errors.As(err, &ue), "%+v: want a usage error, got %v", tc.o, err)
		assert.ErrorContains(t, err, tc.want, "%+v", tc.o)
		entries, _ := os.ReadDir(dir)
		assert.Empty(t, entries, "%+v: nothing may be written", tc.o)
	}

	// A go.mod of another module is not a vcts checkout.
	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644))
	_, err := Generate(Options{Name: "acme", Dir: t.TempDir(), VCTSPath: other})
	assert.ErrorContains(t, err, "holds module example.com/other, not github.com/vctsio/vcts")
}

func TestDevelopmentBuildWarnsWithoutACheckout(t *testing.T) {
	t.Chdir(t.TempDir()) // outside any vcts checkout
	res, dir := generate(t, Options{})
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], "development build")
	assert.Contains(t, read(t, dir, "go.mod"), DevVersion)
	assert.Contains(t, read(t, dir, "Makefile"), "VCTS         ?= $(GO) tool vcts\n")
}

// Run from inside a vcts checkout (as the README's quick start does), a development build
// points the project at that checkout.
func TestDevelopmentBuildUsesTheCheckoutItRunsFrom(t *testing.T) {
	root := repoRoot(t)
	t.Chdir(filepath.Join(root, "scaffold"))
	res, dir := generate(t, Options{})
	assert.Contains(t, read(t, dir, "go.mod"), "replace "+VCTSModule+" => "+root+"\n")
	assert.Contains(t, strings.Join(res.Warnings, "\n"), "the vcts checkout it runs from")
}

func TestDefaultImageFollowsAGitHubModule(t *testing.T) {
	assert.Equal(t, "ghcr.io/acme/provider-hyperx", DefaultImage("hyperx", "github.com/acme/provider-hyperx"))
	assert.Equal(t, "ghcr.io/acme/provider-hyperx", DefaultImage("hyperx", "github.com/Acme/Provider-HyperX/v2"))
	assert.Equal(t, "ghcr.io/example/provider-hyperx", DefaultImage("hyperx", "example.com/acme/provider-hyperx"))
	assert.Equal(t, "ghcr.io/example/provider-hyperx", DefaultImage("hyperx", "github.com/acme"))
}

// The generated go.mod must agree with the vcts it depends on.
func TestVersionsMatchThisModule(t *testing.T) {
	gomod := read(t, repoRoot(t), "go.mod")
	assert.Contains(t, gomod, "\ngo "+GoVersion+"\n")
	assert.Contains(t, gomod, "\tgoogle.golang.org/grpc "+GRPCVersion+"\n")
}

func TestTitle(t *testing.T) {
	assert.Equal(t, "File", title("file"))
	assert.Equal(t, "Proxmox Ve", title("proxmox-ve"))
	assert.Equal(t, "A  B", title("a--b"))
}
