package steps

import (
	"time"

	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/steps/driver"
)

// Config is everything the step definitions need for one run. The runner (harness) fills it;
// NewConfig gives the defaults that suit the reference file provider.
type Config struct {
	// Driver talks to the provider under test in one dialect.
	Driver driver.Driver
	// RunID prefixes every name the suite creates, so runs and scenarios never collide.
	RunID string
	// Profiles maps a profile (core, snapshot, clone) to "" when it runs, or to the reason it
	// is skipped (e.g. "GetCapabilities: supports_snapshots=false").
	Profiles map[string]string
	// IdempotentCount is how many times each lifecycle call is repeated (default 3).
	IdempotentCount int
	// ParallelCreates is how many distinct VMs the concurrency scenario creates at once.
	ParallelCreates int
	// CallTimeout bounds every single gRPC call; TaskTimeout bounds waiting for a task.
	CallTimeout time.Duration
	TaskTimeout time.Duration
	// VMSpec feeds every create payload (provider-specific inputs come from configuration).
	VMSpec driver.Spec
	// UnknownVMID, when set, is used as a well-formed id of a VM that does not exist;
	// otherwise the suite creates and deletes a VM to obtain one.
	UnknownVMID string
	// Results receives one record per scenario, passed, failed or skipped.
	Results *results.Collector
}
