// Package console prints a run for a person at a terminal: one line per finished scenario
// while the run goes, and the final summary in the tutorial's style.
package console

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vctsio/vcts/harness/report"
	"github.com/vctsio/vcts/harness/results"
)

// Progress returns a listener for results.Collector.OnAdd that prints one line per
// finished scenario: ✓ passed, ✗ failed (with the first line of the reason), ⏭ skipped
// (with the reason); a profile skipped as a whole gets one line.
func Progress(w io.Writer) func(results.Scenario) {
	var mu sync.Mutex
	profileSkips := map[string]bool{}
	return func(s results.Scenario) {
		mu.Lock()
		defer mu.Unlock()
		if s.Status == results.Skipped && strings.HasPrefix(s.Reason, "profile "+s.Profile+" ") {
			// A whole profile skipped: one line for it, not one per scenario.
			if !profileSkips[s.Profile] {
				profileSkips[s.Profile] = true
				fmt.Fprintf(w, "%s %s\n", progressIcon(s.Status), firstLine(s.Reason))
			}
			return
		}
		line := fmt.Sprintf("%s %s %s", progressIcon(s.Status), s.Requirement, s.Name)
		switch s.Status {
		case results.Passed:
			line += fmt.Sprintf(" (%s)", s.Duration.Round(time.Millisecond))
		default:
			if s.Reason != "" {
				line += " — " + firstLine(s.Reason)
			}
		}
		fmt.Fprintln(w, line)
	}
}

func progressIcon(s results.Status) string {
	switch s {
	case results.Passed:
		return "✓"
	case results.Failed, results.StaleKnownFailing:
		return "✗"
	}
	return "⏭"
}

// Summary prints the verdict per profile with every requirement, failures with their
// reason, skips with theirs, then the one-line conclusion.
func Summary(w io.Writer, r *results.Report) {
	byProfile := map[string][]results.Requirement{}
	for _, q := range r.Requirements {
		byProfile[q.Profile] = append(byProfile[q.Profile], q)
	}
	fmt.Fprintln(w)
	for _, p := range r.Profiles {
		title := strings.ToUpper(p.Name[:1]) + p.Name[1:] + " Profile Tests"
		if p.Verdict == results.VerdictSkip {
			fmt.Fprintf(w, "⏭ %s — skipped: %s\n\n", title, p.Reason)
			continue
		}
		fmt.Fprintf(w, "%s %s", report.VerdictIcon(p.Verdict), title)
		if p.Reason != "" {
			fmt.Fprintf(w, " (%s)", p.Reason)
		}
		fmt.Fprintln(w)
		var notSelected []string
		for _, q := range byProfile[p.Name] {
			if q.Status == results.Skipped && q.Reason == results.NotSelectedReason {
				notSelected = append(notSelected, q.ID)
				continue
			}
			fmt.Fprintf(w, "  %s %s %s", report.StatusIcon(q.Status), q.ID, q.Rule)
			switch q.Status {
			case results.Passed:
				if q.Reason != "" {
					fmt.Fprintf(w, " (%s)", q.Reason)
				}
				fmt.Fprintln(w)
			case results.Skipped:
				fmt.Fprintf(w, " — skipped: %s\n", q.Reason)
			case results.KnownFailing:
				fmt.Fprintf(w, " — %s\n", results.KnownFailingText(firstLine(q.Reason)))
			default:
				fmt.Fprintln(w)
				for _, l := range strings.Split(strings.TrimSpace(q.Reason), "\n") {
					fmt.Fprintf(w, "      %s\n", l)
				}
			}
		}
		if len(notSelected) > 0 {
			fmt.Fprintf(w, "  ⏭ not selected by --tags, did not run: %s\n", strings.Join(notSelected, " "))
		}
		fmt.Fprintln(w)
	}
	headline := report.Headline(r)
	for _, p := range r.Problems {
		if !strings.Contains(headline, p) { // a run that never reached the provider names them there
			fmt.Fprintf(w, "❌ %s\n", p)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "ℹ️  %s\n", n)
	}
	fmt.Fprintln(w, headline)
	if t := r.Timings; t != nil {
		fmt.Fprintf(w, "⏱  scenarios %s · provider start %s · cleanup %s · provider stop %s · total %s\n",
			round(t.Suite), round(t.TargetStart), round(t.Cleanup), round(t.TargetStop), round(r.Duration()))
	}
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
