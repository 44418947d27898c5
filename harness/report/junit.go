package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vctsio/vcts/harness/results"
)

// JUnit XML in the dialect CI systems read (Jenkins, GitLab, GitHub test reporters): one
// <testsuite> per profile, one <testcase> per scenario, classname = profile,
// name = requirement ID + rule. encoding/xml escapes markup and replaces characters XML
// cannot carry (NUL, ANSI escapes) with U+FFFD, so provider messages cannot break the file.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit renders the report as JUnit XML. Run-level problems become an error test case
// of a "run" suite so that a CI reading only JUnit still sees why the run failed; the
// provider logs go to the first suite's system-out.
func WriteJUnit(w io.Writer, r *results.Report) error {
	doc := junitSuites{Name: "vcts conformance", Time: seconds(r.Duration())}
	rules := map[string]results.Requirement{}
	for _, q := range r.Requirements {
		rules[q.ID] = q
	}
	perReq := map[string]int{}
	for _, s := range r.Scenarios {
		perReq[s.Requirement]++
	}
	for _, p := range r.Profiles {
		suite := junitSuite{Name: p.Name, Properties: properties(r, p)}
		var d time.Duration
		var first, last time.Time
		for _, s := range r.Scenarios {
			if s.Profile != p.Name {
				continue
			}
			if first.IsZero() || (!s.Started.IsZero() && s.Started.Before(first)) {
				first = s.Started
			}
			if end := s.Started.Add(s.Duration); !s.Started.IsZero() && end.After(last) {
				last = end
			}
			d += s.Duration
			c := junitCase{Classname: p.Name, Name: caseName(s, rules[s.Requirement], perReq[s.Requirement] > 1), Time: seconds(s.Duration)}
			switch s.Status {
			case results.Failed:
				c.Failure = &junitMessage{Message: summary(s.Reason), Type: "failed", Text: s.Reason}
				suite.Failures++
			case results.StaleKnownFailing:
				c.Failure = &junitMessage{Message: summary(s.Reason), Type: "stale-known-failing", Text: s.Reason}
				suite.Failures++
			case results.Skipped:
				c.Skipped = &junitMessage{Message: s.Reason}
				suite.Skipped++
			case results.KnownFailing:
				c.Skipped = &junitMessage{Message: "known-failing: " + firstLine(s.Reason), Text: s.Reason}
				suite.Skipped++
			}
			suite.Cases = append(suite.Cases, c)
		}
		suite.Tests = len(suite.Cases)
		suite.Time = seconds(d)
		if !first.IsZero() && last.After(first) {
			// Scenarios run side by side: the profile took from its first start to its last
			// end, not the sum of its scenarios' durations.
			suite.Time = seconds(last.Sub(first))
		}
		if !first.IsZero() {
			suite.Timestamp = first.UTC().Format(time.RFC3339)
		}
		doc.Suites = append(doc.Suites, suite)
	}
	if len(r.Problems) > 0 {
		run := junitSuite{Name: "run", Time: "0"}
		for _, p := range r.Problems {
			run.Cases = append(run.Cases, junitCase{Classname: "run", Name: "run " + firstLine(p), Time: "0",
				Error: &junitMessage{Message: firstLine(p), Type: "run", Text: p}})
			run.Errors++
		}
		run.Tests = len(run.Cases)
		doc.Suites = append(doc.Suites, run)
	}
	if len(doc.Suites) > 0 && r.ProviderLogs != "" {
		doc.Suites[0].SystemOut = r.ProviderLogs
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func properties(r *results.Report, p results.Profile) []junitProperty {
	props := []junitProperty{
		{"provider", r.Provider.Name},
		{"dialect", r.Provider.Dialect},
		{"target", r.Target.Kind},
		{"verdict", string(p.Verdict)},
		{"suite.version", r.Suite.Version},
		{"spec.version", r.Suite.SpecVersion},
		{"run.id", r.RunID},
	}
	if p.Reason != "" {
		props = append(props, junitProperty{"verdict.reason", p.Reason})
	}
	return props
}

func caseName(s results.Scenario, q results.Requirement, outline bool) string {
	rule := q.Rule
	if rule == "" {
		rule = s.Name
	}
	name := s.Requirement + " " + rule
	switch {
	case outline && strings.HasPrefix(s.Name, rule):
		name = s.Requirement + " " + s.Name // the example's name already holds the rule
	case outline && s.Name != rule:
		name += " [" + s.Name + "]"
	}
	return name
}

// summary is a failure's message attribute: the whole reason on one line (a test report
// shows the attribute as the headline, and a first line alone often ends in a colon), cut
// at 400 characters; the element's text keeps every line.
func summary(reason string) string {
	one := strings.Join(strings.Fields(reason), " ")
	if r := []rune(one); len(r) > 400 {
		one = string(r[:399]) + "…"
	}
	return one
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
