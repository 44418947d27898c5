// Package config reads vcts-config.yaml: the tutorial's format (provider, profiles, tests)
// plus vcts's documented extensions. Every key is described in docs/config.md.
//
// The file is decoded strictly: an unknown key, a value of the wrong type or an invalid
// value is an *Error naming the key, which the CLI turns into exit code 2.
package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Profile names, in the order reports list them.
const (
	ProfileCore     = "core"
	ProfileSnapshot = "snapshot"
	ProfileClone    = "clone"
)

// AllProfiles lists every profile in report order.
var AllProfiles = []string{ProfileCore, ProfileSnapshot, ProfileClone}

// Target kinds.
const (
	TargetProcess   = "process"
	TargetEndpoint  = "endpoint"
	TargetContainer = "container"
	// TargetConnection: the caller supplies a gRPC connection (Go library use); nothing
	// is started or dialled.
	TargetConnection = "connection"
)

// Dialects the suite speaks.
const (
	DialectV1       = "v1"
	DialectTutorial = "tutorial"
)

// DefaultImage is the reference provider's image built by `make docker-build`.
const DefaultImage = "vcts/provider-file:dev"

// File is the whole configuration. It is also what results.json records (redacted) as the
// configuration a run used, so its JSON form is part of the results schema.
type File struct {
	Provider Provider `json:"provider"`
	Target   Target   `json:"target"`
	Profiles Profiles `json:"profiles"`
	Tests    Tests    `json:"tests"`
	Catalog  Catalog  `json:"catalog"`
}

// Provider describes the provider under test.
type Provider struct {
	// Name identifies the provider in reports and the catalog entry.
	Name string `json:"name,omitempty"`
	// Endpoint is host:port of a running provider (endpoint target).
	Endpoint string `json:"endpoint,omitempty"`
	TLS      TLS    `json:"tls"`
	// Dialect is the API the provider speaks: v1 (VirtRigaud wire protocol) or tutorial.
	Dialect string `json:"dialect,omitempty"`
	// UnknownVMID is a well-formed id of a VM that does not exist, in the provider's own
	// id format; empty means the suite creates and deletes a VM to obtain one.
	UnknownVMID string `json:"unknown_vm_id,omitempty"`
	// UnknownTaskID is a well-formed id of a task that does not exist, in the provider's
	// own task-id format; empty means the suite makes one up.
	UnknownTaskID string `json:"unknown_task_id,omitempty"`
}

// Target chooses how the provider under test is reached.
type Target struct {
	// Kind is process, endpoint or container. Empty means: endpoint when an endpoint is
	// configured, otherwise process.
	Kind string `json:"kind,omitempty"`
	// Image is the container target's image.
	Image string `json:"image,omitempty"`
	// Port is the provider's gRPC port inside the container (default 9443).
	Port int `json:"port,omitempty"`
	// ProviderBin is the process target's provider binary.
	ProviderBin string `json:"provider_bin,omitempty"`
	// StartTimeout bounds waiting for the provider to report SERVING.
	StartTimeout Duration `json:"start_timeout,omitempty"`
}

// Profiles enables profiles and feeds provider-specific inputs.
type Profiles struct {
	Core     CoreProfile `json:"core"`
	Snapshot Profile     `json:"snapshot"`
	Clone    Profile     `json:"clone"`
}

// Profile is an optional profile. It runs when enabled here AND offered by the provider.
type Profile struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// On reports whether the profile is enabled (default true).
func (p Profile) On() bool { return p.Enabled == nil || *p.Enabled }

// CoreProfile is the mandatory profile; it carries the VM specs used by every create (the
// first entry; empty means the suite's default VM).
type CoreProfile struct {
	Enabled *bool    `json:"enabled,omitempty"`
	VMSpecs []VMSpec `json:"vm_specs,omitempty"`
}

// VMSpec is the hardware and provider-specific payloads of the VMs the suite creates.
type VMSpec struct {
	Name string `json:"name,omitempty"`
	CPU  int32  `json:"cpu"`
	// Memory in MiB.
	Memory  int64  `json:"memory"`
	Image   string `json:"image,omitempty"`
	DiskGiB int32  `json:"disk_gib,omitempty"`
	// Raw JSON sent as image_json / networks_json / placement_json (v1 dialect). Written in
	// YAML either as a JSON string or as a YAML mapping/list.
	ImageJSON     RawJSON `json:"image_json,omitempty"`
	NetworksJSON  RawJSON `json:"networks_json,omitempty"`
	PlacementJSON RawJSON `json:"placement_json,omitempty"`
}

// Tests tunes the run.
type Tests struct {
	// Timeout bounds the whole run (default 30m).
	Timeout Duration `json:"timeout,omitempty"`
	// Parallel is how many scenarios run at once; the tutorial's `false` means 1.
	Parallel Parallel `json:"parallel,omitempty"`
	// Cleanup false keeps the process target's storage directory after the run (the suite
	// still deletes every VM it created).
	Cleanup *bool `json:"cleanup,omitempty"`
	// IdempotentCount is how often each lifecycle call is repeated (suite default 3).
	IdempotentCount int `json:"idempotent_count,omitempty"`
	// ParallelCreates is how many VMs the concurrency scenario creates at once (suite
	// default 8).
	ParallelCreates int `json:"parallel_creates,omitempty"`
	// ListVMs is how many VMs the scenario that checks ListVMs for completeness holds at once
	// (suite default 60, at most 999).
	ListVMs int `json:"list_vms,omitempty"`
	// CallTimeout bounds one gRPC call (suite default 10s); TaskTimeout bounds waiting for a
	// task (suite default 60s).
	CallTimeout Duration `json:"call_timeout,omitempty"`
	TaskTimeout Duration `json:"task_timeout,omitempty"`
	// KnownFailing is a file of requirement IDs that must fail (relative to the config file).
	KnownFailing string `json:"known_failing,omitempty"`
	// KnownFlaky is a file of requirement IDs that may fail (relative to the config file): a
	// failure makes the run partial instead of failed; a pass is a pass.
	KnownFlaky string `json:"known_flaky,omitempty"`
	// Tags is a godog tag expression narrowing the scenarios (e.g. "@CORE-001,@CORE-002").
	Tags string `json:"tags,omitempty"`
}

// CleanupOn reports whether cleanup is on (default true).
func (t Tests) CleanupOn() bool { return t.Cleanup == nil || *t.Cleanup }

// Catalog is the metadata of the provider's catalog entry (catalog.yaml in the reports).
type Catalog struct {
	DisplayName   string   `json:"displayName,omitempty"`
	Description   string   `json:"description,omitempty"`
	Repo          string   `json:"repo,omitempty"`
	Image         string   `json:"image,omitempty"`
	Tag           string   `json:"tag,omitempty"`
	Maintainer    string   `json:"maintainer,omitempty"`
	License       string   `json:"license,omitempty"`
	Maturity      string   `json:"maturity,omitempty"`
	Tags          []string `json:"tags,omitempty"`
	Documentation string   `json:"documentation,omitempty"`
	ReportURL     string   `json:"report_url,omitempty"`
	BadgeURL      string   `json:"badge_url,omitempty"`
}

// TLS is `tls: false|true` (tutorial) or a mapping {ca, cert, key, server_name}, which
// enables TLS; cert and key together enable mTLS.
type TLS struct {
	Enabled    bool
	CA         string
	Cert       string
	Key        string
	ServerName string
}

type tlsObject struct {
	CA         string `json:"ca,omitempty"`
	Cert       string `json:"cert,omitempty"`
	Key        string `json:"key,omitempty"`
	ServerName string `json:"server_name,omitempty"`
}

// UnmarshalJSON accepts a boolean or a mapping.
func (t *TLS) UnmarshalJSON(b []byte) error {
	var on bool
	if err := json.Unmarshal(b, &on); err == nil {
		*t = TLS{Enabled: on}
		return nil
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("want true, false or a mapping with ca, cert, key, server_name; got %s", brief(b))
	}
	var o tlsObject
	if err := decodeStrictObject(b, &o); err != nil {
		return fmt.Errorf("want true, false or a mapping with ca, cert, key, server_name: %v", err)
	}
	*t = TLS{Enabled: true, CA: o.CA, Cert: o.Cert, Key: o.Key, ServerName: o.ServerName}
	return nil
}

// MarshalJSON writes false, true, or the mapping when any file or name is set.
func (t TLS) MarshalJSON() ([]byte, error) {
	if !t.Enabled || (t.CA == "" && t.Cert == "" && t.Key == "" && t.ServerName == "") {
		return json.Marshal(t.Enabled)
	}
	return json.Marshal(tlsObject{CA: t.CA, Cert: t.Cert, Key: t.Key, ServerName: t.ServerName})
}

// Duration is a Go duration string ("30s", "5m") in the file.
type Duration time.Duration

// UnmarshalJSON parses a duration string; a bare number is rejected because its unit
// would be a guess.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as \"30s\" or \"5m\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as \"30s\" or \"5m\", got %q", s)
	}
	if v <= 0 {
		return fmt.Errorf("must be positive, got %q", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Parallel is the scenario concurrency: a positive integer, or the tutorial's boolean
// (false = 1, true = the default).
type Parallel int

// DefaultParallel is used when parallel is unset or true.
const DefaultParallel = 4

// MaxListVMs bounds tests.list_vms (the steps name the VMs l001 to l999).
const MaxListVMs = 999

// UnmarshalJSON accepts a positive integer or a boolean.
func (p *Parallel) UnmarshalJSON(b []byte) error {
	var on bool
	if err := json.Unmarshal(b, &on); err == nil {
		if on {
			*p = DefaultParallel
		} else {
			*p = 1
		}
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil || n < 1 {
		return fmt.Errorf("want a positive integer or true/false, got %s", b)
	}
	*p = Parallel(n)
	return nil
}

// RawJSON is a JSON document kept verbatim.
type RawJSON string

// UnmarshalJSON accepts a string holding JSON, or any mapping/list (re-encoded as JSON).
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if strings.TrimSpace(s) == "" {
			*r = ""
			return nil
		}
		if !json.Valid([]byte(s)) {
			return fmt.Errorf("the string is not valid JSON: %q", s)
		}
		*r = RawJSON(s)
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v.(type) {
	case map[string]any, []any:
	default:
		return fmt.Errorf("want a JSON string, a mapping or a list, got %s", b)
	}
	c, err := json.Marshal(v)
	if err != nil {
		return err
	}
	*r = RawJSON(c)
	return nil
}

// MarshalJSON writes the JSON as a string, so the document reads back unchanged.
func (r RawJSON) MarshalJSON() ([]byte, error) { return json.Marshal(string(r)) }

// DefaultTimeout bounds a whole run unless tests.timeout says otherwise.
const DefaultTimeout = 30 * time.Minute

// Default returns the configuration that suits the reference file provider. Keys that
// tune the step definitions (vm_specs, idempotent_count, parallel_creates, call_timeout,
// task_timeout) stay zero here, meaning "the suite's default"; the runner records the
// values in effect in results.json.
func Default() File {
	return File{
		Provider: Provider{Dialect: DialectV1},
		Tests:    Tests{Timeout: Duration(DefaultTimeout), Parallel: DefaultParallel},
	}
}
