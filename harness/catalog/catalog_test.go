package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
)

func fullReport() *results.Report {
	r := &results.Report{
		APIVersion: results.APIVersion,
		Provider:   results.Provider{Name: "file", Capabilities: &results.Capabilities{Snapshots: true, Clones: false}},
		FinishedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600)),
		Verdict:    results.VerdictPartial,
		Profiles: []results.Profile{
			{Name: "core", Verdict: results.VerdictPartial},
			{Name: "snapshot", Verdict: results.VerdictPass},
			{Name: "clone", Verdict: results.VerdictSkip},
		},
	}
	r.Config.Catalog = config.Catalog{
		Description: "File-based provider", Repo: "https://github.com/example/provider-file",
		Image: "ghcr.io/example/provider-file", Tag: "0.1.0", Maintainer: "dev@example.com",
		License: "Apache-2.0", Maturity: "beta", Tags: []string{"file", "testing"},
		Documentation: "https://example.com/docs", ReportURL: "https://example.com/actions/1",
	}
	return r
}

func TestFromReportUsesOnlyTheResults(t *testing.T) {
	e := FromReport(fullReport())
	require.NoError(t, Validate(e))
	assert.Equal(t, "file", e.Name)
	assert.Equal(t, "File Provider", e.DisplayName)
	assert.Equal(t, []string{"core", "snapshot"}, e.Capabilities, "capabilities as read on the wire")
	assert.Equal(t, map[string]string{"core": "partial", "snapshot": "pass", "clone": "skip"}, e.Conformance.Profiles)
	assert.Equal(t, "2026-03-04T04:06:07Z", e.Conformance.LastTested, "UTC, RFC 3339")
	assert.Equal(t, "https://img.shields.io/badge/conformance-partial-yellow", e.Conformance.BadgeURL)
	assert.Equal(t, "https://example.com/actions/1", e.Conformance.ReportURL)

	// Same entry from the report read back from results.json.
	b, err := fullReport().Marshal()
	require.NoError(t, err)
	back, err := results.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, e, FromReport(back))
}

func TestProfilesNotRunAreSkip(t *testing.T) {
	r := fullReport()
	r.Profiles = r.Profiles[:1]
	r.Provider.Capabilities = nil // GetCapabilities failed
	e := FromReport(r)
	assert.Equal(t, map[string]string{"core": "partial", "snapshot": "skip", "clone": "skip"}, e.Conformance.Profiles)
	assert.Equal(t, []string{"core"}, e.Capabilities)
}

func TestValidateListsEveryProblem(t *testing.T) {
	r := fullReport()
	r.Config.Catalog = config.Catalog{}
	err := Validate(FromReport(r))
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	joined := strings.Join(ve.Problems, "\n")
	for _, field := range []string{"/description", "/repo", "/image", "/tag", "/maintainer", "/license", "/maturity"} {
		assert.Contains(t, joined, field)
	}
	assert.NotContains(t, joined, "/displayName", "derived from the name")
}

func TestSchemaRejectsBadValues(t *testing.T) {
	for name, edit := range map[string]func(*Entry){
		"name with capitals":     func(e *Entry) { e.Name = "File" },
		"capability unknown":     func(e *Entry) { e.Capabilities = append(e.Capabilities, "teleport") },
		"capabilities lack core": func(e *Entry) { e.Capabilities = []string{"snapshot"} },
		"verdict unknown":        func(e *Entry) { e.Conformance.Profiles["core"] = "green" },
		"profile unknown":        func(e *Entry) { e.Conformance.Profiles["gpu"] = "pass" },
		"core verdict missing":   func(e *Entry) { delete(e.Conformance.Profiles, "core") },
		"bad email":              func(e *Entry) { e.Maintainer = "not-an-email" },
		"bad license":            func(e *Entry) { e.License = "Apache 2" },
		"bad maturity":           func(e *Entry) { e.Maturity = "ga" },
		"image with tag":         func(e *Entry) { e.Image = "ghcr.io/x/y:1.0" },
		"bad timestamp":          func(e *Entry) { e.Conformance.LastTested = "yesterday" },
		"repo not a URL":         func(e *Entry) { e.Repo = "github.com/x/y" },
	} {
		t.Run(name, func(t *testing.T) {
			e := FromReport(fullReport())
			edit(&e)
			assert.Error(t, Validate(e))
		})
	}
}

func TestValidateDocumentInTheCatalogFormat(t *testing.T) {
	entry, err := MarshalYAML(FromReport(fullReport()))
	require.NoError(t, err)
	var items []any
	require.NoError(t, yaml.Unmarshal(entry, &items))
	doc := map[string]any{
		"metadata":  map[string]any{"version": "v1", "lastUpdated": "2026-03-04T05:06:07Z", "description": "providers"},
		"providers": items,
		"schema":    map[string]any{"version": "v1", "fields": map[string]any{}},
	}
	b, err := yaml.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, ValidateDocument(b), "an entry written by vcts fits a catalog file")

	doc["extra"] = true
	b, _ = yaml.Marshal(doc)
	assert.Error(t, ValidateDocument(b))
	assert.ErrorContains(t, ValidateDocument([]byte("providers: [")), "not valid YAML")
}

func TestMarshalYAMLKeepsCatalogKeyOrderAndFlagsIncompleteEntries(t *testing.T) {
	b, err := MarshalYAML(FromReport(fullReport()))
	require.NoError(t, err)
	s := string(b)
	assert.NotContains(t, s, "NOT YET VALID")
	assert.Less(t, strings.Index(s, "- name: file"), strings.Index(s, "displayName:"), "name first, as in the catalog")
	assert.Less(t, strings.Index(s, "capabilities:"), strings.Index(s, "maintainer:"))

	r := fullReport()
	r.Config.Catalog.Maintainer = ""
	b, err = MarshalYAML(FromReport(r))
	require.NoError(t, err)
	assert.Contains(t, string(b), "# NOT YET VALID")
	assert.Contains(t, string(b), "/maintainer")
	var back []Entry
	require.NoError(t, yaml.Unmarshal(b, &back), "still a YAML list")
	assert.Equal(t, "file", back[0].Name)
}

func TestSchemaIsEmbeddedAndValidJSON(t *testing.T) {
	var v map[string]any
	require.NoError(t, json.Unmarshal(Schema(), &v))
	assert.Equal(t, SchemaID, v["$id"])
}
