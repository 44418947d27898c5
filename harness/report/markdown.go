package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
)

// WriteMarkdown renders a summary for $GITHUB_STEP_SUMMARY (GitHub-flavoured Markdown).
func WriteMarkdown(w io.Writer, r *results.Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s vcts conformance: **%s** — %s\n\n", VerdictIcon(r.Verdict), r.Verdict, mdText(providerTitle(r)))
	if line := testedLine(r); line != "" {
		fmt.Fprintf(&b, "%s\n\n", line)
	}
	fmt.Fprintf(&b, "%s\n\n", mdText(Headline(r)))
	b.WriteString("| Profile | Verdict | Scenarios passed | Failed | Skipped | Known-failing | Note |\n") // an outline counts once per example
	b.WriteString("|---|---|---:|---:|---:|---:|---|\n")
	for _, p := range r.Profiles {
		fmt.Fprintf(&b, "| %s | %s %s | %d | %d | %d | %d | %s |\n", p.Name, VerdictIcon(p.Verdict), p.Verdict,
			p.Passed, p.Failed+p.Stale, p.Skipped, p.KnownFailing, mdCell(p.Reason))
	}
	if len(r.Problems) > 0 {
		b.WriteString("\n### Run problems\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "- ❌ %s\n", mdText(p))
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- ℹ️ %s\n", mdText(n))
		}
	}
	section := func(title string, match func(results.Status) bool) {
		var rows []results.Requirement
		for _, q := range r.Requirements {
			if match(q.Status) && q.Reason != results.NotSelectedReason {
				rows = append(rows, q)
			}
		}
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n### %s\n\n| | Requirement | Rule | Reason |\n|---|---|---|---|\n", title)
		for _, q := range rows {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", StatusIcon(q.Status), q.ID, mdCell(q.Rule), mdCell(q.Reason))
		}
	}
	section("Failures", func(s results.Status) bool { return s == results.Failed || s == results.StaleKnownFailing })
	section("Known failing", func(s results.Status) bool { return s == results.KnownFailing })
	section("Skipped", func(s results.Status) bool { return s == results.Skipped })
	if n := notSelected(r); n > 0 {
		fmt.Fprintf(&b, "\n%d requirement(s) not selected by --tags did not run; they are listed below.\n", n)
	}

	b.WriteString("\n<details><summary>All requirements</summary>\n\n| | Requirement | Profile | Rule | Duration |\n|---|---|---|---|---:|\n")
	for _, q := range r.Requirements {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", StatusIcon(q.Status), q.ID, q.Profile, mdCell(q.Rule), q.Duration.Round(time.Millisecond))
	}
	b.WriteString("\n</details>\n\n")
	fmt.Fprintf(&b, "<sub>vcts %s · spec %s · dialect %s · target %s · run %s · %s</sub>\n",
		mdText(r.Suite.Version), mdText(r.Suite.SpecVersion), mdText(r.Provider.Dialect), mdText(r.Target.Kind), mdText(r.RunID), r.Duration().Round(time.Millisecond))
	_, err := io.WriteString(w, b.String())
	return err
}

// notSelected counts the requirements the tag selection left out.
func notSelected(r *results.Report) int {
	n := 0
	for _, p := range r.Profiles {
		n += p.NotSelected
	}
	return n
}

// mdCell makes text safe inside a table cell: one line, no column breaks, no HTML.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = mdText(s)
	s = strings.ReplaceAll(s, "|", `\|`)
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}

// mdText neutralises Markdown and HTML that provider messages might carry.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "#", `\#`,
)

func mdText(s string) string { return mdEscaper.Replace(s) }

func providerTitle(r *results.Report) string {
	name := r.Provider.Name
	if name == "" {
		name = r.Provider.Endpoint
	}
	return fmt.Sprintf("%s (%s dialect, %s target)", name, r.Provider.Dialect, r.Target.Kind)
}

// imageDeclared: the report names an image that the target did not run itself (the process
// and endpoint targets run none); it comes from the configuration.
func imageDeclared(r *results.Report) bool {
	k := r.Target.Kind
	return r.Provider.Image != "" && k != config.TargetContainer && k != "kind"
}

// testedLine names the image and version under test, for the readers who ask "which
// build passed?"; empty when results.json records neither (older files, remote endpoints).
func testedLine(r *results.Report) string {
	var parts []string
	if r.Provider.Image != "" {
		img := "image **" + mdText(r.Provider.Image) + "**"
		if imageDeclared(r) {
			img += " (declared in the configuration)"
		}
		parts = append(parts, img)
	}
	if r.Provider.Version != "" {
		parts = append(parts, "version **"+mdText(r.Provider.Version)+"**")
	}
	if len(parts) == 0 {
		return ""
	}
	return "Tested: " + strings.Join(parts, ", ")
}

// Headline is the one-sentence conclusion of a run, shared by the console, Markdown and
// HTML renderings so they never disagree.
func Headline(r *results.Report) string {
	switch r.Verdict {
	case results.VerdictPass:
		return "🎉 All tests passed! Provider is conformant."
	case results.VerdictPartial:
		var skipped, known, notSelected int
		var unrun []string // partial profiles that ran nothing: their reason says why
		for _, p := range r.Profiles {
			if p.Verdict == results.VerdictSkip {
				continue
			}
			skipped += p.Skipped
			known += p.KnownFailing
			notSelected += p.NotSelected
			if p.Verdict == results.VerdictPartial && p.Passed+p.Skipped+p.KnownFailing+p.NotSelected == 0 {
				unrun = append(unrun, p.Name+" profile "+p.Reason)
			}
		}
		parts := unrun
		if skipped > 0 {
			parts = append(parts, fmt.Sprintf("%d scenario(s) skipped", skipped))
		}
		if known > 0 {
			parts = append(parts, fmt.Sprintf("%d failing as the known-failing (or known-flaky) list expects", known))
		}
		if notSelected > 0 {
			parts = append(parts, fmt.Sprintf("%d requirement(s) not selected by --tags", notSelected))
		}
		return "⚠️ Partially conformant: nothing failed unexpectedly, but " + strings.Join(parts, " and ") + ". Not a full pass."
	}
	var failed, stale, ran int
	for _, p := range r.Profiles {
		failed += p.Failed
		stale += p.Stale
		ran += p.Passed + p.Failed + p.KnownFailing + p.Stale
	}
	if ran == 0 && len(r.Problems) > 0 {
		// Nothing judged the provider: the run could not reach it, or stopped before.
		return "❌ Not tested: " + strings.Join(r.Problems, "; ") + ". No requirement ran, so nothing is known about the provider yet."
	}
	var parts []string
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d scenario(s) failed", failed))
	}
	if stale > 0 {
		parts = append(parts, fmt.Sprintf("%d known-failing requirement(s) passed: configuration is stale", stale))
	}
	parts = append(parts, r.Problems...)
	return "❌ Not conformant: " + strings.Join(parts, "; ") + "."
}

// VerdictIcon is the emoji of a verdict.
func VerdictIcon(v results.Verdict) string {
	switch v {
	case results.VerdictPass:
		return "✅"
	case results.VerdictPartial:
		return "⚠️"
	case results.VerdictFail:
		return "❌"
	}
	return "⏭"
}

// StatusIcon is the emoji of a requirement or scenario status.
func StatusIcon(s results.Status) string {
	switch s {
	case results.Passed:
		return "✅"
	case results.Failed, results.StaleKnownFailing:
		return "❌"
	case results.KnownFailing:
		return "⚠️"
	}
	return "⏭"
}
