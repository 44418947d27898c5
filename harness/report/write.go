// Package report renders a conformance run for people and machines: JUnit XML, cucumber
// JSON, an HTML page, a Markdown summary, results.json, an SVG badge and a catalog entry.
// Every renderer reads only a *results.Report (a parsed results.json), so `vcts report`
// re-renders exactly what the run wrote.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vctsio/vcts/harness/catalog"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/internal/atomicfile"
)

// File names inside the report directory.
const (
	ResultsFile  = "results.json"
	JUnitFile    = "junit.xml"
	CucumberFile = "cucumber.json"
	HTMLFile     = "report.html"
	SummaryFile  = "summary.md"
	BadgeFile    = "badge.svg"
	CatalogFile  = "catalog.yaml"
	// lockFile serializes runs that write into the same folder.
	lockFile = ".vcts-reports.lock"
)

// CheckDir creates dir when needed and proves that files can be written there, so a run
// learns before it starts, not after, that its reports would be lost.
func CheckDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".vcts-write-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	if err := errors.Join(f.Close(), os.Remove(name)); err != nil {
		return err
	}
	for _, n := range []string{ResultsFile, JUnitFile, CucumberFile, HTMLFile, SummaryFile, BadgeFile, CatalogFile} {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.IsDir() {
			return fmt.Errorf("%s is a directory; a report file goes there", filepath.Join(dir, n))
		}
	}
	return nil
}

// WriteAll writes every report into dir (created if missing) and returns the paths
// written. cucumber is godog's cucumber JSON of the run; nil skips that file (a re-render
// from results.json has none). Each file is replaced atomically, and the whole set under a
// lock of the folder: runs sharing a folder leave the last one's reports, not a mix.
func WriteAll(dir string, r *results.Report, cucumber []byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	type render struct {
		name string
		fn   func() ([]byte, error)
	}
	renders := []render{
		{ResultsFile, r.Marshal},
		{JUnitFile, buffer(func(b *bytes.Buffer) error { return WriteJUnit(b, r) })},
		{HTMLFile, buffer(func(b *bytes.Buffer) error { return WriteHTML(b, r) })},
		{SummaryFile, buffer(func(b *bytes.Buffer) error { return WriteMarkdown(b, r) })},
		{BadgeFile, func() ([]byte, error) { return Badge(r), nil }},
		{CatalogFile, func() ([]byte, error) { return catalog.MarshalYAML(catalog.FromReport(r)) }},
	}
	if cucumber != nil {
		renders = append(renders, render{CucumberFile, func() ([]byte, error) { return cucumber, nil }})
	}
	var written []string
	for _, rd := range renders {
		data, err := rd.fn()
		if err != nil {
			return written, fmt.Errorf("render %s: %w", rd.name, err)
		}
		path := filepath.Join(dir, rd.name)
		if err := atomicfile.WriteFile(path, data); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

func buffer(fn func(*bytes.Buffer) error) func() ([]byte, error) {
	return func() ([]byte, error) {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
}
