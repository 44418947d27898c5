package results

import (
	"github.com/vctsio/vcts/harness/config"

	"fmt"
	"sort"
	"strings"
	"time"
)

// RequirementInfo describes one requirement of the specification (from the feature files).
type RequirementInfo struct {
	ID, Profile, Feature, Rule, Description string
}

// Plan is what the run set out to do, against which the recorded scenarios are judged.
type Plan struct {
	// Profiles are the selected profiles, in report order.
	Profiles []string
	// SkipReasons maps a selected profile that does not run to the reason why.
	SkipReasons map[string]string
	// KnownFailing lists requirement IDs that must fail.
	KnownFailing []string
	// KnownFlaky lists requirement IDs that may fail: a failure counts as known-failing (the
	// profile is partial), a pass as a pass.
	KnownFlaky []string
	// Selected is how many scenarios the tag selection matched; negative means unknown.
	Selected int
	// Aborted says the run stopped before any scenario could start (the provider never
	// became reachable, for instance); the runner has recorded why among the problems,
	// so the scenario counts add nothing.
	Aborted bool
}

// FlakyPrefix starts the reason of a known-flaky requirement that failed.
const FlakyPrefix = "known flaky, failed this run: "

// KnownFailingText is how a known-failing requirement's reason reads in a summary: a
// known-flaky failure says so itself, any other is marked as known to fail.
func KnownFailingText(reason string) string {
	if strings.HasPrefix(reason, FlakyPrefix) {
		return reason
	}
	return "known failing: " + reason
}

// NotSelectedReason is the reason of a requirement of a selected profile that the tag
// selection left out.
const NotSelectedReason = "not selected: the tag selection (--tags) left it out, so it did not run"

// coreNotSelectedReason is the core profile's reason when the run did not select it: a
// provider is conformant only with the core profile.
const coreNotSelectedReason = "not run: the core profile was not selected (--profile); conformance needs it"

// abortedReason is the verdict reason of a profile whose scenarios never got to run.
const abortedReason = "not run: the run stopped before any scenario started"

// StaleReason is the reason of a known-failing requirement that passed.
const StaleReason = "listed as known-failing but passed: configuration is stale (remove it from the known-failing file)"

// Evaluate derives requirement results, profile verdicts and the run verdict from the
// recorded scenarios and stores them, with the scenarios, in r. Problems already in r
// (set by the runner) make the run fail too. Provider-supplied text (reasons, logs) is
// cleaned here, once, so every renderer gets the same text from r as from its JSON.
func Evaluate(r *Report, reqs []RequirementInfo, scenarios []Scenario, plan Plan) {
	info := map[string]RequirementInfo{}
	for _, q := range reqs {
		info[q.ID] = q
	}
	known := map[string]bool{}
	for _, id := range plan.KnownFailing {
		known[id] = true
	}
	r.KnownFailing = append([]string(nil), plan.KnownFailing...)
	r.KnownFlaky = append([]string(nil), plan.KnownFlaky...)
	flaky := map[string]bool{}
	for _, id := range plan.KnownFlaky {
		flaky[id] = true
	}

	scenarios = append([]Scenario(nil), scenarios...)
	for i := range scenarios {
		s := &scenarios[i]
		s.Name, s.Reason, s.Feature = CleanText(s.Name), CleanText(s.Reason), CleanText(s.Feature)
	}
	for i, p := range r.Problems {
		r.Problems[i] = CleanText(p)
	}
	for i, n := range r.Notes {
		r.Notes[i] = CleanText(n)
	}
	r.ProviderLogs = CleanText(r.ProviderLogs)
	byReq := map[string][]int{}
	var order []string
	for i, s := range scenarios {
		if _, seen := byReq[s.Requirement]; !seen {
			order = append(order, s.Requirement)
		}
		byReq[s.Requirement] = append(byReq[s.Requirement], i)
	}
	sort.SliceStable(order, func(a, b int) bool { return requirementLess(order[a], order[b]) })

	// A requirement of a selected profile without any scenario was left out by the tag
	// selection: it is listed, as skipped, and keeps its profile from passing.
	notSelected := map[string]int{}
	for _, q := range reqs {
		if _, ran := byReq[q.ID]; ran || !contains(plan.Profiles, q.Profile) || plan.SkipReasons[q.Profile] != "" || plan.Aborted {
			continue
		}
		notSelected[q.Profile]++
		order = append(order, q.ID)
	}
	sort.SliceStable(order, func(a, b int) bool { return requirementLess(order[a], order[b]) })

	r.Requirements = r.Requirements[:0]
	for _, id := range order {
		if _, ran := byReq[id]; !ran {
			q := info[id]
			r.Requirements = append(r.Requirements, Requirement{ID: id, Profile: q.Profile, Feature: q.Feature, Rule: q.Rule,
				Description: q.Description, Status: Skipped, Reason: NotSelectedReason})
			continue
		}
		idx := byReq[id]
		if known[id] {
			applyKnownFailing(scenarios, idx)
		}
		if flaky[id] {
			for _, i := range idx {
				if s := &scenarios[i]; s.Status == Failed {
					s.Status, s.Reason = KnownFailing, FlakyPrefix+s.Reason
				}
			}
		}
		q := info[id]
		req := Requirement{ID: id, Profile: q.Profile, Feature: q.Feature, Rule: q.Rule, Description: q.Description, Scenarios: len(idx)}
		if id == "" {
			req.ID = "(untagged)"
		}
		if req.Profile == "" {
			req.Profile = scenarios[idx[0]].Profile
		}
		if req.Feature == "" {
			req.Feature = scenarios[idx[0]].Feature
		}
		if req.Rule == "" {
			req.Rule = scenarios[idx[0]].Name
		}
		req.Status, req.Reason = aggregate(scenarios, idx)
		for _, i := range idx {
			req.Duration += scenarios[i].Duration
		}
		r.Requirements = append(r.Requirements, req)
	}
	r.Scenarios = scenarios

	profiles := append([]string(nil), plan.Profiles...)
	for _, s := range scenarios {
		if !contains(profiles, s.Profile) {
			profiles = append(profiles, s.Profile)
		}
	}
	r.Profiles = r.Profiles[:0]
	executed := 0
	for _, name := range profiles {
		p := Profile{Name: name}
		for _, s := range scenarios {
			if s.Profile != name {
				continue
			}
			switch s.Status {
			case Passed:
				p.Passed++
			case Failed:
				p.Failed++
			case Skipped:
				p.Skipped++
			case KnownFailing:
				p.KnownFailing++
			case StaleKnownFailing:
				p.Stale++
			}
		}
		executed += p.Passed + p.Failed + p.KnownFailing + p.Stale
		p.NotSelected = notSelected[name]
		p.Verdict, p.Reason = profileVerdict(p, plan.SkipReasons[name])
		if plan.Aborted && p.Verdict == VerdictSkip && plan.SkipReasons[name] == "" {
			p.Verdict, p.Reason = VerdictFail, abortedReason
		}
		r.Profiles = append(r.Profiles, p)
	}
	if len(plan.Profiles) > 0 && !contains(profiles, config.ProfileCore) {
		r.Profiles = append([]Profile{{Name: config.ProfileCore, Verdict: VerdictPartial, Reason: coreNotSelectedReason}}, r.Profiles...)
	}

	if plan.Aborted {
		if len(r.Problems) == 0 {
			r.Problems = append(r.Problems, abortedReason)
		}
		r.Verdict = runVerdict(r)
		return
	}
	if plan.Selected >= 0 && plan.Selected != len(scenarios) {
		r.Problems = append(r.Problems, fmt.Sprintf("%d scenarios were selected but %d recorded a result", plan.Selected, len(scenarios)))
	}
	if executed == 0 && len(r.Problems) == 0 { // a run that already failed (interrupted, ...) needs no second reason
		if len(scenarios) == 0 {
			r.Problems = append(r.Problems, "no scenario was selected: check --profile and --tags")
		} else {
			why := ""
			var skipped []string
			for _, name := range plan.Profiles {
				if reason := plan.SkipReasons[name]; reason != "" {
					skipped = append(skipped, "profile "+name+": "+reason)
				}
			}
			if len(skipped) > 0 {
				why = " (" + strings.Join(skipped, "; ") + ")"
			}
			r.Problems = append(r.Problems, fmt.Sprintf("no scenario ran: all %d selected scenarios were skipped%s", len(scenarios), why))
		}
	}
	r.Verdict = runVerdict(r)
}

func applyKnownFailing(scenarios []Scenario, idx []int) {
	failed := false
	ran := false
	for _, i := range idx {
		switch scenarios[i].Status {
		case Failed:
			failed = true
			ran = true
		case Passed:
			ran = true
		}
	}
	for _, i := range idx {
		s := &scenarios[i]
		switch {
		case failed && s.Status == Failed:
			s.Status = KnownFailing
		case !failed && ran && s.Status == Passed:
			s.Status = StaleKnownFailing
			s.Reason = StaleReason
		}
	}
}

// aggregate is a requirement's status: the worst of its scenarios, where a requirement
// with some examples skipped and the rest passed still passes (the skip shows in its
// profile's verdict). The reason names the examples only when their reasons differ.
func aggregate(scenarios []Scenario, idx []int) (Status, string) {
	count := map[Status]int{}
	for _, i := range idx {
		count[scenarios[i].Status]++
	}
	for _, st := range []Status{StaleKnownFailing, Failed, KnownFailing, Skipped} {
		if count[st] == 0 {
			continue
		}
		var raw, named []string
		for _, i := range idx {
			if s := scenarios[i]; s.Status == st {
				if !contains(raw, s.Reason) {
					raw = append(raw, s.Reason)
				}
				named = append(named, s.Name+": "+s.Reason)
			}
		}
		sep := "; "
		if st == Failed {
			sep = "\n" // failures span lines: each example starts a line of its own
		}
		reason := strings.Join(named, sep)
		if len(raw) == 1 && (len(named) > 1 || len(idx) == 1) {
			reason = raw[0]
		}
		if len(idx) > 1 && len(named) == 1 {
			reason = named[0]
		}
		if st == Skipped && count[Passed] > 0 {
			return Passed, fmt.Sprintf("%d of %d examples skipped: %s", count[Skipped], len(idx), reason)
		}
		return st, reason
	}
	return Passed, ""
}

func profileVerdict(p Profile, skipReason string) (Verdict, string) {
	switch {
	case skipReason != "":
		return VerdictSkip, skipReason
	case p.Failed+p.Stale > 0:
		var parts []string
		if p.Failed > 0 {
			parts = append(parts, nScenarios(p.Failed)+" failed")
		}
		if p.Stale > 0 {
			parts = append(parts, nScenarios(p.Stale)+" known to fail passed (stale configuration)")
		}
		return VerdictFail, strings.Join(parts, ", ")
	case p.Skipped+p.KnownFailing+p.NotSelected > 0:
		var parts []string
		if p.Skipped > 0 {
			parts = append(parts, nScenarios(p.Skipped)+" skipped")
		}
		if p.KnownFailing > 0 {
			parts = append(parts, nScenarios(p.KnownFailing)+" known to fail")
		}
		if p.NotSelected == 1 {
			parts = append(parts, "1 requirement not selected (--tags)")
		} else if p.NotSelected > 1 {
			parts = append(parts, fmt.Sprintf("%d requirements not selected (--tags)", p.NotSelected))
		}
		return VerdictPartial, strings.Join(parts, ", ")
	case p.Passed == 0:
		return VerdictSkip, "no scenario of this profile was selected"
	}
	return VerdictPass, ""
}

// nScenarios counts scenarios in words: a profile's counts are scenarios (one per example
// row), while the summaries list requirements, so the unit is named.
func nScenarios(n int) string {
	if n == 1 {
		return "1 scenario"
	}
	return fmt.Sprintf("%d scenarios", n)
}

func runVerdict(r *Report) Verdict {
	if len(r.Problems) > 0 {
		return VerdictFail
	}
	v := VerdictPass
	for _, p := range r.Profiles {
		switch p.Verdict {
		case VerdictFail:
			return VerdictFail
		case VerdictPartial:
			v = VerdictPartial
		}
	}
	return v
}

// requirementLess orders IDs by profile prefix in spec order, then by number.
func requirementLess(a, b string) bool {
	pa, na := splitID(a)
	pb, nb := splitID(b)
	if pa != pb {
		ra, rb := prefixRank(pa), prefixRank(pb)
		if ra != rb {
			return ra < rb
		}
		return pa < pb
	}
	if na != nb {
		return na < nb
	}
	return a < b
}

func splitID(id string) (string, int) {
	prefix, num, ok := strings.Cut(id, "-")
	if !ok {
		return id, 0
	}
	n := 0
	for _, c := range num {
		if c < '0' || c > '9' {
			return prefix, n
		}
		n = n*10 + int(c-'0')
	}
	return prefix, n
}

func prefixRank(p string) int {
	switch strings.ToUpper(p) {
	case "CORE":
		return 0
	case "SNAP", "SNAPSHOT":
		return 1
	case "CLONE":
		return 2
	}
	return 3
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Duration is the run's wall time.
func (r *Report) Duration() time.Duration {
	if r.FinishedAt.Before(r.StartedAt) {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}
