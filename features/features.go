// Package features is the conformance contract: the Gherkin feature files that the step
// definitions execute, and the published specification generated from them. Every scenario is
// one requirement with a stable ID tag (CORE-001, SNAP-001, CLONE-001, ...) and a profile tag.
package features

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/vctsio/vcts/steps/driver"
)

// FS holds the feature files at its root. To run them with godog, pass FS as Options.FS and
// "." as the only path.
//
//go:embed *.feature
var FS embed.FS

// Profiles in the order the specification presents them.
const (
	ProfileCore     = "core"
	ProfileSnapshot = "snapshot"
	ProfileClone    = "clone"
)

// idPrefixes maps a requirement ID prefix to the profile whose scenarios use it.
var idPrefixes = map[string]string{
	"CORE":  ProfileCore,
	"SNAP":  ProfileSnapshot,
	"CLONE": ProfileClone,
}

var (
	idTag      = regexp.MustCompile(`^@([A-Z]+)-(\d{3})$`)
	retiredRe  = regexp.MustCompile(`^#\s*Retired IDs:\s*(.*)$`)
	retiredIDs = regexp.MustCompile(`^[A-Z]+-\d{3}$`)
)

// Requirement is one scenario of the contract.
type Requirement struct {
	ID      string // e.g. CORE-014
	Profile string // core, snapshot or clone
	Feature string // the feature's name, e.g. "Core profile"
	Rule    string // the scenario's title: one sentence
	// Description is the scenario's optional explanation.
	Description string
	// Needs lists the dialect features the rule needs (the @needs-<feature> tags, without
	// the prefix); a dialect that lacks one skips the requirement.
	Needs []string
	// Tags are all tags that apply, the feature's included, as written (with @).
	Tags []string

	// FeatureDescription is the description of the feature the requirement belongs to.
	FeatureDescription string
	// File and Line locate the scenario.
	File string
	Line int
	// Steps are the scenario's steps as written ("When I ..."); a doc string follows its step
	// on the same entry, after a newline.
	Steps []string
	// Examples are the example tables of a Scenario Outline (empty for a Scenario).
	Examples []Examples

	// stepTexts are the steps without keywords, as godog's pickles carry them (with the
	// outline's <placeholders> left in).
	stepTexts []string
}

// Examples is one example table of a Scenario Outline.
type Examples struct {
	Name   string
	Header []string
	Rows   [][]string
}

// Requirements parses the embedded feature files. It fails unless every scenario has exactly
// one requirement ID tag and exactly one profile tag that agree, every other tag is a known
// @needs-<feature>, no ID is used twice and no retired ID is used. They come in the
// contract's order: core, snapshot, clone, each by ID.
func Requirements() ([]Requirement, error) {
	return parse(FS)
}

func parse(fsys fs.FS) ([]Requirement, error) {
	files, err := fs.Glob(fsys, "*.feature")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no feature files")
	}
	sort.Strings(files)
	var (
		reqs []Requirement
		errs []string
	)
	seen := map[string]string{}    // ID -> where it is used
	retired := map[string]string{} // ID -> the file that retires it
	for _, file := range files {
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		fileReqs, fileRetired, err := parseFile(file, src)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, id := range fileRetired {
			retired[id] = file
		}
		for _, r := range fileReqs {
			where := fmt.Sprintf("%s:%d", r.File, r.Line)
			if prev, dup := seen[r.ID]; dup {
				errs = append(errs, fmt.Sprintf("%s: %s is already used at %s", where, r.ID, prev))
				continue
			}
			seen[r.ID] = where
			reqs = append(reqs, r)
		}
	}
	for _, r := range reqs {
		if file, ok := retired[r.ID]; ok {
			errs = append(errs, fmt.Sprintf("%s:%d: %s is retired in %s and must not be reused", r.File, r.Line, r.ID, file))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("malformed features:\n  %s", strings.Join(errs, "\n  "))
	}
	sort.Slice(reqs, func(i, j int) bool {
		if ri, rj := profileRank(reqs[i].Profile), profileRank(reqs[j].Profile); ri != rj {
			return ri < rj
		}
		return reqs[i].ID < reqs[j].ID
	})
	return reqs, nil
}

// profileRank orders profiles as the contract does: core, snapshot, clone, then any other.
func profileRank(profile string) int {
	switch profile {
	case ProfileCore:
		return 0
	case ProfileSnapshot:
		return 1
	case ProfileClone:
		return 2
	}
	return 3
}

func parseFile(file string, src []byte) ([]Requirement, []string, error) {
	doc, err := gherkin.ParseGherkinDocument(bytes.NewReader(src), (&messages.Incrementing{}).NewId)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", file, err)
	}
	if doc.Feature == nil {
		return nil, nil, fmt.Errorf("%s: no Feature", file)
	}
	retired, ok := retiredList(src)
	if !ok {
		return nil, nil, fmt.Errorf("%s: missing the header comment \"# Retired IDs: ...\" (\"none\" when there are none)", file)
	}
	var errs []string
	for _, id := range retired {
		if !retiredIDs.MatchString(id) {
			errs = append(errs, fmt.Sprintf("%s: retired ID %q is not of the form ABC-123", file, id))
		}
	}
	f := doc.Feature
	var reqs []Requirement
	var background []string
	var backgroundTexts []string
	add := func(sc *messages.Scenario, inherited []*messages.Tag) {
		r, err := requirement(file, f, sc, inherited, background)
		if err != nil {
			errs = append(errs, err.Error())
			return
		}
		r.stepTexts = append(slices.Clone(backgroundTexts), r.stepTexts...)
		reqs = append(reqs, r)
	}
	for _, child := range f.Children {
		switch {
		case child.Background != nil:
			background = renderSteps(child.Background.Steps)
			backgroundTexts = backgroundTexts[:0]
			for _, st := range child.Background.Steps {
				backgroundTexts = append(backgroundTexts, st.Text)
			}
		case child.Scenario != nil:
			add(child.Scenario, f.Tags)
		case child.Rule != nil:
			for _, rc := range child.Rule.Children {
				if rc.Scenario != nil {
					add(rc.Scenario, append(slices.Clone(f.Tags), child.Rule.Tags...))
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("%s", strings.Join(errs, "\n  "))
	}
	return reqs, retired, nil
}

func requirement(file string, f *messages.Feature, sc *messages.Scenario, inherited []*messages.Tag, background []string) (Requirement, error) {
	line := int(sc.Location.Line)
	where := fmt.Sprintf("%s:%d", file, line)
	r := Requirement{
		Feature:            strings.TrimSpace(f.Name),
		FeatureDescription: dedent(f.Description),
		Rule:               strings.TrimSpace(sc.Name),
		Description:        dedent(sc.Description),
		File:               file,
		Line:               line,
		Steps:              append(slices.Clone(background), renderSteps(sc.Steps)...),
	}
	for _, st := range sc.Steps {
		r.stepTexts = append(r.stepTexts, st.Text)
	}
	var ids, profiles, unknown []string
	for _, t := range append(slices.Clone(inherited), sc.Tags...) {
		r.Tags = append(r.Tags, t.Name)
		switch name := t.Name; {
		case idTag.MatchString(name):
			ids = append(ids, strings.TrimPrefix(name, "@"))
		case name == "@"+ProfileCore || name == "@"+ProfileSnapshot || name == "@"+ProfileClone:
			profiles = append(profiles, strings.TrimPrefix(name, "@"))
		case strings.HasPrefix(name, "@needs-"):
			feat := strings.TrimPrefix(name, "@needs-")
			if !slices.Contains(driver.Features(), driver.Feature(feat)) {
				unknown = append(unknown, name)
				continue
			}
			r.Needs = append(r.Needs, feat)
		default:
			unknown = append(unknown, name)
		}
	}
	for _, ex := range sc.Examples {
		if len(ex.Tags) > 0 {
			return r, fmt.Errorf("%s: tags on Examples are not supported (the requirement's tags apply to all its examples)", where)
		}
		e := Examples{Name: strings.TrimSpace(ex.Name)}
		if ex.TableHeader != nil {
			e.Header = cells(ex.TableHeader)
		}
		for _, row := range ex.TableBody {
			e.Rows = append(e.Rows, cells(row))
		}
		r.Examples = append(r.Examples, e)
	}
	switch {
	case len(ids) != 1:
		return r, fmt.Errorf("%s: scenario %q needs exactly one requirement ID tag (like @CORE-001), has %d", where, r.Rule, len(ids))
	case len(profiles) != 1:
		return r, fmt.Errorf("%s: scenario %q needs exactly one profile tag (@core, @snapshot or @clone), has %d", where, r.Rule, len(profiles))
	case len(unknown) > 0:
		return r, fmt.Errorf("%s: scenario %q has unknown tags %v (known: the ID, the profile, @needs-<%v>)", where, r.Rule, unknown, driver.Features())
	case r.Rule == "":
		return r, fmt.Errorf("%s: scenario without a title; the title is the requirement's rule", where)
	}
	r.ID, r.Profile = ids[0], profiles[0]
	prefix := strings.SplitN(r.ID, "-", 2)[0]
	if want, ok := idPrefixes[prefix]; !ok || want != r.Profile {
		return r, fmt.Errorf("%s: ID %s does not belong to profile %q", where, r.ID, r.Profile)
	}
	return r, nil
}

// ExampleValues names the example row of a Scenario Outline that produced a scenario whose
// steps read stepTexts (as godog's pickle steps carry them, without keywords), for example
// "cpu=4, memory=2048". It is "" for a plain Scenario or when no row matches.
func (r Requirement) ExampleValues(stepTexts []string) string {
	for _, ex := range r.Examples {
		for _, row := range ex.Rows {
			if !slices.Equal(interpolate(r.stepTexts, ex.Header, row), stepTexts) {
				continue
			}
			parts := make([]string, 0, len(row))
			for i, h := range ex.Header {
				if i < len(row) {
					parts = append(parts, h+"="+row[i])
				}
			}
			return strings.Join(parts, ", ")
		}
	}
	return ""
}

func interpolate(templates, header, row []string) []string {
	out := make([]string, len(templates))
	for i, t := range templates {
		for j, h := range header {
			if j < len(row) {
				t = strings.ReplaceAll(t, "<"+h+">", row[j])
			}
		}
		out[i] = t
	}
	return out
}

// retiredList reads the "# Retired IDs: A-001, B-002" header comment; "none" is an empty list.
func retiredList(src []byte) ([]string, bool) {
	for _, line := range strings.Split(string(src), "\n") {
		m := retiredRe.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		list := strings.TrimSpace(m[1])
		if strings.EqualFold(list, "none") || list == "" {
			return nil, true
		}
		var ids []string
		for _, id := range strings.Split(list, ",") {
			ids = append(ids, strings.TrimSpace(id))
		}
		return ids, true
	}
	return nil, false
}

func renderSteps(steps []*messages.Step) []string {
	out := make([]string, 0, len(steps))
	for _, st := range steps {
		s := strings.TrimSpace(st.Keyword) + " " + st.Text
		if ds := st.DocString; ds != nil {
			s += "\n\"\"\"\n" + ds.Content + "\n\"\"\""
		}
		if dt := st.DataTable; dt != nil {
			for _, row := range dt.Rows {
				s += "\n| " + strings.Join(cells(row), " | ") + " |"
			}
		}
		out = append(out, s)
	}
	return out
}

func cells(row *messages.TableRow) []string {
	out := make([]string, 0, len(row.Cells))
	for _, c := range row.Cells {
		out = append(out, c.Value)
	}
	return out
}

// dedent trims the indentation Gherkin keeps in descriptions.
func dedent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
