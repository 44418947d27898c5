// Package publish turns a real conformance run into a catalog submission (`vrtg-provider
// publish`): it reads results.json, refuses unless the run is of this provider and image
// and passed the core profile, derives the catalog entry from it (harness/catalog), adds
// or updates the entry in a catalog file, writes the verdict badge (harness/report) next to
// it, validates the file against the catalog schema and, given a checkout of the catalog
// repository, commits both on a new branch and prints the pull-request command. It never
// uses the network.
package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vctsio/vcts/harness/catalog"
	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/report"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/internal/atomicfile"
)

// Defaults of the file options.
const (
	DefaultResults = "reports/results.json"
	// DefaultCatalogInRepo is the catalog file inside a catalog checkout (VirtRigaud's
	// repository keeps it there).
	DefaultCatalogInRepo = "providers/catalog.yaml"
	// DefaultCatalog is the catalog file written without a checkout.
	DefaultCatalog = "catalog.yaml"
	// BadgeDir holds the badges, beside the catalog file.
	BadgeDir = "badges"
)

// Options describe one publication. Name, Image, Tag, Repo, Maintainer and License are
// required; the other entry fields fall back to the catalog section recorded in
// results.json (vcts-config.yaml's catalog keys).
type Options struct {
	Name, Image, Tag, Repo, Maintainer, License string

	DisplayName, Description, Maturity, Documentation string
	Tags                                              []string
	ReportURL, BadgeURL                               string

	// Results is the results.json of the run (default reports/results.json).
	Results string
	// Catalog is the catalog file to create or update; relative paths are relative to
	// CatalogRepo when it is set. Default: providers/catalog.yaml in CatalogRepo, else
	// catalog.yaml.
	Catalog string
	// CatalogRepo is a git checkout of the catalog repository: the entry and badge are
	// committed there on a new branch add-provider-NAME-TAG.
	CatalogRepo string

	// Now stamps metadata.lastUpdated (default time.Now).
	Now func() time.Time
	// Out receives what publish did and what to run next.
	Out io.Writer
}

// Result is what a publication wrote.
type Result struct {
	Entry       catalog.Entry
	CatalogPath string
	BadgePath   string
	// Updated is true when an entry of that name was replaced rather than added.
	Updated bool
	// Branch and Commit are set when CatalogRepo was given.
	Branch, Commit, Base string
	// Next are the commands that submit the branch (push, pull request).
	Next []string
}

// RefusedError is a publication publish will not make: the results do not support it or
// the catalog would be invalid. Nothing was written.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "publish refused: " + e.Reason }

func refuse(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// UsageError is a missing or malformed option (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Run publishes. Every check runs before the first file is written or the first git
// command changes anything.
func Run(ctx context.Context, o Options) (*Result, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if err := o.checkRequired(); err != nil {
		return nil, err
	}
	if o.Results == "" {
		o.Results = DefaultResults
	}

	rep, err := loadResults(o.Results)
	if err != nil {
		return nil, err
	}
	if err := checkIdentity(rep, o); err != nil {
		return nil, err
	}
	if err := checkCore(rep); err != nil {
		return nil, err
	}
	entry := o.entry(rep)
	if err := catalog.Validate(entry); err != nil {
		var ve *catalog.ValidationError
		if errors.As(err, &ve) {
			// Bad input, from the flags or the configuration: a usage error (exit 2).
			return nil, &UsageError{Err: fmt.Errorf("the catalog entry would be invalid (fix the flags or the catalog section of vcts-config.yaml):\n  %s",
				strings.Join(ve.Problems, "\n  "))}
		}
		return nil, err
	}

	var repo *gitRepo
	catalogPath := o.Catalog
	if o.CatalogRepo != "" {
		if repo, err = openRepo(ctx, o.CatalogRepo); err != nil {
			return nil, &UsageError{Err: err}
		}
		if catalogPath == "" {
			catalogPath = DefaultCatalogInRepo
		}
		if !filepath.IsAbs(catalogPath) {
			catalogPath = filepath.Join(repo.top, catalogPath)
		}
	} else if catalogPath == "" {
		catalogPath = DefaultCatalog
	}
	if catalogPath, err = filepath.Abs(catalogPath); err != nil {
		return nil, err
	}
	badgePath := filepath.Join(filepath.Dir(catalogPath), BadgeDir, entry.Name+".svg")

	existing, err := os.ReadFile(catalogPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	doc, updated, err := upsertEntry(existing, entry, now())
	if err != nil {
		return nil, refuse("%s: %v", catalogPath, err)
	}
	if err := catalog.ValidateDocument(doc); err != nil {
		return nil, refuse("%s would not validate against the catalog schema after the change (other entries may be invalid already):\n%v", catalogPath, err)
	}
	res := &Result{Entry: entry, CatalogPath: catalogPath, BadgePath: badgePath, Updated: updated}

	var relCatalog, relBadge string
	if repo != nil {
		if relCatalog, err = repo.rel(catalogPath); err != nil {
			return nil, &UsageError{Err: err}
		}
		if relBadge, err = repo.rel(badgePath); err != nil {
			return nil, &UsageError{Err: err}
		}
		res.Branch = "add-provider-" + entry.Name + "-" + entry.Tag
		if res.Base, err = repo.preflight(ctx, res.Branch, relCatalog, relBadge); err != nil {
			return nil, refuse("%v", err)
		}
		if _, err := repo.run(ctx, "checkout", "--quiet", "-b", res.Branch); err != nil {
			return nil, err
		}
	}

	if err := writeFile(catalogPath, doc); err != nil {
		return res, err
	}
	if err := writeFile(badgePath, report.Badge(rep)); err != nil {
		return res, err
	}
	verb := "Added"
	if updated {
		verb = "Updated"
	}
	fmt.Fprintf(out, "%s %s in %s\nBadge: %s\n", verb, entry.Name, catalogPath, badgePath)
	fmt.Fprintf(out, "Conformance (%s, run %s): %s\n", entry.Conformance.LastTested, rep.RunID, profileSummary(entry))
	if rep.Verdict != results.VerdictPass {
		fmt.Fprintf(out, "note: the run's verdict is %s (core passed); the entry and the badge say so\n", rep.Verdict)
	}

	if repo == nil {
		fmt.Fprintln(out, "\nTo submit it, run publish again with --catalog-repo pointing at a checkout of the catalog repository.")
		return res, nil
	}
	subject := fmt.Sprintf("Add provider %s %s to the catalog", entry.Name, entry.Tag)
	if updated {
		subject = fmt.Sprintf("Update provider %s to %s in the catalog", entry.Name, entry.Tag)
	}
	body := prBody(entry, rep)
	if res.Commit, err = repo.commit(ctx, subject, body, relCatalog, relBadge); err != nil {
		return res, fmt.Errorf("branch %s was created but the commit failed: %w", res.Branch, err)
	}
	res.Next = []string{
		fmt.Sprintf("git -C %s push -u origin %s", shellQuote(repo.top), res.Branch),
		fmt.Sprintf("cd %s && gh pr create --head %s%s --title %s --body %s",
			shellQuote(repo.top), res.Branch, baseFlag(res.Base), shellQuote(subject), shellQuote(body)),
	}
	fmt.Fprintf(out, "Committed %s on branch %s of %s", shortHash(res.Commit), res.Branch, repo.top)
	if res.Base != "" {
		fmt.Fprintf(out, " (from %s)", res.Base)
	}
	fmt.Fprintf(out, ".\n\nOpen the pull request:\n  %s\n  %s\n", res.Next[0], res.Next[1])
	return res, nil
}

func (o Options) checkRequired() error {
	var missing []string
	for _, f := range []struct{ flag, v string }{
		{"--name", o.Name}, {"--image", o.Image}, {"--tag", o.Tag}, {"--repo", o.Repo},
		{"--maintainer", o.Maintainer}, {"--license", o.License},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		return &UsageError{Err: fmt.Errorf("missing %s", strings.Join(missing, ", "))}
	}
	return nil
}

func loadResults(path string) (*results.Report, error) {
	rep, err := results.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, refuse("no results at %s: run `vrtg-provider verify` (it writes reports/results.json) or give --results", path)
	case err != nil:
		return nil, refuse("cannot read the results: %v", err)
	}
	return rep, nil
}

// checkIdentity makes sure the results are for the provider and image being published:
// provider.name, and the image results.json records (recordedImage).
func checkIdentity(rep *results.Report, o Options) error {
	if rep.Provider.Name != o.Name {
		return refuse("the results are for provider %q, not %q (provider.name in vcts-config.yaml)", rep.Provider.Name, o.Name)
	}
	if d := rep.Provider.Dialect; d != "" && d != config.DialectV1 {
		return refuse("the results are for the %s dialect; the catalog lists providers of the VirtRigaud v1 wire protocol (provider.dialect: v1)", d)
	}
	image, tag, source := recordedImage(rep)
	if image == "" {
		return refuse("the results do not say which image was tested: set catalog.image: %s in vcts-config.yaml and run `vrtg-provider verify` again", o.Image)
	}
	if image != o.Image {
		return refuse("the results are for image %s (%s), not %s", image, source, o.Image)
	}
	if tag != "" && tag != o.Tag {
		return refuse("the results are for %s:%s (%s), not tag %s", image, tag, source, o.Tag)
	}
	return nil
}

// recordedImage returns the image repository and tag the results name, and where from:
// provider.image, which the runner records; for a results.json written before it existed,
// the same inference from the redacted configuration the run used (the container target's
// image when the suite ran one, else catalog.image and catalog.tag).
func recordedImage(rep *results.Report) (image, tag, source string) {
	if rep.Provider.Image != "" {
		image, tag = splitImage(rep.Provider.Image)
		return image, tag, "provider.image in results.json"
	}
	c := rep.Config
	if rep.Target.Kind == config.TargetContainer && c.Target.Image != "" {
		image, tag = splitImage(c.Target.Image)
		return image, tag, "the container image the suite ran"
	}
	if c.Catalog.Image != "" {
		image, tag = splitImage(c.Catalog.Image)
		if c.Catalog.Tag != "" {
			tag = c.Catalog.Tag
		}
		return image, tag, "catalog.image of the configuration the run used"
	}
	return "", "", ""
}

// splitImage splits repo[:tag][@digest]; a colon before the last slash is a registry port.
func splitImage(ref string) (repo, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon], ref[colon+1:]
	}
	return ref, ""
}

func checkCore(rep *results.Report) error {
	core, ok := rep.Profile(config.ProfileCore)
	if !ok {
		return refuse("the results have no core profile: run the suite with --profile core or all")
	}
	if core.Verdict == results.VerdictPass {
		return nil
	}
	var failed []string
	for _, q := range rep.Requirements {
		if q.Profile == config.ProfileCore && q.Status != results.Passed {
			failed = append(failed, fmt.Sprintf("%s %s", q.ID, q.Status))
		}
	}
	msg := fmt.Sprintf("the core profile is %s, and only a provider that passes core can be published", core.Verdict)
	if core.Reason != "" {
		msg += " (" + core.Reason + ")"
	}
	if len(failed) > 0 {
		msg += ": " + strings.Join(failed, ", ")
	}
	return refuse("%s", msg)
}

// entry derives the entry from the results (catalog.FromReport) and lays the options over it.
func (o Options) entry(rep *results.Report) catalog.Entry {
	e := catalog.FromReport(rep)
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	e.Name, e.Image, e.Tag = o.Name, o.Image, o.Tag
	e.Repo, e.Maintainer, e.License = o.Repo, o.Maintainer, o.License
	set(&e.DisplayName, o.DisplayName)
	set(&e.Description, o.Description)
	set(&e.Maturity, o.Maturity)
	set(&e.Documentation, o.Documentation)
	set(&e.Conformance.ReportURL, o.ReportURL)
	set(&e.Conformance.BadgeURL, o.BadgeURL)
	if len(o.Tags) > 0 {
		e.Tags = slices.Clone(o.Tags)
	}
	return e
}

func profileSummary(e catalog.Entry) string {
	var parts []string
	for _, p := range config.AllProfiles {
		if v, ok := e.Conformance.Profiles[p]; ok {
			parts = append(parts, p+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}

func prBody(e catalog.Entry, rep *results.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Catalog entry for %s (%s:%s), generated by vrtg-provider publish from results.json.\n\n", e.Name, e.Image, e.Tag)
	fmt.Fprintf(&b, "Conformance: %s; vcts %s, spec %s, run %s at %s.\n", profileSummary(e),
		rep.Suite.Version, rep.Suite.SpecVersion, rep.RunID, e.Conformance.LastTested)
	if e.Conformance.ReportURL != "" {
		fmt.Fprintf(&b, "Report: %s\n", e.Conformance.ReportURL)
	}
	return b.String()
}

func baseFlag(base string) string {
	if base == "" || base == "HEAD" {
		return ""
	}
	return " --base " + base
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data)
}
