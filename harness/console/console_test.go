package console

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/vctsio/vcts/harness/results"
)

func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := Progress(&b)
	p(results.Scenario{Requirement: "CORE-001", Name: "caps", Status: results.Passed, Duration: 12 * time.Millisecond})
	p(results.Scenario{Requirement: "CORE-002", Name: "validate", Status: results.Failed, Reason: "expected ok\nmore detail"})
	p(results.Scenario{Requirement: "SNAP-001", Profile: "snapshot", Name: "snap", Status: results.Skipped, Reason: "profile snapshot skipped: not offered"})
	p(results.Scenario{Requirement: "SNAP-002", Profile: "snapshot", Name: "snap2", Status: results.Skipped, Reason: "profile snapshot skipped: not offered"})
	p(results.Scenario{Requirement: "CORE-003", Profile: "core", Name: "tasks", Status: results.Skipped, Reason: "dialect tutorial cannot express tasks"})
	assert.Equal(t, "✓ CORE-001 caps (12ms)\n✗ CORE-002 validate — expected ok\n⏭ profile snapshot skipped: not offered\n"+
		"⏭ CORE-003 tasks — dialect tutorial cannot express tasks\n", b.String(), "a profile skipped as a whole is one line")
}

func sampleReport(v results.Verdict) *results.Report {
	r := &results.Report{Verdict: v, Timings: &results.Timings{Suite: 800 * time.Millisecond}}
	r.Profiles = []results.Profile{
		{Name: "core", Verdict: results.VerdictFail, Reason: "1 scenario failed"},
		{Name: "snapshot", Verdict: results.VerdictSkip, Reason: "the provider does not offer snapshots"},
	}
	r.Requirements = []results.Requirement{
		{ID: "CORE-001", Profile: "core", Rule: "capabilities", Status: results.Passed},
		{ID: "CORE-002", Profile: "core", Rule: "validate", Status: results.Failed, Reason: "line one\nline two"},
		{ID: "CORE-003", Profile: "core", Rule: "tasks", Status: results.Skipped, Reason: "dialect cannot express tasks"},
		{ID: "SNAP-001", Profile: "snapshot", Rule: "snap", Status: results.Skipped, Reason: "not offered"},
	}
	return r
}

func TestSummaryIsHonest(t *testing.T) {
	var b bytes.Buffer
	r := sampleReport(results.VerdictFail)
	r.Profiles[0].Failed = 1
	Summary(&b, r)
	out := b.String()
	for _, want := range []string{
		"❌ Core Profile Tests (1 scenario failed)",
		"  ✅ CORE-001 capabilities",
		"  ❌ CORE-002 validate\n      line one\n      line two",
		"  ⏭ CORE-003 tasks — skipped: dialect cannot express tasks",
		"⏭ Snapshot Profile Tests — skipped: the provider does not offer snapshots",
		"❌ Not conformant: 1 scenario(s) failed.",
		"⏱  scenarios 800ms",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "SNAP-001", "a skipped profile is one line, not a list")
	assert.NotContains(t, out, "🎉")

	b.Reset()
	Summary(&b, &results.Report{Verdict: results.VerdictPass, Profiles: []results.Profile{{Name: "core", Verdict: results.VerdictPass}}})
	assert.True(t, strings.HasSuffix(b.String(), "🎉 All tests passed! Provider is conformant.\n"))
}
