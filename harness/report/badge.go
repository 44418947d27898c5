package report

import (
	"bytes"
	"fmt"
	"html"
	"strings"

	"github.com/vctsio/vcts/harness/results"
)

// BadgeLabel is the left half of the badge.
const BadgeLabel = "conformance"

// Badge renders the run verdict as a flat SVG badge (the shields.io look), from a parsed
// results.json alone. Its tooltip lists the profile verdicts.
func Badge(r *results.Report) []byte {
	verdict := r.Verdict
	if verdict == "" {
		verdict = results.VerdictFail
	}
	// The verdict comes from a parsed file: escape it like any other text.
	message := html.EscapeString(string(verdict))
	colour := badgeColour(verdict)
	var parts []string
	for _, p := range r.Profiles {
		parts = append(parts, p.Name+" "+string(p.Verdict))
	}
	title := fmt.Sprintf("vcts %s (spec %s): %s — %s", r.Suite.Version, r.Suite.SpecVersion, verdict, strings.Join(parts, ", "))

	const pad = 6 // horizontal padding on each side of a text, in px
	lw := textWidth(BadgeLabel) + 2*pad
	mw := textWidth(string(verdict)) + 2*pad
	total := lw + mw
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s">`, total, BadgeLabel, message)
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	b.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&b, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, total)
	fmt.Fprintf(&b, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="#555"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`, lw, lw, mw, colour, total)
	b.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`)
	for _, t := range []struct {
		x    float64
		text string
	}{{float64(lw) / 2, BadgeLabel}, {float64(lw) + float64(mw)/2, message}} {
		fmt.Fprintf(&b, `<text x="%.1f" y="15" fill="#010101" fill-opacity=".3">%s</text><text x="%.1f" y="14">%s</text>`, t.x, t.text, t.x, t.text)
	}
	b.WriteString(`</g></svg>` + "\n")
	return b.Bytes()
}

// BadgeColour is the fill of a verdict (also used by the HTML report).
func badgeColour(v results.Verdict) string {
	switch v {
	case results.VerdictPass:
		return "#4c1"
	case results.VerdictPartial:
		return "#dfb317"
	case results.VerdictFail:
		return "#e05d44"
	}
	return "#9f9f9f"
}

// textWidth estimates the rendered width of s in 11px Verdana, the badge font, so the
// badge fits its text without a font at hand. The per-character advances are rounded
// Verdana metrics; unknown characters count as a wide letter.
func textWidth(s string) int {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("iljI.,:;!|' ", r):
			w += 3.5
		case strings.ContainsRune("frt()-", r):
			w += 4.6
		case strings.ContainsRune("mwMW", r):
			w += 10.2
		case r >= 'a' && r <= 'z':
			w += 6.9
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			w += 7.6
		default:
			w += 8.5
		}
	}
	return int(w + 0.5)
}
