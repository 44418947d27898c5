package steps

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"time"

	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/steps/driver"
)

// Profiles a Config can select. They match the profile tags of the feature files.
const (
	ProfileCore     = "core"
	ProfileSnapshot = "snapshot"
	ProfileClone    = "clone"
)

// Defaults applied by NewConfig and, for zero fields, by New.
const (
	DefaultIdempotentCount = 3
	DefaultParallelCreates = 8
	DefaultListCount       = 60
	// MaxListCount bounds the VMs one scenario holds at once.
	MaxListCount       = 999
	DefaultCallTimeout = 10 * time.Second
	DefaultTaskTimeout = 60 * time.Second
)

// DefaultVMSpec suits the reference file provider.
var DefaultVMSpec = driver.Spec{CPU: 2, MemoryMiB: 2048, Image: "ubuntu-22.04", DiskGiB: 10}

// Config is everything the step definitions need for one run. The runner (harness) fills it;
// NewConfig gives the defaults that suit the reference file provider.
type Config struct {
	// Driver talks to the provider under test in one dialect.
	Driver driver.Driver
	// RunID prefixes every name the suite creates, so runs and scenarios never collide.
	// Lowercase letters, digits and dashes, starting with a letter, at most 24 characters.
	RunID string
	// Profiles maps a profile (core, snapshot, clone) to "" when it runs, or to the reason it
	// is skipped (e.g. "GetCapabilities: supports_snapshots=false"). A profile missing from
	// the map is skipped as "not selected".
	Profiles map[string]string
	// Capabilities is the answer Profiles were selected from, asked before the suite made
	// anything; CORE-063 holds the provider to it once VMs exist. Leave it nil when the
	// profiles were chosen otherwise: the suite then asks once itself, before its first VM.
	Capabilities *driver.Capabilities
	// IdempotentCount is how many times each lifecycle call is repeated (default 3).
	IdempotentCount int
	// ParallelCreates is how many distinct VMs the concurrency scenario creates at once.
	ParallelCreates int
	// ListCount is how many VMs the scenario that checks ListVMs for completeness holds at
	// once (default 60, at most MaxListCount), created at most ParallelCreates at a time.
	ListCount int
	// CallTimeout bounds every single gRPC call; TaskTimeout bounds waiting for a task.
	CallTimeout time.Duration
	TaskTimeout time.Duration
	// VMSpec feeds every create payload (provider-specific inputs come from configuration).
	// Scenarios that state CPU and memory replace those two fields only.
	VMSpec driver.Spec
	// UnknownVMID, when set, is used as a well-formed id of a VM that does not exist;
	// otherwise the suite creates and deletes a VM to obtain one.
	UnknownVMID string
	// UnknownSnapshotID, when set, is used as a well-formed id of a snapshot that does not
	// exist; otherwise the suite takes and deletes a snapshot to obtain one (or, when the
	// dialect cannot delete snapshots, makes one up).
	UnknownSnapshotID string
	// UnknownTaskID is a task id the provider never issued (default: made up from RunID).
	UnknownTaskID string
	madeUpTaskID  bool // UnknownTaskID is the default, not the user's
	// Results receives one record per scenario, passed, failed or skipped.
	Results *results.Collector
}

// NewConfig returns the defaults: every profile selected, a fresh RunID, 3 repetitions,
// 8 parallel creates, 10s per call, 60s per task, DefaultVMSpec and an empty Collector.
// Driver must still be set.
func NewConfig() Config {
	return Config{
		RunID:           NewRunID(),
		Profiles:        map[string]string{ProfileCore: "", ProfileSnapshot: "", ProfileClone: ""},
		IdempotentCount: DefaultIdempotentCount,
		ParallelCreates: DefaultParallelCreates,
		ListCount:       DefaultListCount,
		CallTimeout:     DefaultCallTimeout,
		TaskTimeout:     DefaultTaskTimeout,
		VMSpec:          DefaultVMSpec,
		Results:         &results.Collector{},
	}
}

// SelectProfiles derives Config.Profiles from what the provider advertises on the wire: core
// always runs; snapshot and clone run when offered and are otherwise skipped, with the
// provider's own answer as the reason.
func SelectProfiles(c driver.Capabilities) map[string]string {
	p := map[string]string{ProfileCore: "", ProfileSnapshot: "", ProfileClone: ""}
	if !c.Snapshots {
		p[ProfileSnapshot] = "the provider does not advertise snapshots (" + c.Raw + ")"
	}
	if !c.Clones {
		p[ProfileClone] = "the provider does not offer clones (" + c.Raw + ")"
	}
	return p
}

// NewRunID returns "vcts-" and six random lowercase letters and digits.
func NewRunID() string { return "vcts-" + randomSuffix(6) }

var runIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,23}$`)

// withDefaults fills zero fields with the defaults and rejects values that cannot work.
func (c Config) withDefaults() (Config, error) {
	if c.Driver == nil {
		return c, fmt.Errorf("steps config: no driver")
	}
	if c.RunID == "" {
		c.RunID = NewRunID()
	}
	if !runIDPattern.MatchString(c.RunID) {
		return c, fmt.Errorf("steps config: run id %q: want lowercase letters, digits and dashes, starting with a letter, at most 24 characters", c.RunID)
	}
	if c.Profiles == nil {
		c.Profiles = map[string]string{ProfileCore: "", ProfileSnapshot: "", ProfileClone: ""}
	}
	for p := range c.Profiles {
		if p != ProfileCore && p != ProfileSnapshot && p != ProfileClone {
			return c, fmt.Errorf("steps config: unknown profile %q (known: core, snapshot, clone)", p)
		}
	}
	fill := func(v *int, def int, name string) error {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			return fmt.Errorf("steps config: %s must be positive, got %d", name, *v)
		}
		return nil
	}
	fillD := func(v *time.Duration, def time.Duration, name string) error {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			return fmt.Errorf("steps config: %s must be positive, got %s", name, *v)
		}
		return nil
	}
	for _, err := range []error{
		fill(&c.IdempotentCount, DefaultIdempotentCount, "idempotent count"),
		fill(&c.ListCount, DefaultListCount, "list count"),
		fill(&c.ParallelCreates, DefaultParallelCreates, "parallel creates"),
		fillD(&c.CallTimeout, DefaultCallTimeout, "call timeout"),
		fillD(&c.TaskTimeout, DefaultTaskTimeout, "task timeout"),
	} {
		if err != nil {
			return c, err
		}
	}
	if c.VMSpec == (driver.Spec{}) {
		c.VMSpec = DefaultVMSpec
	}
	if c.VMSpec.CPU <= 0 || c.VMSpec.MemoryMiB <= 0 {
		return c, fmt.Errorf("steps config: VM spec needs positive CPU and memory, got cpu=%d memory_mib=%d", c.VMSpec.CPU, c.VMSpec.MemoryMiB)
	}
	if c.UnknownTaskID == "" {
		c.UnknownTaskID = c.RunID + "-unknown-task"
		c.madeUpTaskID = true
	}
	if c.Results == nil {
		c.Results = &results.Collector{}
	}
	return c, nil
}

const suffixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomSuffix makes names unique across runs and concurrent scenarios.
func randomSuffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	for i := range b {
		b[i] = suffixAlphabet[int(b[i])%len(suffixAlphabet)]
	}
	return string(b)
}
