// Package chart renders a provider's Helm chart (charts/provider-file, and the chart that
// `vrtg-provider init` generates) without a cluster, the way `helm template` does, and
// decodes every rendered manifest strictly into Kubernetes API types, so that a misspelt
// field in a template fails a test instead of being dropped by the API server.
package chart

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/releaseutil"
)

// KubeVersion is the Kubernetes version offline renders assume: the version of the kind node
// the e2e run deploys to. Without it helm assumes v1.20, below the chart's kubeVersion.
const KubeVersion = "v1.34.4"

// Values says which values a render uses, as on helm's command line: files first, then
// --set and --set-string, later ones winning.
type Values struct {
	Files   []string // -f
	Set     []string // --set key=value
	SetStr  []string // --set-string key=value
	NoCheck bool     // --skip-schema-validation
}

// Merge returns the user-supplied values (not yet coalesced with the chart's defaults).
func (v Values) Merge() (map[string]any, error) {
	opts := values.Options{ValueFiles: v.Files, Values: v.Set, StringValues: v.SetStr}
	vals, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return nil, fmt.Errorf("reading values: %w", err)
	}
	return vals, nil
}

// Manifest is one rendered document.
type Manifest struct {
	// Source is the template it came from, e.g. "provider-file/templates/service.yaml".
	Source string
	// Hook is true for hook documents such as the `helm test` pod.
	Hook bool
	YAML string
}

// Rendered is the outcome of a render.
type Rendered struct {
	Manifests []Manifest
	Notes     string
}

// Load reads the chart directory.
func Load(dir string) (*chart.Chart, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", dir, err)
	}
	return ch, nil
}

// Render renders ch as release name in namespace, without a cluster. Schema validation and
// the templates' own `fail` checks run as in `helm template`.
func Render(ch *chart.Chart, name, namespace string, v Values) (*Rendered, error) {
	vals, err := v.Merge()
	if err != nil {
		return nil, err
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.ReleaseName = name
	install.Namespace = namespace
	install.SkipSchemaValidation = v.NoCheck
	kv, err := chartutil.ParseKubeVersion(KubeVersion)
	if err != nil {
		return nil, err
	}
	install.KubeVersion = kv
	rel, err := install.Run(ch, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering chart %s: %w", ch.Name(), err)
	}

	out := &Rendered{}
	for _, doc := range sortedDocs(releaseutil.SplitManifests(rel.Manifest)) {
		out.Manifests = append(out.Manifests, Manifest{Source: sourceOf(doc), YAML: doc})
	}
	for _, h := range rel.Hooks {
		out.Manifests = append(out.Manifests, Manifest{Source: h.Path, Hook: true, YAML: h.Manifest})
	}
	if rel.Info != nil {
		out.Notes = rel.Info.Notes
	}
	return out, nil
}

// sortedDocs returns the split documents in their order in the release manifest
// (SplitManifests keys them "manifest-N").
func sortedDocs(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	docs := make([]string, 0, len(keys))
	for _, k := range keys {
		if strings.TrimSpace(m[k]) != "" {
			docs = append(docs, m[k])
		}
	}
	return docs
}

// sourceOf reads the "# Source: <path>" line helm puts at the top of each document.
func sourceOf(doc string) string {
	for line := range strings.SplitSeq(doc, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source:"); ok {
			return path.Clean(strings.TrimSpace(rest))
		}
	}
	return ""
}
