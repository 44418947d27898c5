package results

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vctsio/vcts/harness/config"
)

func sampleReport(t *testing.T) *Report {
	cfg := config.Default()
	require.NoError(t, cfg.Finalize(""))
	r := &Report{
		APIVersion:   APIVersion,
		Suite:        Suite{Name: "vcts", Version: "v1.2.3", SpecVersion: "1.0.0", GoVersion: "go1.26"},
		RunID:        "vcts-abc123",
		Provider:     Provider{Name: "file", Image: "ghcr.io/x/provider-file:v1.2.3", Version: "v1.2.3", Endpoint: "127.0.0.1:1", Dialect: "v1", Capabilities: &Capabilities{Snapshots: true, Raw: "raw"}},
		Target:       Target{Kind: "process", Mode: "binary", Detail: "bin/provider-file"},
		StartedAt:    time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		FinishedAt:   time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Config:       cfg,
		ProviderLogs: "line 1\nline <2>\n",
	}
	scs := allPassed()
	scs[0].Tags = []string{"@core", "@CORE-001"}
	scs[0].Started = time.Date(2026, 1, 2, 3, 4, 5, 7, time.UTC)
	Evaluate(r, reqs, scs, plan(4))
	return r
}

func TestResultsJSONRoundTrips(t *testing.T) {
	r := sampleReport(t)
	b, err := r.Marshal()
	require.NoError(t, err)
	back, err := Decode(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, r, back)
	b2, err := back.Marshal()
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2), "stable encoding")
	assert.Contains(t, string(b), `"image": "ghcr.io/x/provider-file:v1.2.3"`)
	assert.Contains(t, string(b), `"version": "v1.2.3"`)
}

func TestImageAndVersionAreAdditive(t *testing.T) {
	// A results.json written before provider.image and provider.version existed still
	// reads, with both empty; and a report without them does not write the keys.
	old := `{"apiVersion":"vcts.dev/results/v1","provider":{"name":"file","dialect":"v1","tls":false},"verdict":"pass"}`
	r, err := Decode(strings.NewReader(old))
	require.NoError(t, err)
	assert.Equal(t, "file", r.Provider.Name)
	assert.Empty(t, r.Provider.Image)
	assert.Empty(t, r.Provider.Version)
	b, err := r.Marshal()
	require.NoError(t, err)
	var doc struct {
		Provider map[string]any `json:"provider"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.NotContains(t, doc.Provider, "image")
	assert.NotContains(t, doc.Provider, "version")
}

func TestDecodeChecksTheSchema(t *testing.T) {
	_, err := Decode(strings.NewReader(`{"apiVersion":"vcts.dev/results/v2"}`))
	assert.ErrorContains(t, err, `unsupported results apiVersion "vcts.dev/results/v2"`)
	_, err = Decode(strings.NewReader(`not json`))
	assert.ErrorContains(t, err, "not a results.json")
	// v1 grows additively: unknown keys are ignored.
	r, err := Decode(strings.NewReader(`{"apiVersion":"vcts.dev/results/v1","verdict":"pass","futureKey":{"x":1}}`))
	require.NoError(t, err)
	assert.Equal(t, VerdictPass, r.Verdict)
}

func TestCollectorListenersSeeEveryScenarioInOrder(t *testing.T) {
	var c Collector
	var seen []string
	c.OnAdd(func(s Scenario) {
		seen = append(seen, s.Requirement)
		_ = c.Scenarios() // a listener may read the collector without deadlocking
	})
	done := make(chan struct{})
	for i := range 20 {
		go func() {
			c.Add(Scenario{Requirement: string(rune('a' + i))})
			done <- struct{}{}
		}()
	}
	for range 20 {
		<-done
	}
	got := c.Scenarios()
	require.Len(t, got, 20)
	require.Len(t, seen, 20)
	for i := range got {
		assert.Equal(t, got[i].Requirement, seen[i], "listeners see the recording order")
	}
}
