package publish

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/vctsio/vcts/harness/catalog"
	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/report"
	"github.com/vctsio/vcts/harness/results"
)

var (
	finished = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	now      = time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
)

// passing is the report of a run of provider acme that passed core and snapshot.
func passing() *results.Report {
	return &results.Report{
		APIVersion: results.APIVersion,
		Suite:      results.Suite{Name: "vcts", Version: "v1.0.0", SpecVersion: "1.0.0"},
		RunID:      "vcts-test1",
		Provider:   results.Provider{Name: "acme", Image: "ghcr.io/acme/provider-acme", Dialect: config.DialectV1, Capabilities: &results.Capabilities{Snapshots: true}},
		Target:     results.Target{Kind: config.TargetEndpoint},
		StartedAt:  finished.Add(-time.Minute),
		FinishedAt: finished,
		Verdict:    results.VerdictPass,
		Profiles: []results.Profile{
			{Name: "core", Verdict: results.VerdictPass, Passed: 37},
			{Name: "snapshot", Verdict: results.VerdictPass, Passed: 14},
			{Name: "clone", Verdict: results.VerdictSkip, Reason: "the provider does not offer clones"},
		},
		Requirements: []results.Requirement{
			{ID: "CORE-001", Profile: "core", Status: results.Passed},
			{ID: "CORE-016", Profile: "core", Status: results.Passed},
			{ID: "SNAP-001", Profile: "snapshot", Status: results.Passed},
		},
		Config: config.File{Catalog: config.Catalog{
			DisplayName: "Acme Provider", Description: "Acme hypervisor provider",
			Image: "ghcr.io/acme/provider-acme", Maturity: "beta", Tags: []string{"acme"},
		}},
	}
}

func writeResults(t *testing.T, r *results.Report) string {
	t.Helper()
	b, err := r.Marshal()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "results.json")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

func options(t *testing.T, resultsPath, catalogPath string) Options {
	return Options{
		Name: "acme", Image: "ghcr.io/acme/provider-acme", Tag: "0.1.0",
		Repo: "https://github.com/acme/provider-acme", Maintainer: "dev@acme.example", License: "Apache-2.0",
		Results: resultsPath, Catalog: catalogPath, Now: func() time.Time { return now },
	}
}

const fixture = `# Provider catalog (test fixture)

metadata:
  version: "v1"
  lastUpdated: "2025-01-01T00:00:00Z"
  description: "Catalog of providers"

providers:
  # The mock provider
  - name: mock
    displayName: "Mock Provider"
    description: "A mock provider"
    repo: "https://github.com/example/mock"
    image: "ghcr.io/example/provider-mock"
    tag: "0.1.1"
    capabilities:
      - core
      - image-prepare
    conformance:
      profiles:
        core: pass
        image-prepare: pass
      badge_url: "https://img.shields.io/badge/conformance-pass-green"
      last_tested: "2025-01-01T00:00:00Z"
    maintainer: "mock@example.com"
    license: "Apache-2.0"
    maturity: "stable"

# Schema information
schema:
  version: "v1"
`

func readDoc(t *testing.T, path string) (catalog.Document, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, catalog.ValidateDocument(data), string(data))
	var doc catalog.Document
	require.NoError(t, yaml.Unmarshal(data, &doc))
	return doc, string(data)
}

func TestPublishWritesAValidEntryAndTheBadge(t *testing.T) {
	rep := passing()
	catalogPath := filepath.Join(t.TempDir(), "catalog.yaml")
	require.NoError(t, os.WriteFile(catalogPath, []byte(fixture), 0o644))
	var out bytes.Buffer
	o := options(t, writeResults(t, rep), catalogPath)
	o.Out = &out
	o.ReportURL = "https://ci.example/runs/1"
	res, err := Run(t.Context(), o)
	require.NoError(t, err)
	assert.False(t, res.Updated)

	doc, text := readDoc(t, catalogPath)
	require.Len(t, doc.Providers, 2)
	got := doc.Providers[1]
	assert.Equal(t, catalog.Entry{
		Name: "acme", DisplayName: "Acme Provider", Description: "Acme hypervisor provider",
		Repo: "https://github.com/acme/provider-acme", Image: "ghcr.io/acme/provider-acme", Tag: "0.1.0",
		Capabilities: []string{"core", "snapshot"},
		Conformance: catalog.Conformance{
			Profiles:   map[string]string{"core": "pass", "snapshot": "pass", "clone": "skip"},
			ReportURL:  "https://ci.example/runs/1",
			BadgeURL:   "https://img.shields.io/badge/conformance-pass-green",
			LastTested: "2026-03-04T05:06:07Z",
		},
		Maintainer: "dev@acme.example", License: "Apache-2.0", Maturity: "beta", Tags: []string{"acme"},
	}, got)
	assert.Equal(t, got, res.Entry)
	assert.Equal(t, "2026-03-05T00:00:00Z", doc.Metadata.LastUpdated)
	// The rest of the file is untouched, byte for byte.
	before, after, ok := strings.Cut(fixture, "\n# Schema information")
	require.True(t, ok)
	assert.True(t, strings.HasPrefix(text, strings.Replace(before, "2025-01-01T00:00:00Z", "2026-03-05T00:00:00Z", 1)), text)
	assert.True(t, strings.HasSuffix(text, "\n# Schema information"+after), text)
	assert.Contains(t, text, "      profiles:\n        core: pass\n        snapshot: pass\n        clone: skip\n", "profiles in report order")

	badge, err := os.ReadFile(filepath.Join(filepath.Dir(catalogPath), "badges", "acme.svg"))
	require.NoError(t, err)
	assert.Equal(t, string(report.Badge(rep)), string(badge))
	assert.Contains(t, out.String(), "Added acme in "+catalogPath)
	assert.Contains(t, out.String(), "run publish again with --catalog-repo")
}

func TestPublishIdentityPrefersProviderImage(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(r *results.Report)
	}{
		// The container the suite ran is the published image with the published tag,
		// whatever the configuration's catalog section says.
		{"provider.image with the tag", func(r *results.Report) {
			r.Target.Kind = config.TargetContainer
			r.Provider.Image = "ghcr.io/acme/provider-acme:0.1.0"
			r.Config.Catalog.Image = "ghcr.io/acme/old-name"
		}},
		// A results.json written before provider.image existed still publishes.
		{"older results without provider.image", func(r *results.Report) { r.Provider.Image = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := passing()
			tc.edit(rep)
			catalogPath := filepath.Join(t.TempDir(), "catalog.yaml")
			require.NoError(t, os.WriteFile(catalogPath, []byte(fixture), 0o644))
			res, err := Run(t.Context(), options(t, writeResults(t, rep), catalogPath))
			require.NoError(t, err)
			assert.Equal(t, "ghcr.io/acme/provider-acme", res.Entry.Image)
			assert.Equal(t, "0.1.0", res.Entry.Tag)
		})
	}
}

func TestPublishUpdatesAnExistingEntryInsteadOfDuplicatingIt(t *testing.T) {
	catalogPath := filepath.Join(t.TempDir(), "catalog.yaml")
	require.NoError(t, os.WriteFile(catalogPath, []byte(fixture), 0o644))
	_, err := Run(t.Context(), options(t, writeResults(t, passing()), catalogPath))
	require.NoError(t, err)
	_, first := readDoc(t, catalogPath)

	// A later release, tested later, with a clone profile now passing.
	rep := passing()
	rep.FinishedAt = finished.Add(48 * time.Hour)
	rep.Provider.Capabilities.Clones = true
	rep.Profiles[2] = results.Profile{Name: "clone", Verdict: results.VerdictPass, Passed: 9}
	o := options(t, writeResults(t, rep), catalogPath)
	o.Tag = "0.2.0"
	res, err := Run(t.Context(), o)
	require.NoError(t, err)
	assert.True(t, res.Updated)

	doc, second := readDoc(t, catalogPath)
	require.Len(t, doc.Providers, 2, "updated, not duplicated")
	assert.Equal(t, "mock", doc.Providers[0].Name)
	acme := doc.Providers[1]
	assert.Equal(t, "0.2.0", acme.Tag)
	assert.Equal(t, "2026-03-06T05:06:07Z", acme.Conformance.LastTested)
	assert.Equal(t, []string{"core", "snapshot", "clone"}, acme.Capabilities)
	assert.Equal(t, strings.Count(first, "\n"), strings.Count(second, "\n")-1, "one more line: the clone capability")
	assert.Contains(t, second, "# The mock provider\n  - name: mock\n")
	assert.Contains(t, second, "\n# Schema information\nschema:\n")
}

// Core passed but snapshot failed: publishable, and the entry, badge and output say so.
func TestPublishRecordsAFailingOptionalProfile(t *testing.T) {
	rep := passing()
	rep.Verdict = results.VerdictFail
	rep.Profiles[1] = results.Profile{Name: "snapshot", Verdict: results.VerdictFail, Failed: 2, Passed: 12}
	catalogPath := filepath.Join(t.TempDir(), "catalog.yaml")
	var out bytes.Buffer
	o := options(t, writeResults(t, rep), catalogPath)
	o.Out = &out
	res, err := Run(t.Context(), o)
	require.NoError(t, err)
	assert.Equal(t, "fail", res.Entry.Conformance.Profiles["snapshot"])
	assert.Equal(t, "https://img.shields.io/badge/conformance-fail-red", res.Entry.Conformance.BadgeURL)
	badge, err := os.ReadFile(res.BadgePath)
	require.NoError(t, err)
	assert.Contains(t, string(badge), `aria-label="conformance: fail"`)
	assert.Contains(t, out.String(), "note: the run's verdict is fail (core passed)")
}

func TestPublishCreatesACatalog(t *testing.T) {
	dir := t.TempDir()
	catalogPath := filepath.Join(dir, "sub", "catalog.yaml")
	_, err := Run(t.Context(), options(t, writeResults(t, passing()), catalogPath))
	require.NoError(t, err)
	doc, text := readDoc(t, catalogPath)
	assert.True(t, strings.HasPrefix(text, "# VirtRigaud provider catalog."))
	require.Len(t, doc.Providers, 1)
	assert.Equal(t, "acme", doc.Providers[0].Name)
	assert.Equal(t, "2026-03-05T00:00:00Z", doc.Metadata.LastUpdated)
	assert.FileExists(t, filepath.Join(dir, "sub", "badges", "acme.svg"))
}

// A layout the text splice does not handle (a flow-style list) still gets a correct file.
func TestPublishFallsBackToReencodingUnusualLayouts(t *testing.T) {
	catalogPath := filepath.Join(t.TempDir(), "catalog.yaml")
	flow := "# flow style\nproviders: [{name: mock, displayName: Mock, description: d, repo: 'https://x.example/m', image: ghcr.io/x/m, tag: '1', " +
		"capabilities: [core], conformance: {profiles: {core: pass}, last_tested: '2025-01-01T00:00:00Z'}, maintainer: m@x.example, license: MIT, maturity: beta}]\n"
	require.NoError(t, os.WriteFile(catalogPath, []byte(flow), 0o644))
	_, err := Run(t.Context(), options(t, writeResults(t, passing()), catalogPath))
	require.NoError(t, err)
	doc, text := readDoc(t, catalogPath)
	require.Len(t, doc.Providers, 2)
	assert.Equal(t, []string{"mock", "acme"}, []string{doc.Providers[0].Name, doc.Providers[1].Name})
	assert.Contains(t, text, "# flow style")
}

// refused runs publish and checks that it refused with want and wrote nothing.
func refused(t *testing.T, o Options, want string) {
	t.Helper()
	dir := filepath.Dir(o.Catalog)
	before, _ := os.ReadFile(o.Catalog)
	_, err := Run(context.Background(), o)
	var re *RefusedError
	require.ErrorAs(t, err, &re, "want a refusal containing %q", want)
	assert.ErrorContains(t, err, want)
	after, _ := os.ReadFile(o.Catalog)
	assert.Equal(t, string(before), string(after), "the catalog must not change")
	assert.NoDirExists(t, filepath.Join(dir, "badges"))
}

func TestPublishRefusals(t *testing.T) {
	mutate := func(f func(r *results.Report)) string {
		r := passing()
		f(r)
		return writeResults(t, r)
	}
	garbage := filepath.Join(t.TempDir(), "results.json")
	require.NoError(t, os.WriteFile(garbage, []byte("{not json"), 0o644))
	otherSchema := filepath.Join(t.TempDir(), "results.json")
	require.NoError(t, os.WriteFile(otherSchema, []byte(`{"apiVersion":"vcts.dev/results/v9"}`), 0o644))

	for _, tc := range []struct {
		name    string
		results string
		edit    func(o *Options)
		want    string
	}{
		{"missing results", filepath.Join(t.TempDir(), "nope.json"), nil, "no results at"},
		{"unreadable results", garbage, nil, "cannot read the results"},
		{"other schema", otherSchema, nil, `unsupported results apiVersion "vcts.dev/results/v9"`},
		{"core failed", mutate(func(r *results.Report) {
			r.Verdict = results.VerdictFail
			r.Profiles[0] = results.Profile{Name: "core", Verdict: results.VerdictFail, Reason: "1 scenario failed", Passed: 36, Failed: 1}
			r.Requirements[1].Status = results.Failed
		}), nil, "the core profile is fail, and only a provider that passes core can be published (1 scenario failed): CORE-016 failed"},
		{"core partial", mutate(func(r *results.Report) {
			r.Verdict = results.VerdictPartial
			r.Profiles[0] = results.Profile{Name: "core", Verdict: results.VerdictPartial, Reason: "1 scenario skipped"}
			r.Requirements[0].Status = results.Skipped
		}), nil, "the core profile is partial"},
		{"no core", mutate(func(r *results.Report) { r.Profiles = r.Profiles[1:] }), nil, "no core profile"},
		{"another provider", mutate(func(r *results.Report) { r.Provider.Name = "other" }), nil,
			`the results are for provider "other", not "acme"`},
		{"another image", mutate(func(r *results.Report) { r.Provider.Image = "ghcr.io/evil/provider-acme" }), nil,
			"the results are for image ghcr.io/evil/provider-acme (provider.image in results.json), not ghcr.io/acme/provider-acme"},
		{"another tag", mutate(func(r *results.Report) { r.Provider.Image = "ghcr.io/acme/provider-acme:0.0.9" }), nil,
			"the results are for ghcr.io/acme/provider-acme:0.0.9 (provider.image in results.json), not tag 0.1.0"},
		{"provider.image beats the configuration", mutate(func(r *results.Report) {
			// The container target ran another image than catalog.image declares.
			r.Target.Kind = config.TargetContainer
			r.Provider.Image = "ghcr.io/acme/provider-acme:dev"
		}), nil, "the results are for ghcr.io/acme/provider-acme:dev (provider.image in results.json), not tag 0.1.0"},
		{"image not recorded", mutate(func(r *results.Report) { r.Provider.Image = ""; r.Config.Catalog.Image = "" }), nil,
			"the results do not say which image was tested: set catalog.image: ghcr.io/acme/provider-acme"},
		// A results.json written before provider.image existed: the image is inferred
		// from the configuration the run used.
		{"older results: another image", mutate(func(r *results.Report) {
			r.Provider.Image = ""
			r.Config.Catalog.Image = "ghcr.io/evil/provider-acme"
		}), nil, "the results are for image ghcr.io/evil/provider-acme (catalog.image of the configuration the run used), not ghcr.io/acme/provider-acme"},
		{"older results: another tag", mutate(func(r *results.Report) { r.Provider.Image = ""; r.Config.Catalog.Tag = "0.0.9" }), nil,
			"the results are for ghcr.io/acme/provider-acme:0.0.9"},
		{"older results: another container image", mutate(func(r *results.Report) {
			r.Provider.Image = ""
			r.Target.Kind = config.TargetContainer
			r.Config.Target.Image = "ghcr.io/acme/provider-acme:dev"
		}), nil, "the results are for ghcr.io/acme/provider-acme:dev (the container image the suite ran), not tag 0.1.0"},
		{"tutorial dialect", mutate(func(r *results.Report) { r.Provider.Dialect = config.DialectTutorial }), nil, "tutorial dialect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			catalogPath := filepath.Join(t.TempDir(), "catalog.yaml")
			require.NoError(t, os.WriteFile(catalogPath, []byte(fixture), 0o644))
			o := options(t, tc.results, catalogPath)
			if tc.edit != nil {
				tc.edit(&o)
			}
			refused(t, o, tc.want)
		})
	}
}

// An entry the schema rejects comes from bad flags or configuration: a usage error (exit 2).
func TestPublishInvalidEntryIsAUsageError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		results string
		edit    func(*Options)
		want    string
	}{
		{"invalid entry", writeResults(t, passing()), func(o *Options) { o.Maintainer = "not-an-email"; o.License = "Apache 2" },
			"the catalog entry would be invalid"},
		{"invalid entry from config", writeResults(t, func() *results.Report {
			r := passing()
			r.Config.Catalog.Description = ""
			return r
		}()), nil, "/description"},
		{"invalid repo URL", writeResults(t, passing()), func(o *Options) { o.Repo = "github.com/acme/x" }, "/repo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			catalogPath := filepath.Join(t.TempDir(), "catalog.yaml")
			require.NoError(t, os.WriteFile(catalogPath, []byte(fixture), 0o644))
			o := options(t, tc.results, catalogPath)
			if tc.edit != nil {
				tc.edit(&o)
			}
			_, err := Run(context.Background(), o)
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestPublishRefusesToBreakTheCatalog(t *testing.T) {
	for _, tc := range []struct{ name, catalog, want string }{
		{"another entry is invalid", strings.Replace(fixture, `maintainer: "mock@example.com"`, `maintainer: "nobody"`, 1),
			"would not validate against the catalog schema"},
		{"unknown top-level key", fixture + "providers2: x\n", "would not validate"},
		{"not YAML", "providers: [\n", "not valid YAML"},
		{"not a mapping", "- a\n- b\n", "not a YAML mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			catalogPath := filepath.Join(t.TempDir(), "catalog.yaml")
			require.NoError(t, os.WriteFile(catalogPath, []byte(tc.catalog), 0o644))
			refused(t, options(t, writeResults(t, passing()), catalogPath), tc.want)
		})
	}

	twice := strings.Replace(fixture, "\n# Schema information", "  - name: acme\n  - name: acme\n\n# Schema information", 1)
	catalogPath := filepath.Join(t.TempDir(), "catalog.yaml")
	require.NoError(t, os.WriteFile(catalogPath, []byte(twice), 0o644))
	refused(t, options(t, writeResults(t, passing()), catalogPath), `already lists 2 providers named "acme"`)
}

func TestPublishNeedsTheRequiredFlags(t *testing.T) {
	_, err := Run(t.Context(), Options{Name: "acme", Tag: "1"})
	var ue *UsageError
	require.True(t, errors.As(err, &ue))
	assert.EqualError(t, err, "missing --image, --repo, --maintainer, --license")
}

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct{ ref, repo, tag string }{
		{"ghcr.io/a/b", "ghcr.io/a/b", ""},
		{"ghcr.io/a/b:1.2", "ghcr.io/a/b", "1.2"},
		{"localhost:5000/a/b", "localhost:5000/a/b", ""},
		{"localhost:5000/a/b:dev", "localhost:5000/a/b", "dev"},
		{"ghcr.io/a/b@sha256:abc", "ghcr.io/a/b", ""},
	} {
		repo, tag := splitImage(tc.ref)
		assert.Equal(t, [2]string{tc.repo, tc.tag}, [2]string{repo, tag}, tc.ref)
	}
}

// --- submission into a catalog checkout -------------------------------------------------

// isolateGit keeps the machine's and the user's git configuration out of the test.
func isolateGit(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_DIR", "GIT_WORK_TREE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

type repo struct {
	t   *testing.T
	dir string
}

func (r repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=Fixture", "-c", "user.email=fixture@example.com"}, args...)...)
	b, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "git %v: %s", args, b)
	return strings.TrimSpace(string(b))
}

func newCatalogRepo(t *testing.T) repo {
	isolateGit(t)
	r := repo{t: t, dir: t.TempDir()}
	r.git("init", "--quiet", "--initial-branch=main")
	require.NoError(t, os.MkdirAll(filepath.Join(r.dir, "providers"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "providers", "catalog.yaml"), []byte(fixture), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "README.md"), []byte("catalog\n"), 0o644))
	r.git("add", ".")
	r.git("commit", "--quiet", "-m", "catalog")
	return r
}

func TestPublishCommitsOnANewBranch(t *testing.T) {
	r := newCatalogRepo(t)
	// Something unrelated is staged: it must stay out of the submission.
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "README.md"), []byte("edited\n"), 0o644))
	r.git("add", "README.md")

	var out bytes.Buffer
	o := options(t, writeResults(t, passing()), "")
	o.CatalogRepo, o.Out = r.dir, &out
	res, err := Run(t.Context(), o)
	require.NoError(t, err, out.String())

	assert.Equal(t, "add-provider-acme-0.1.0", res.Branch)
	assert.Equal(t, "main", res.Base)
	assert.Equal(t, "add-provider-acme-0.1.0", r.git("rev-parse", "--abbrev-ref", "HEAD"))
	assert.Equal(t, res.Commit, r.git("rev-parse", "HEAD"))
	assert.Equal(t, "providers/badges/acme.svg\nproviders/catalog.yaml", r.git("show", "--name-only", "--format=", "HEAD"))
	assert.Equal(t, "vrtg-provider <vrtg-provider@localhost>|Add provider acme 0.1.0 to the catalog",
		r.git("log", "-1", "--format=%an <%ae>|%s"), "the fallback identity, as none is configured")
	assert.Contains(t, r.git("log", "-1", "--format=%b"), "core pass, snapshot pass, clone skip")
	assert.Equal(t, "M  README.md", r.git("status", "--porcelain"), "the unrelated change is still staged, not committed")
	assert.Equal(t, r.git("rev-parse", "main~0"), r.git("rev-parse", "HEAD~1"), "branched from main")
	require.NoError(t, catalog.ValidateDocument([]byte(r.git("show", "HEAD:providers/catalog.yaml"))))

	require.Len(t, res.Next, 2)
	top, err := filepath.EvalSymlinks(r.dir)
	require.NoError(t, err)
	assert.Equal(t, "git -C "+top+" push -u origin add-provider-acme-0.1.0", res.Next[0])
	assert.Contains(t, res.Next[1], "gh pr create --head add-provider-acme-0.1.0 --base main --title 'Add provider acme 0.1.0 to the catalog'")
	assert.Contains(t, out.String(), res.Next[1])
}

func TestPublishUsesTheConfiguredIdentity(t *testing.T) {
	r := newCatalogRepo(t)
	r.git("config", "user.name", "Ada Maintainer")
	r.git("config", "user.email", "ada@acme.example")
	o := options(t, writeResults(t, passing()), "")
	o.CatalogRepo = r.dir
	_, err := Run(t.Context(), o)
	require.NoError(t, err)
	assert.Equal(t, "Ada Maintainer <ada@acme.example>", r.git("log", "-1", "--format=%an <%ae>"))
}

func TestPublishRefusesWhatWouldSpoilTheSubmission(t *testing.T) {
	t.Run("existing branch", func(t *testing.T) {
		r := newCatalogRepo(t)
		r.git("branch", "add-provider-acme-0.1.0")
		o := options(t, writeResults(t, passing()), "")
		o.CatalogRepo = r.dir
		o.Catalog = filepath.Join(r.dir, DefaultCatalogInRepo)
		refused(t, o, "branch add-provider-acme-0.1.0 already exists")
		assert.Equal(t, "main", r.git("rev-parse", "--abbrev-ref", "HEAD"))
	})
	t.Run("uncommitted catalog edits", func(t *testing.T) {
		r := newCatalogRepo(t)
		path := filepath.Join(r.dir, DefaultCatalogInRepo)
		require.NoError(t, os.WriteFile(path, []byte(fixture+"# local edit\n"), 0o644))
		o := options(t, writeResults(t, passing()), path)
		o.CatalogRepo = r.dir
		refused(t, o, "uncommitted changes in the catalog checkout")
		assert.Equal(t, "main", r.git("rev-parse", "--abbrev-ref", "HEAD"))
	})
	t.Run("invalid branch name", func(t *testing.T) {
		r := newCatalogRepo(t)
		o := options(t, writeResults(t, passing()), filepath.Join(r.dir, DefaultCatalogInRepo))
		o.CatalogRepo, o.Tag = r.dir, "1.0.lock"
		refused(t, o, `"add-provider-acme-1.0.lock" is not a valid branch name`)
	})
	t.Run("not a checkout", func(t *testing.T) {
		isolateGit(t)
		o := options(t, writeResults(t, passing()), "")
		o.CatalogRepo = t.TempDir()
		_, err := Run(t.Context(), o)
		var ue *UsageError
		require.ErrorAs(t, err, &ue)
		assert.ErrorContains(t, err, "is not a git checkout")
	})
	t.Run("catalog outside the checkout", func(t *testing.T) {
		r := newCatalogRepo(t)
		o := options(t, writeResults(t, passing()), filepath.Join(t.TempDir(), "catalog.yaml"))
		o.CatalogRepo = r.dir
		_, err := Run(t.Context(), o)
		assert.ErrorContains(t, err, "is outside the catalog checkout")
	})
}
