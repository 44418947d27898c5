package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
)

// nasty is what a provider might put in an error message: markup, quotes, an XML
// terminator, a NUL byte, an ANSI escape, a form feed, invalid UTF-8 and table pipes.
const nasty = "bad <tag attr=\"x\"> & 'quote' ]]> \x00 \x1b[31mred\x1b[0m \f \xff | cell | `code` *bold* <script>alert(1)</script>\nsecond line"

func report(t *testing.T) *results.Report {
	t.Helper()
	cfg := config.Default()
	require.NoError(t, cfg.Finalize(""))
	cfg.Catalog = config.Catalog{Description: "d", Repo: "https://example.com/r", Image: "ghcr.io/x/provider-file", Tag: "1.0.0",
		Maintainer: "m@example.com", License: "Apache-2.0", Maturity: "beta"}
	r := &results.Report{
		APIVersion:   results.APIVersion,
		Suite:        results.Suite{Name: "vcts", Version: "v1.0.0", SpecVersion: "1.0.0"},
		RunID:        "vcts-test01",
		Provider:     results.Provider{Name: "file", Endpoint: "127.0.0.1:9443", Dialect: "v1", Capabilities: &results.Capabilities{Snapshots: true, Clones: false, Raw: "raw"}},
		Target:       results.Target{Kind: "process", Mode: "binary"},
		StartedAt:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		FinishedAt:   time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Config:       cfg,
		ProviderLogs: "level=INFO msg=start\n" + nasty + "\n",
	}
	reqs := []results.RequirementInfo{
		{ID: "CORE-001", Profile: "core", Rule: "capabilities are stable"},
		{ID: "CORE-002", Profile: "core", Rule: "validate <ok> & \"fine\""},
		{ID: "CORE-003", Profile: "core", Rule: "outline"},
		{ID: "SNAP-001", Profile: "snapshot", Rule: "snapshot id"},
		{ID: "CLONE-001", Profile: "clone", Rule: "clone"},
	}
	d := 15 * time.Millisecond
	scs := []results.Scenario{
		{Requirement: "CORE-001", Profile: "core", Name: "capabilities are stable", Status: results.Passed, Duration: d},
		{Requirement: "CORE-002", Profile: "core", Name: "validate", Status: results.Failed, Reason: nasty, Duration: d},
		{Requirement: "CORE-003", Profile: "core", Name: "outline [n=1]", Status: results.Passed, Duration: d},
		{Requirement: "CORE-003", Profile: "core", Name: "outline [n=2]", Status: results.Skipped, Reason: "dialect cannot express it", Duration: d},
		{Requirement: "SNAP-001", Profile: "snapshot", Name: "snapshot id", Status: results.Passed, Duration: d},
		{Requirement: "CLONE-001", Profile: "clone", Name: "clone", Status: results.Skipped, Reason: "profile clone skipped: not offered", Duration: 0},
	}
	results.Evaluate(r, reqs, scs, results.Plan{
		Profiles: []string{"core", "snapshot", "clone"}, SkipReasons: map[string]string{"clone": "the provider does not offer clones"}, Selected: len(scs),
	})
	require.Equal(t, results.VerdictFail, r.Verdict)
	return r
}

type jSuites struct {
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []jSuite `xml:"testsuite"`
}
type jSuite struct {
	Name      string  `xml:"name,attr"`
	Tests     int     `xml:"tests,attr"`
	Failures  int     `xml:"failures,attr"`
	Skipped   int     `xml:"skipped,attr"`
	Cases     []jCase `xml:"testcase"`
	SystemOut string  `xml:"system-out"`
	Props     []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
}
type jCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Error   *struct{} `xml:"error"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

// wellFormed parses the whole document token by token: any escaping mistake or
// character XML cannot carry is a parse error.
func wellFormed(t *testing.T, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		require.NoError(t, err, "not well-formed XML")
	}
}

func TestJUnitIsWellFormedWithNastyMessages(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteJUnit(&b, report(t)))
	wellFormed(t, b.Bytes())

	var doc jSuites
	require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
	assert.Equal(t, 6, doc.Tests)
	assert.Equal(t, 1, doc.Failures)
	assert.Equal(t, 2, doc.Skipped)
	require.Len(t, doc.Suites, 3)
	core := doc.Suites[0]
	assert.Equal(t, "core", core.Name)
	require.Len(t, core.Cases, 4)
	assert.Equal(t, "CORE-001 capabilities are stable", core.Cases[0].Name)
	assert.Equal(t, "core", core.Cases[0].Classname)
	assert.Equal(t, "0.015", core.Cases[0].Time)
	assert.Equal(t, `CORE-002 validate <ok> & "fine"`, core.Cases[1].Name, "markup in names survives escaping")
	assert.Equal(t, "CORE-003 outline [n=2]", core.Cases[3].Name, "outline examples are told apart, the rule named once")

	f := core.Cases[1].Failure
	require.NotNil(t, f)
	assert.Equal(t, "failed", f.Type)
	assert.Contains(t, f.Message, "bad <tag attr=\"x\"> & 'quote' ]]>")
	assert.Contains(t, f.Message, "]]> � red", "the message attribute is the whole reason on one line")
	assert.Contains(t, f.Message, "second line")
	assert.NotContains(t, f.Message, "\n")
	assert.Contains(t, f.Text, "second line", "the body has the whole reason")
	assert.Contains(t, f.Text, "\uFFFD", "characters XML cannot carry are replaced, not dropped silently")
	assert.NotContains(t, f.Text, "\x00")
	assert.NotContains(t, f.Text, "\x1b")

	require.NotNil(t, core.Cases[3].Skipped)
	assert.Equal(t, "dialect cannot express it", core.Cases[3].Skipped.Message)
	assert.Contains(t, core.SystemOut, "level=INFO msg=start", "provider logs go to system-out")

	clone := doc.Suites[2]
	require.NotNil(t, clone.Cases[0].Skipped)
	assert.Contains(t, clone.Cases[0].Skipped.Message, "not offered")
	props := map[string]string{}
	for _, p := range clone.Props {
		props[p.Name] = p.Value
	}
	assert.Equal(t, "skip", props["verdict"])
	assert.Equal(t, "file", props["provider"])
}

func TestJUnitKnownFailingStaleAndProblems(t *testing.T) {
	r := report(t)
	r.Scenarios[0].Status, r.Scenarios[0].Reason = results.StaleKnownFailing, results.StaleReason
	r.Scenarios[4].Status, r.Scenarios[4].Reason = results.KnownFailing, "known bug"
	r.Problems = []string{"the run was interrupted"}
	var b bytes.Buffer
	require.NoError(t, WriteJUnit(&b, r))
	var doc jSuites
	require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
	assert.Equal(t, "stale-known-failing", doc.Suites[0].Cases[0].Failure.Type)
	assert.Contains(t, doc.Suites[1].Cases[0].Skipped.Message, "known-failing: known bug")
	run := doc.Suites[len(doc.Suites)-1]
	assert.Equal(t, "run", run.Name)
	require.Len(t, run.Cases, 1)
	assert.NotNil(t, run.Cases[0].Error, "a run problem is an error case a CI sees")
}

func TestHTMLRendersAndEscapes(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, report(t)))
	page := b.String()
	for _, want := range []string{"<!DOCTYPE html>", "CORE-001", "capabilities are stable", "SNAP-001",
		"the provider does not offer clones", "dialect cannot express it", "Provider logs", "<details>",
		"Failures", "level=INFO msg=start", "<svg"} {
		assert.Contains(t, page, want)
	}
	assert.NotContains(t, page, "<script>", "provider text is escaped")
	assert.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.NotRegexp(t, regexp.MustCompile(`(src|href)="https?:`), page, "self-contained: no external resources")
	assert.NotContains(t, page, "<span>Image</span>", "no image row when results.json records none")
}

func TestHeadersNameTheImageAndVersionUnderTest(t *testing.T) {
	r := report(t)
	r.Provider.Image = "ghcr.io/x/provider-file:1.0.0"
	r.Provider.Version = "v1.0.0<b>"
	var page, md bytes.Buffer
	require.NoError(t, WriteHTML(&page, r))
	require.NoError(t, WriteMarkdown(&md, r))
	assert.Contains(t, page.String(), "<div><span>Image</span> ghcr.io/x/provider-file:1.0.0 (declared in the configuration, not run by this target)</div>")
	assert.Contains(t, page.String(), "<div><span>Provider</span> file v1.0.0&lt;b&gt;</div>", "version escaped")
	assert.Contains(t, md.String(), "\nTested: image **ghcr.io/x/provider-file:1.0.0** (declared in the configuration), version **v1.0.0&lt;b&gt;**\n",
		"the process target runs no image: the one named is the configuration's")

	r.Provider.Version = ""
	md.Reset()
	require.NoError(t, WriteMarkdown(&md, r))
	r.Target.Kind = "container"
	require.NoError(t, WriteMarkdown(&md, r))
	assert.Contains(t, md.String(), "\nTested: image **ghcr.io/x/provider-file:1.0.0**\n", "the image the container target ran")
	r.Provider.Image = ""
	md.Reset()
	require.NoError(t, WriteMarkdown(&md, r))
	assert.NotContains(t, md.String(), "Tested:", "older results.json: no line")
}

func TestMarkdownSummary(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteMarkdown(&b, report(t)))
	md := b.String()
	assert.Contains(t, md, "## ❌ vcts conformance: **fail**")
	assert.Contains(t, md, "| core | ❌ fail | 2 | 1 | 1 | 0 |")
	assert.Contains(t, md, "| clone | ⏭ skip | 0 | 0 | 1 | 0 | the provider does not offer clones |")
	assert.Contains(t, md, "### Failures")
	assert.Contains(t, md, "### Skipped")
	assert.NotContains(t, md, "<script>")
	rows := 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ❌ | `CORE-002` | validate") {
			continue
		}
		rows++
		// A failure row keeps exactly its four columns despite the pipes in the reason.
		unescaped := strings.Count(line, "|") - strings.Count(line, `\|`)
		assert.Equal(t, 5, unescaped, line)
	}
	assert.Equal(t, 1, rows, "the failure row is there, on one line")
}

func TestBadgeFromResultsOnly(t *testing.T) {
	r := report(t)
	colour := regexp.MustCompile(`<rect x="\d+" width="\d+" height="20" fill="(#[0-9a-f]+)"/>`)
	width := regexp.MustCompile(`<svg [^>]*width="(\d+)"`)
	for v, want := range map[results.Verdict]string{
		results.VerdictPass: "#4c1", results.VerdictPartial: "#dfb317", results.VerdictFail: "#e05d44",
	} {
		r.Verdict = v
		svg := Badge(r)
		wellFormed(t, svg)
		assert.Equal(t, want, string(colour.FindSubmatch(svg)[1]), string(v))
		assert.Contains(t, string(svg), ">"+string(v)+"</text>")
		assert.Contains(t, string(svg), `aria-label="conformance: `+string(v)+`"`)
		w, _ := strconv.Atoi(string(width.FindSubmatch(svg)[1]))
		assert.True(t, w >= 90 && w <= 140, "badge width %d is out of proportion for %q", w, v)
		assert.Equal(t, svg, Badge(r), "deterministic")
	}
	r.Verdict = "<x>"
	assert.NotContains(t, string(Badge(r)), "<x>", "a hostile verdict in a results.json is escaped")
	wellFormed(t, Badge(r))
}

func TestTextWidthGrowsWithText(t *testing.T) {
	assert.Less(t, textWidth("pass"), textWidth("partial"))
	assert.Less(t, textWidth("iiii"), textWidth("mmmm"))
	assert.InDelta(t, 74, textWidth("conformance"), 8, "close to Verdana 11px")
}

func TestWriteAllAndReRender(t *testing.T) {
	dir := t.TempDir()
	r := report(t)
	files, err := WriteAll(dir, r, []byte(`[{"cucumber":true}]`))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	assert.ElementsMatch(t, []string{ResultsFile, JUnitFile, HTMLFile, SummaryFile, BadgeFile, CatalogFile, CucumberFile}, names)

	// Every renderer reads only results.json: rendering from the parsed file gives the
	// same bytes as rendering from the run's report.
	loaded, err := results.Load(filepath.Join(dir, ResultsFile))
	require.NoError(t, err)
	again := t.TempDir()
	_, err = WriteAll(again, loaded, nil)
	require.NoError(t, err)
	for _, n := range []string{ResultsFile, JUnitFile, HTMLFile, SummaryFile, BadgeFile, CatalogFile} {
		a, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(again, n))
		require.NoError(t, err)
		assert.Equal(t, string(a), string(b), n)
	}
	_, err = os.Stat(filepath.Join(again, CucumberFile))
	assert.True(t, os.IsNotExist(err), "cucumber JSON is the run's own output, not re-rendered")
}

func TestNotesAreShownWithoutFailingAnything(t *testing.T) {
	r := report(t)
	r.Notes = []string{"scenarios ran one at a time <b>"}
	var page, md bytes.Buffer
	require.NoError(t, WriteHTML(&page, r))
	require.NoError(t, WriteMarkdown(&md, r))
	assert.Contains(t, page.String(), "<h2>Notes</h2>")
	assert.Contains(t, page.String(), "<li>scenarios ran one at a time &lt;b&gt;</li>")
	assert.Contains(t, md.String(), "### Notes\n\n- ℹ️ scenarios ran one at a time &lt;b&gt;\n")
	var junit bytes.Buffer
	require.NoError(t, WriteJUnit(&junit, r))
	assert.NotContains(t, junit.String(), "one at a time", "a note is no test failure")
}

func TestRunsSharingAFolderWriteOneAtATime(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(dir) // another run, in the middle of writing its reports
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := WriteAll(dir, report(t), []byte(`[]`))
		done <- err
	}()
	select {
	case err := <-done:
		unlock()
		t.Fatalf("WriteAll finished (%v) while another run held the folder", err)
	case <-time.After(200 * time.Millisecond):
	}
	_, err = os.Stat(filepath.Join(dir, ResultsFile))
	assert.True(t, os.IsNotExist(err), "nothing is written before the other run is done")
	unlock()
	require.NoError(t, <-done)

	// Many runs at once: the folder holds one run's complete set.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				r := report(t)
				r.RunID = fmt.Sprintf("vcts-w%d-%02d", w, i)
				_, err := WriteAll(dir, r, []byte(`[]`))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	loaded, err := results.Load(filepath.Join(dir, ResultsFile))
	require.NoError(t, err)
	for _, n := range []string{JUnitFile, HTMLFile, SummaryFile} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		assert.Contains(t, string(b), loaded.RunID, "%s belongs to the run results.json is from", n)
	}
}

func TestCheckDirRefusesADirectoryWhereAReportGoes(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, CheckDir(dir))
	require.NoError(t, os.Mkdir(filepath.Join(dir, JUnitFile), 0o755))
	err := CheckDir(dir)
	require.ErrorContains(t, err, "junit.xml is a directory")
}

func TestHeadlineOfARunThatNeverReachedTheProvider(t *testing.T) {
	r := &results.Report{Problems: []string{"process target: provider exited before it was SERVING"}}
	results.Evaluate(r, []results.RequirementInfo{{ID: "CORE-001", Profile: "core", Rule: "r"}}, nil,
		results.Plan{Profiles: []string{"core"}, Selected: 1, Aborted: true})
	h := Headline(r)
	assert.True(t, strings.HasPrefix(h, "❌ Not tested: process target: provider exited"), h)
	assert.Contains(t, h, "nothing is known about the provider")
}
