package results

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vctsio/vcts/harness/config"
)

// APIVersion names the schema of results.json. Additive changes keep it; anything else
// bumps it.
const APIVersion = "vcts.dev/results/v1"

// Verdict is the outcome of a profile or of the whole run.
type Verdict string

const (
	// VerdictPass: every selected scenario of the profile ran and passed.
	VerdictPass Verdict = "pass"
	// VerdictPartial: nothing failed unexpectedly, but a scenario was skipped (e.g. the
	// dialect cannot express it) or failed as listed in the known-failing file.
	VerdictPartial Verdict = "partial"
	// VerdictFail: a scenario failed, a known-failing entry passed (stale), or nothing ran.
	VerdictFail Verdict = "fail"
	// VerdictSkip: the profile did not run (not offered by the provider, or disabled in
	// the configuration); Reason says which. It never makes a run fail or partial.
	VerdictSkip Verdict = "skip"
)

// Report is results.json: everything a conformance run established. Every other report
// format (JUnit, HTML, Markdown, badge, catalog entry) is rendered from it alone.
type Report struct {
	APIVersion string    `json:"apiVersion"`
	Suite      Suite     `json:"suite"`
	RunID      string    `json:"runID"`
	Provider   Provider  `json:"provider"`
	Target     Target    `json:"target"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Verdict is the run's: fail if any profile fails or nothing ran, partial if any
	// profile is partial, pass otherwise.
	Verdict Verdict `json:"verdict"`
	// Problems are run-level failures that belong to no scenario (nothing selected, a
	// scenario that recorded no result, the run interrupted, ...).
	Problems []string `json:"problems,omitempty"`
	// Notes are run-level observations that change how the run went without failing it
	// (e.g. scenarios ran one at a time because the provider reuses the ids of deleted VMs).
	Notes        []string      `json:"notes,omitempty"`
	Profiles     []Profile     `json:"profiles"`
	Requirements []Requirement `json:"requirements"`
	Scenarios    []Scenario    `json:"scenarios"`
	// KnownFailing is the known-failing list the run was given.
	KnownFailing []string `json:"knownFailing,omitempty"`
	// KnownFlaky is the known-flaky list the run was given.
	KnownFlaky []string `json:"knownFlaky,omitempty"`
	// Config is the configuration the run used, redacted (no key material, no secrets).
	Config config.File `json:"config"`
	// ProviderLogs is the tail of the provider's output, when the target could capture it.
	ProviderLogs string `json:"providerLogs,omitempty"`
	// Timings splits the run's wall time into its phases.
	Timings *Timings `json:"timings,omitempty"`
}

// Timings are the phases of a run (JSON: integer nanoseconds). Suite is the time to
// verdict of the scenarios themselves, without starting or stopping the provider.
type Timings struct {
	TargetStart time.Duration `json:"targetStart"`
	Suite       time.Duration `json:"suite"`
	Cleanup     time.Duration `json:"cleanup"`
	TargetStop  time.Duration `json:"targetStop"`
}

// Suite identifies the kit that produced the report.
type Suite struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	SpecVersion string `json:"specVersion"`
	GoVersion   string `json:"goVersion,omitempty"`
}

// Provider is what was tested.
type Provider struct {
	Name string `json:"name"`
	// Image is the image reference that was tested: the one the target ran (container,
	// kind), else the image the configuration declares for the provider (catalog.image
	// with catalog.tag, or target.image); empty when nothing says. Added in v1; older
	// files lack it.
	Image string `json:"image,omitempty"`
	// Version is the provider's version when the target can tell it (the reference
	// provider's build, an image's org.opencontainers.image.version label); empty when
	// unknown.
	Version  string `json:"version,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	Dialect  string `json:"dialect"`
	TLS      bool   `json:"tls"`
	// Capabilities as read on the wire; nil when GetCapabilities failed (CapabilitiesError).
	Capabilities      *Capabilities `json:"capabilities,omitempty"`
	CapabilitiesError string        `json:"capabilitiesError,omitempty"`
}

// Capabilities is the provider's own answer to GetCapabilities, as the suite reads it.
type Capabilities struct {
	Snapshots bool `json:"snapshots"`
	Clones    bool `json:"clones"`
	// Raw is the printable form of the provider's answer.
	Raw string `json:"raw,omitempty"`
}

// Target says how the provider was reached.
type Target struct {
	// Kind is process, endpoint, container (or kind).
	Kind string `json:"kind"`
	// Mode refines the kind, e.g. process: "binary" or "in-process".
	Mode string `json:"mode,omitempty"`
	// Detail is a human-readable description (binary path, image, address).
	Detail string `json:"detail,omitempty"`
}

// Profile is one profile's verdict.
type Profile struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// Reason explains a skip or summarises a failure.
	Reason       string `json:"reason,omitempty"`
	Passed       int    `json:"passed"`
	Failed       int    `json:"failed"`
	Skipped      int    `json:"skipped"`
	KnownFailing int    `json:"knownFailing"`
	Stale        int    `json:"stale"`
	// NotSelected counts the profile's requirements that the tag selection left out: they
	// did not run, so the profile is at best partial. They are listed among the requirements
	// as skipped.
	NotSelected int `json:"notSelected,omitempty"`
}

// Requirement is one requirement's status, aggregated over its scenarios.
type Requirement struct {
	ID          string `json:"id"`
	Profile     string `json:"profile"`
	Feature     string `json:"feature,omitempty"`
	Rule        string `json:"rule,omitempty"`
	Description string `json:"description,omitempty"`
	Status      Status `json:"status"`
	// Duration is the sum of its scenarios' durations (JSON: integer nanoseconds).
	Duration  time.Duration `json:"duration"`
	Reason    string        `json:"reason,omitempty"`
	Scenarios int           `json:"scenarios"`
}

// Profile returns the named profile's result, or false.
func (r *Report) Profile(name string) (Profile, bool) {
	for _, p := range r.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// ExitCode is the CLI's exit status for the run: 0 pass (conformant), 3 partial (nothing
// failed unexpectedly, but not everything ran and passed), 1 fail. (2 is reserved for bad
// flags or configuration, decided before any run.)
func (r *Report) ExitCode() int {
	switch r.Verdict {
	case VerdictPass:
		return 0
	case VerdictPartial:
		return 3
	}
	return 1
}

// Marshal encodes the report as indented JSON.
func (r *Report) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Decode reads a results.json of this schema. Keys it does not know are ignored: v1 only
// grows additively, so an older vcts can still render a newer v1 file.
func Decode(rd io.Reader) (*Report, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a results.json: %w", err)
	}
	if head.APIVersion != APIVersion {
		return nil, fmt.Errorf("unsupported results apiVersion %q (this vcts reads %s)", head.APIVersion, APIVersion)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("results.json: %w", err)
	}
	return &r, nil
}

// Load reads a results.json file.
func Load(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
