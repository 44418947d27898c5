package results

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var reqs = []RequirementInfo{
	{ID: "CORE-001", Profile: "core", Rule: "capabilities"},
	{ID: "CORE-002", Profile: "core", Rule: "validate"},
	{ID: "CORE-010", Profile: "core", Rule: "outline"},
	{ID: "SNAP-001", Profile: "snapshot", Rule: "snapshot"},
	{ID: "CLONE-001", Profile: "clone", Rule: "clone"},
}

func sc(id, profile string, st Status, reason string) Scenario {
	return Scenario{Requirement: id, Profile: profile, Name: id + " scenario", Status: st, Reason: reason, Duration: 10 * time.Millisecond}
}

func allPassed() []Scenario {
	return []Scenario{
		sc("CORE-001", "core", Passed, ""),
		sc("CORE-002", "core", Passed, ""),
		sc("SNAP-001", "snapshot", Passed, ""),
		sc("CLONE-001", "clone", Passed, ""),
	}
}

func plan(n int) Plan {
	return Plan{Profiles: []string{"core", "snapshot", "clone"}, SkipReasons: map[string]string{}, Selected: n}
}

// evaluate judges scs against the requirements they cover: every requirement counts as
// selected. TestNarrowedSelectionIsPartial covers the rest.
func evaluate(scs []Scenario, p Plan) *Report {
	var covered []RequirementInfo
	for _, q := range reqs {
		for _, s := range scs {
			if s.Requirement == q.ID {
				covered = append(covered, q)
				break
			}
		}
	}
	r := &Report{}
	Evaluate(r, covered, scs, p)
	return r
}

func TestNarrowedSelectionIsPartial(t *testing.T) {
	// --tags @CORE-001 against every profile: one requirement ran and passed.
	r := &Report{}
	Evaluate(r, reqs, []Scenario{sc("CORE-001", "core", Passed, "")}, plan(1))
	assert.Equal(t, VerdictPartial, r.Verdict, "a run narrowed by tags is never a green pass")
	assert.Equal(t, "core=partial snapshot=partial clone=partial", verdicts(r))
	core, _ := r.Profile("core")
	assert.Equal(t, 2, core.NotSelected)
	assert.Equal(t, "2 requirements not selected (--tags)", core.Reason)
	q := find(t, r, "CORE-010")
	assert.Equal(t, Skipped, q.Status)
	assert.Equal(t, NotSelectedReason, q.Reason)
	assert.Equal(t, "outline", q.Rule, "a requirement that did not run is still described")
	require.Len(t, r.Requirements, 5, "every requirement of a selected profile is listed")

	// A profile the provider does not offer lists nothing as not selected: it is skipped whole.
	p := plan(1)
	p.SkipReasons["snapshot"] = "not offered"
	p.SkipReasons["clone"] = "not offered"
	r = &Report{}
	Evaluate(r, reqs, []Scenario{sc("CORE-001", "core", Passed, ""), sc("CORE-002", "core", Passed, ""), sc("CORE-010", "core", Passed, "")}, Plan{
		Profiles: p.Profiles, SkipReasons: p.SkipReasons, Selected: 3})
	assert.Equal(t, VerdictPass, r.Verdict)
	assert.Equal(t, "core=pass snapshot=skip clone=skip", verdicts(r))
}

func TestCoreNotSelectedIsPartial(t *testing.T) {
	r := &Report{}
	Evaluate(r, reqs, []Scenario{sc("SNAP-001", "snapshot", Passed, "")}, Plan{Profiles: []string{"snapshot"}, SkipReasons: map[string]string{}, Selected: 1})
	assert.Equal(t, VerdictPartial, r.Verdict, "without the core profile a provider is not conformant")
	assert.Equal(t, "core=partial snapshot=pass", verdicts(r))
	assert.Equal(t, 3, r.ExitCode())
}

func verdicts(r *Report) string {
	var parts []string
	for _, p := range r.Profiles {
		parts = append(parts, p.Name+"="+string(p.Verdict))
	}
	return strings.Join(parts, " ")
}

func TestPassWhenEverythingRanAndPassed(t *testing.T) {
	r := evaluate(allPassed(), plan(4))
	assert.Equal(t, VerdictPass, r.Verdict)
	assert.Equal(t, "core=pass snapshot=pass clone=pass", verdicts(r))
	assert.Empty(t, r.Problems)
	assert.Equal(t, 0, r.ExitCode())
	require.Len(t, r.Requirements, 4)
	assert.Equal(t, "capabilities", r.Requirements[0].Rule, "rules come from the spec")
}

func TestSkippedCoreRequirementMakesTheRunPartial(t *testing.T) {
	scs := allPassed()
	scs[1] = sc("CORE-002", "core", Skipped, "dialect tutorial cannot express validate")
	r := evaluate(scs, plan(4))
	assert.Equal(t, VerdictPartial, r.Verdict, "a skipped core requirement is never a green pass")
	assert.Equal(t, "core=partial snapshot=pass clone=pass", verdicts(r))
	assert.Equal(t, 3, r.ExitCode())
	q := find(t, r, "CORE-002")
	assert.Equal(t, Skipped, q.Status)
	assert.Equal(t, "dialect tutorial cannot express validate", q.Reason)
}

func TestUnofferedProfileIsSkippedNotFailed(t *testing.T) {
	scs := allPassed()
	scs[2] = sc("SNAP-001", "snapshot", Skipped, "profile snapshot skipped: not offered")
	p := plan(4)
	p.SkipReasons["snapshot"] = "the provider does not offer snapshots"
	r := evaluate(scs, p)
	assert.Equal(t, VerdictPass, r.Verdict, "a provider is conformant to the profiles it offers")
	assert.Equal(t, "core=pass snapshot=skip clone=pass", verdicts(r))
	sp, ok := r.Profile("snapshot")
	require.True(t, ok)
	assert.Equal(t, "the provider does not offer snapshots", sp.Reason)
	assert.Equal(t, 1, sp.Skipped)
}

func TestAnyFailureFails(t *testing.T) {
	scs := allPassed()
	scs[3] = sc("CLONE-001", "clone", Failed, "expected NotFound, got OK")
	r := evaluate(scs, plan(4))
	assert.Equal(t, VerdictFail, r.Verdict)
	assert.Equal(t, "core=pass snapshot=pass clone=fail", verdicts(r))
	assert.Equal(t, 1, r.ExitCode())
	cp, _ := r.Profile("clone")
	assert.Equal(t, "1 scenario failed", cp.Reason)
}

func TestZeroScenariosFail(t *testing.T) {
	r := evaluate(nil, plan(0))
	assert.Equal(t, VerdictFail, r.Verdict)
	assert.Contains(t, r.Problems, "no scenario was selected: check --profile and --tags")

	// Selected, but every one of them skipped: nothing ran.
	scs := []Scenario{sc("SNAP-001", "snapshot", Skipped, "not offered")}
	p := Plan{Profiles: []string{"snapshot"}, SkipReasons: map[string]string{"snapshot": "not offered"}, Selected: 1}
	r = evaluate(scs, p)
	assert.Equal(t, VerdictFail, r.Verdict)
	assert.Equal(t, "no scenario ran: all 1 selected scenarios were skipped (profile snapshot: not offered)", r.Problems[0],
		"the reason the profile was skipped, not a bare failure")
}

func TestAbortedRunReportsOnlyWhyItStopped(t *testing.T) {
	p := plan(64)
	p.Aborted = true
	p.SkipReasons["clone"] = "the provider does not offer clones"
	r := &Report{Problems: []string{"endpoint target: provider at 127.0.0.1:1 not SERVING"}}
	Evaluate(r, nil, nil, p)
	assert.Equal(t, VerdictFail, r.Verdict)
	assert.Equal(t, []string{"endpoint target: provider at 127.0.0.1:1 not SERVING"}, r.Problems,
		"the scenario counts of a run that never started only confuse")
	core, _ := r.Profile("core")
	assert.Equal(t, VerdictFail, core.Verdict, "a profile that never ran is not a skip")
	assert.Contains(t, core.Reason, "not run")
	clone, _ := r.Profile("clone")
	assert.Equal(t, VerdictSkip, clone.Verdict)

	// Aborted without a recorded problem still fails.
	r = &Report{}
	Evaluate(r, nil, nil, p)
	assert.Equal(t, VerdictFail, r.Verdict)
	assert.NotEmpty(t, r.Problems)
}

func TestUnrecordedScenariosFail(t *testing.T) {
	r := evaluate(allPassed(), plan(5))
	assert.Equal(t, VerdictFail, r.Verdict)
	assert.Equal(t, []string{"5 scenarios were selected but 4 recorded a result"}, r.Problems)
}

func TestRunnerProblemsFail(t *testing.T) {
	r := &Report{Problems: []string{"the run was interrupted"}}
	Evaluate(r, reqs, allPassed(), plan(4))
	assert.Equal(t, VerdictFail, r.Verdict)
}

func TestKnownFailingThatFailsIsExpected(t *testing.T) {
	scs := allPassed()
	scs[3] = sc("CLONE-001", "clone", Failed, "clone ignores the override")
	p := plan(4)
	p.KnownFailing = []string{"CLONE-001"}
	r := evaluate(scs, p)
	assert.Equal(t, VerdictPartial, r.Verdict, "expected failures are not a pass either")
	assert.Equal(t, "core=pass snapshot=pass clone=partial", verdicts(r))
	q := find(t, r, "CLONE-001")
	assert.Equal(t, KnownFailing, q.Status)
	assert.Equal(t, "clone ignores the override", q.Reason)
	assert.Equal(t, KnownFailing, r.Scenarios[3].Status)
	assert.Equal(t, []string{"CLONE-001"}, r.KnownFailing)
}

func TestKnownFailingThatPassesIsStale(t *testing.T) {
	p := plan(4)
	p.KnownFailing = []string{"CORE-001"}
	r := evaluate(allPassed(), p)
	assert.Equal(t, VerdictFail, r.Verdict)
	q := find(t, r, "CORE-001")
	assert.Equal(t, StaleKnownFailing, q.Status)
	assert.Contains(t, q.Reason, "configuration is stale")
	cp, _ := r.Profile("core")
	assert.Equal(t, 1, cp.Stale)
	assert.Contains(t, cp.Reason, "stale")
}

func TestKnownFlaky(t *testing.T) {
	// A flaky requirement that failed this time: reported, and the run is partial, not failed.
	scs := allPassed()
	scs[3] = sc("CLONE-001", "clone", Failed, "timed out")
	p := plan(4)
	p.KnownFlaky = []string{"CLONE-001"}
	r := evaluate(scs, p)
	assert.Equal(t, VerdictPartial, r.Verdict, "a flaky failure is not a pass")
	q := find(t, r, "CLONE-001")
	assert.Equal(t, KnownFailing, q.Status)
	assert.Equal(t, FlakyPrefix+"timed out", q.Reason)
	assert.Equal(t, []string{"CLONE-001"}, r.KnownFlaky)

	// The same requirement passing: a plain pass, never stale.
	r = evaluate(allPassed(), p)
	assert.Equal(t, VerdictPass, r.Verdict)
	assert.Equal(t, Passed, find(t, r, "CLONE-001").Status)
}

func TestKnownFailingThatIsSkippedStaysSkipped(t *testing.T) {
	scs := allPassed()
	scs[1] = sc("CORE-002", "core", Skipped, "cannot express")
	p := plan(4)
	p.KnownFailing = []string{"CORE-002"}
	r := evaluate(scs, p)
	assert.Equal(t, Skipped, find(t, r, "CORE-002").Status, "a skip proves neither failing nor passing")
}

func TestOutlineExamplesAggregate(t *testing.T) {
	ex := func(i int, st Status, reason string) Scenario {
		s := sc("CORE-010", "core", st, reason)
		s.Name = fmt.Sprintf("outline [n=%d]", i)
		return s
	}
	base := allPassed()

	r := evaluate(append(base, ex(1, Passed, ""), ex(2, Passed, "")), plan(6))
	q := find(t, r, "CORE-010")
	assert.Equal(t, Passed, q.Status)
	assert.Equal(t, 2, q.Scenarios)
	assert.Equal(t, 20*time.Millisecond, q.Duration)

	r = evaluate(append(allPassed(), ex(1, Passed, ""), ex(2, Failed, "boom")), plan(6))
	q = find(t, r, "CORE-010")
	assert.Equal(t, Failed, q.Status)
	assert.Equal(t, "outline [n=2]: boom", q.Reason, "the failing example is named")

	r = evaluate(append(allPassed(), ex(1, Passed, ""), ex(2, Skipped, "no tasks")), plan(6))
	q = find(t, r, "CORE-010")
	assert.Equal(t, Passed, q.Status)
	assert.Contains(t, q.Reason, "1 of 2 examples skipped")
	assert.Equal(t, VerdictPartial, r.Verdict, "the skipped example still shows in the verdict")

	r = evaluate(append(allPassed(), ex(1, Skipped, "no tasks"), ex(2, Skipped, "no tasks")), plan(6))
	q = find(t, r, "CORE-010")
	assert.Equal(t, Skipped, q.Status)
	assert.Equal(t, "no tasks", q.Reason, "one shared reason is said once")

	r = evaluate(append(allPassed(), ex(1, Failed, "a"), ex(2, Failed, "b")), plan(6))
	assert.Equal(t, "outline [n=1]: a\noutline [n=2]: b", find(t, r, "CORE-010").Reason)

	// One known-failing example failing, the other passing: the requirement is known
	// failing, the passing example is not stale.
	p := plan(6)
	p.KnownFailing = []string{"CORE-010"}
	r = evaluate(append(allPassed(), ex(1, Passed, ""), ex(2, Failed, "boom")), p)
	assert.Equal(t, KnownFailing, find(t, r, "CORE-010").Status)
	assert.Equal(t, VerdictPartial, r.Verdict)
}

func TestRequirementsAreOrderedBySpec(t *testing.T) {
	scs := []Scenario{
		sc("CLONE-001", "clone", Passed, ""), sc("SNAP-001", "snapshot", Passed, ""),
		sc("CORE-010", "core", Passed, ""), sc("CORE-002", "core", Passed, ""),
	}
	r := evaluate(scs, plan(4))
	var ids []string
	for _, q := range r.Requirements {
		ids = append(ids, q.ID)
	}
	assert.Equal(t, []string{"CORE-002", "CORE-010", "SNAP-001", "CLONE-001"}, ids)
}

func TestExitCodes(t *testing.T) {
	for v, code := range map[Verdict]int{VerdictPass: 0, VerdictPartial: 3, VerdictFail: 1, "": 1} {
		assert.Equal(t, code, (&Report{Verdict: v}).ExitCode(), v)
	}
}

func find(t *testing.T, r *Report, id string) Requirement {
	t.Helper()
	for _, q := range r.Requirements {
		if q.ID == id {
			return q
		}
	}
	t.Fatalf("no requirement %s", id)
	return Requirement{}
}
