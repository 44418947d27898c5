package features

import (
	"bytes"
	"fmt"
	"strings"
)

// RegenerateCommand rewrites docs/spec.md from the feature files.
const RegenerateCommand = "go test ./features -run TestSpecUpToDate -update"

var profileOrder = []string{ProfileCore, ProfileSnapshot, ProfileClone}

// Markdown renders the published specification: a summary, then for each profile its rule
// table and every requirement with its steps and examples. The output depends only on its
// arguments, so the checked-in docs/spec.md can be compared byte for byte.
func Markdown(reqs []Requirement, specVersion string) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	byProfile := map[string][]Requirement{}
	var profiles []string
	for _, r := range reqs {
		if _, ok := byProfile[r.Profile]; !ok {
			profiles = append(profiles, r.Profile)
		}
		byProfile[r.Profile] = append(byProfile[r.Profile], r)
	}
	profiles = ordered(profiles)

	p("# VirtRigaud provider conformance specification\n\n")
	p("Specification version **%s**. Generated from `features/*.feature` by `%s`; do not edit by hand.\n\n", specVersion, RegenerateCommand)
	p("The feature files are the contract; this page is their readable form. Each requirement is one\n")
	p("scenario with a stable ID: an ID names one rule forever and is never reassigned (retired IDs are\n")
	p("listed at the top of each feature file). The same scenarios run against every dialect (the\n")
	p("VirtRigaud v1 wire protocol and the tutorial's typed API). A requirement whose *Needs* names a\n")
	p("feature a dialect cannot express is skipped on that dialect, with the reason.\n\n")
	p("A profile passes only when every one of its requirements ran and passed; a skipped core requirement\n")
	p("makes a run partial, never a pass.\n\n")

	p("## Summary\n\n| Profile | Feature | Requirements |\n|---|---|---|\n")
	for _, prof := range profiles {
		rs := byProfile[prof]
		p("| `%s` | [%s](#%s) | %d |\n", prof, cell(rs[0].Feature), anchor("profile-"+prof), len(rs))
	}
	p("\n")

	for _, prof := range profiles {
		rs := byProfile[prof]
		p("<a id=\"%s\"></a>\n\n## %s (`@%s`)\n\n", anchor("profile-"+prof), rs[0].Feature, prof)
		if d := rs[0].FeatureDescription; d != "" {
			p("%s\n\n", paragraph(d))
		}
		p("| ID | Rule | Needs |\n|---|---|---|\n")
		for _, r := range rs {
			p("| [%s](#%s) | %s | %s |\n", r.ID, anchor(r.ID), cell(r.Rule), needs(r.Needs))
		}
		p("\n")
		for _, r := range rs {
			p("<a id=\"%s\"></a>\n\n### %s: %s\n\n", anchor(r.ID), r.ID, r.Rule)
			if r.Description != "" {
				p("%s\n\n", paragraph(r.Description))
			}
			if len(r.Needs) > 0 {
				p("Needs: %s.\n\n", needs(r.Needs))
			}
			p("```gherkin\n")
			for _, st := range r.Steps {
				p("%s\n", st)
			}
			p("```\n\n")
			for _, ex := range r.Examples {
				if ex.Name != "" {
					p("Examples: %s\n\n", ex.Name)
				}
				p("| %s |\n|%s\n", strings.Join(ex.Header, " | "), strings.Repeat("---|", len(ex.Header)))
				for _, row := range ex.Rows {
					p("| %s |\n", rowCells(row))
				}
				p("\n")
			}
			p("<sub>%s:%d</sub>\n\n", r.File, r.Line)
		}
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

// ordered puts the known profiles first, in the specification's order, then any others.
func ordered(profiles []string) []string {
	var out []string
	for _, known := range profileOrder {
		for _, p := range profiles {
			if p == known {
				out = append(out, p)
			}
		}
	}
	for _, p := range profiles {
		if _, known := idPrefixesByProfile()[p]; !known {
			out = append(out, p)
		}
	}
	return out
}

func idPrefixesByProfile() map[string]string {
	m := map[string]string{}
	for prefix, prof := range idPrefixes {
		m[prof] = prefix
	}
	return m
}

func anchor(s string) string { return strings.ToLower(s) }

func needs(ns []string) string {
	if len(ns) == 0 {
		return ""
	}
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = "`" + n + "`"
	}
	return strings.Join(out, ", ")
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

func rowCells(row []string) string {
	out := make([]string, len(row))
	for i, c := range row {
		out[i] = "`" + cell(c) + "`"
		if c == "" {
			out[i] = ""
		}
	}
	return strings.Join(out, " | ")
}

// paragraph joins a Gherkin description's lines into Markdown prose.
func paragraph(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
