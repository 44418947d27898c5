// Package conformance runs the VirtRigaud provider conformance suite from Go, so a provider
// author can certify a provider inside its own `go test`:
//
//	func TestConformance(t *testing.T) {
//		cfg := conformance.NewConfig()
//		cfg.Endpoint = "127.0.0.1:9443" // or cfg.Conn = an existing *grpc.ClientConn
//		conformance.Test(t, cfg)
//	}
//
// Test reports one subtest per requirement (CORE-001, SNAP-003, ...); Run returns the
// results.json report for callers that judge it themselves. Both run exactly what
// `vcts run` runs.
package conformance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/runner"
)

// TLS configures TLS (CA) or mTLS (CA + client certificate) to an Endpoint.
type TLS = config.TLS

// VMSpec is the VM every create asks for (provider-specific image, network and placement
// payloads included).
type VMSpec = config.VMSpec

// Config is a conformance run. NewConfig gives the defaults; zero fields keep them.
type Config struct {
	// Conn is an existing connection to the provider; when set, Endpoint and TLS are
	// ignored and nothing is started.
	Conn grpc.ClientConnInterface
	// Endpoint is host:port of a running provider. With neither Conn nor Endpoint the
	// reference file provider is started on 127.0.0.1 (process target).
	Endpoint string
	TLS      TLS
	// ProviderName names the provider in the report (default "file" for the reference).
	ProviderName string
	// Dialect is "v1" (VirtRigaud wire protocol, default) or "tutorial".
	Dialect string
	// Profiles to run: core, snapshot, clone (default all three). Snapshot and clone run
	// only when the provider offers them.
	Profiles []string
	// Tags narrows the scenarios with a godog tag expression ("@CORE-001,@CORE-002").
	Tags string
	// Concurrency is how many scenarios run at once (default 4).
	Concurrency int
	// IdempotentCount, ParallelCreates, ListVMs, CallTimeout and TaskTimeout tune the
	// steps; zero keeps the suite's defaults (3, 8, 60, 10s, 60s).
	IdempotentCount int
	ParallelCreates int
	ListVMs         int
	CallTimeout     time.Duration
	TaskTimeout     time.Duration
	// Timeout bounds the whole run (default 30m).
	Timeout time.Duration
	// VMSpec, when set, replaces the suite's default VM.
	VMSpec *VMSpec
	// UnknownVMID is a well-formed id of a VM that does not exist, in the provider's own
	// format; empty means the suite creates and deletes a VM to get one.
	UnknownVMID string
	// UnknownTaskID is a well-formed id of a task that does not exist, in the provider's
	// format; empty means the suite makes one up.
	UnknownTaskID string
	// KnownFailing lists requirement IDs that must fail; one that passes fails the run.
	KnownFailing []string
	// KnownFlaky lists requirement IDs that may fail: a failure is reported, not fatal.
	KnownFlaky []string
	// ReportDir, when set, receives every report (JUnit, HTML, results.json, ...).
	ReportDir string
	// Log receives the harness's operational messages; nil discards them.
	Log *slog.Logger
	// Progress receives one line per finished scenario; nil prints nothing.
	Progress io.Writer
}

// NewConfig returns the defaults: the v1 dialect, every profile, 4 scenarios at once, a
// 30 minute bound.
func NewConfig() Config {
	return Config{
		Dialect:     config.DialectV1,
		Profiles:    append([]string(nil), config.AllProfiles...),
		Concurrency: config.DefaultParallel,
		Timeout:     config.DefaultTimeout,
	}
}

// options turns a Config into the runner's options through the same configuration path as
// the CLI, so the library and `vcts run` cannot drift apart.
func (c Config) options() (runner.Options, error) {
	f := config.Default()
	f.Provider.Name = c.ProviderName
	f.Provider.UnknownVMID = c.UnknownVMID
	f.Provider.UnknownTaskID = c.UnknownTaskID
	f.Tests.IdempotentCount = c.IdempotentCount
	f.Tests.ParallelCreates = c.ParallelCreates
	f.Tests.ListVMs = c.ListVMs
	f.Tests.CallTimeout = config.Duration(c.CallTimeout)
	f.Tests.TaskTimeout = config.Duration(c.TaskTimeout)
	if c.VMSpec != nil {
		f.Profiles.Core.VMSpecs = []config.VMSpec{*c.VMSpec}
	}
	o := config.Overrides{
		Endpoint: c.Endpoint, Dialect: c.Dialect, Tags: c.Tags, Concurrency: c.Concurrency, Timeout: c.Timeout,
	}
	switch {
	case c.Conn != nil:
		o.Target, o.Endpoint = config.TargetConnection, ""
	case c.Endpoint != "":
		o.Target = config.TargetEndpoint
		f.Provider.TLS = c.TLS
	}
	if err := f.Apply(o); err != nil {
		return runner.Options{}, err
	}
	if err := f.Finalize(""); err != nil {
		return runner.Options{}, err
	}
	profiles := c.Profiles
	for _, p := range profiles {
		if p != config.ProfileCore && p != config.ProfileSnapshot && p != config.ProfileClone {
			return runner.Options{}, &config.Error{Key: "Profiles", Err: fmt.Errorf("unknown profile %q (want core, snapshot or clone)", p)}
		}
	}
	return runner.Options{
		Config: f, Profiles: profiles, Conn: c.Conn, ReportDir: c.ReportDir,
		Progress: c.Progress, Log: c.Log, KnownFailing: c.KnownFailing, KnownFlaky: c.KnownFlaky,
	}, nil
}

// Run runs the suite and returns its report. The error is set when the run could not be
// done (bad configuration, unreachable provider); a provider that fails requirements is
// not an error: judge Report.Verdict.
func Run(ctx context.Context, cfg Config) (*results.Report, error) {
	o, err := cfg.options()
	if err != nil {
		return nil, err
	}
	res, err := runner.Run(ctx, o)
	if res == nil {
		return nil, err
	}
	return res.Report, err
}

// Test runs the suite and reports one subtest per requirement, named by its ID: failed
// requirements fail their subtest with the reason, skipped ones skip with theirs,
// known-failing ones skip as such. Run-level problems (nothing selected, an interrupted
// run, a failed cleanup) fail t itself.
func Test(t *testing.T, cfg Config) {
	t.Helper()
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("conformance run: %v", err)
	}
	for _, q := range rep.Requirements {
		t.Run(q.ID, func(t *testing.T) {
			t.Logf("%s (%s profile, %d scenario(s), %s)", q.Rule, q.Profile, q.Scenarios, q.Duration.Round(time.Millisecond))
			switch q.Status {
			case results.Failed, results.StaleKnownFailing:
				t.Error(q.Reason)
			case results.Skipped:
				t.Skip(q.Reason)
			case results.KnownFailing:
				t.Skip(results.KnownFailingText(q.Reason))
			case results.Passed:
				if q.Reason != "" {
					t.Log(q.Reason)
				}
			}
		})
	}
	for _, p := range rep.Profiles {
		t.Logf("profile %s: %s %s", p.Name, p.Verdict, p.Reason)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
}
