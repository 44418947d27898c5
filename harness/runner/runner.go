// Package runner runs one conformance run, walking the data path in one direction:
// configuration → target → driver → steps (godog) → results → reports.
package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/cucumber/godog"
	"google.golang.org/grpc"

	"github.com/vctsio/vcts/features"
	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/console"
	"github.com/vctsio/vcts/harness/report"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/target"
	"github.com/vctsio/vcts/internal/version"
	"github.com/vctsio/vcts/steps"
	"github.com/vctsio/vcts/steps/driver"
)

// Options is one run. Config must have been finalized (config.File.Finalize).
type Options struct {
	Config config.File
	// Profiles are the selected profiles (--profile); empty means all.
	Profiles []string
	// Target overrides the target the configuration describes (e.g. a kind target).
	Target target.Target
	// Conn, when set, is used instead of any target: the caller owns the provider and
	// the connection (library use from a provider's own tests).
	Conn grpc.ClientConnInterface
	// ReportDir receives every report; empty writes none.
	ReportDir string
	// Progress receives one line per finished scenario; nil prints nothing.
	Progress io.Writer
	// KnownFailing adds requirement IDs to those of tests.known_failing.
	KnownFailing []string
	// KnownFlaky adds requirement IDs to those of tests.known_flaky.
	KnownFlaky []string
	// OnScenario, when set, is called with every recorded scenario (library progress).
	OnScenario func(results.Scenario)
	// OnStart, when set, is called once the configuration passed every check that needs no
	// provider (report directory, known-failing lists, tags), just before the target starts.
	OnStart func()
	// Log receives operational messages (target start, cleanup); nil discards them.
	Log *slog.Logger
	// CleanupTimeout bounds the final cleanup through the provider (default 60s).
	CleanupTimeout time.Duration
}

// Result is what a run produced.
type Result struct {
	Report *results.Report
	// Cucumber is godog's cucumber JSON of the run (nil when godog did not run).
	Cucumber []byte
	// Files are the reports written.
	Files []string
}

// refusedCreatesHint is how many scenarios must fail to create their starting VM before the
// report suggests that the configured VM does not suit the provider.
const refusedCreatesHint = 5

// interruptedSweepDelay is how long after an interrupted run's cleanup the runner sweeps
// for the suite's VMs once more.
const interruptedSweepDelay = 500 * time.Millisecond

// Run executes the suite. A configuration mistake is a *config.Error (exit code 2). When
// the provider cannot be reached the run still yields a failed report (written like any
// other) together with the error.
func Run(ctx context.Context, o Options) (*Result, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg := o.Config
	profiles := o.Profiles
	if len(profiles) == 0 {
		profiles = slices.Clone(config.AllProfiles)
	}
	if o.ReportDir != "" {
		if err := report.CheckDir(o.ReportDir); err != nil {
			return nil, &config.Error{Source: "flags", Key: "--report-dir", Err: fmt.Errorf("reports cannot be written there: %w", err)}
		}
	}
	reqs, err := features.Requirements()
	if err != nil {
		return nil, fmt.Errorf("feature files: %w", err)
	}
	known, err := knownList("tests.known_failing", cfg.Tests.KnownFailing, o.KnownFailing, reqs)
	if err != nil {
		return nil, err
	}
	flaky, err := knownList("tests.known_flaky", cfg.Tests.KnownFlaky, o.KnownFlaky, reqs)
	if err != nil {
		return nil, err
	}
	for _, id := range flaky {
		if slices.Contains(known, id) {
			return nil, &config.Error{Key: "tests.known_flaky", Err: fmt.Errorf("%s is also listed as known-failing: it either must fail or may fail", id)}
		}
	}
	if err := requirementTagsExist(cfg.Tests.Tags, reqs); err != nil {
		return nil, err
	}
	tags := selectionTags(profiles, cfg.Tests.Tags)

	rep := &results.Report{
		APIVersion: results.APIVersion,
		Suite:      results.Suite{Name: "vcts", Version: version.Version, SpecVersion: version.SpecVersion, GoVersion: runtime.Version()},
		RunID:      steps.NewRunID(),
		Provider:   results.Provider{Name: cfg.Provider.Name, Dialect: cfg.Provider.Dialect, TLS: cfg.Provider.TLS.Enabled},
		Target:     results.Target{Kind: cfg.Target.Kind},
		StartedAt:  time.Now(),
	}
	recordProvider(&rep.Provider, cfg, nil)
	res := &Result{Report: rep}
	timings := &results.Timings{}
	rep.Timings = timings
	plan := results.Plan{Profiles: profiles, SkipReasons: map[string]string{}, KnownFailing: known, KnownFlaky: flaky}
	var collector results.Collector
	finish := func(runErr error) (*Result, error) {
		rep.FinishedAt = time.Now()
		rep.Config = cfg.Redacted()
		results.Evaluate(rep, requirementInfos(reqs), collector.Scenarios(), plan)
		if o.ReportDir != "" {
			cucumber := res.Cucumber
			if len(cucumber) == 0 {
				// No feature ran: an empty cucumber report, never one left from an earlier run.
				cucumber = []byte("[]\n")
			}
			files, err := report.WriteAll(o.ReportDir, rep, cucumber)
			res.Files = files
			if err != nil {
				return res, errors.Join(runErr, fmt.Errorf("write reports: %w", err))
			}
		}
		return res, runErr
	}

	selected, err := countSelected(tags)
	if err != nil {
		return nil, err
	}
	plan.Selected = selected
	if o.OnStart != nil {
		o.OnStart()
	}
	if selected == 0 {
		return finish(nil) // Evaluate reports "no scenario was selected"
	}

	runCtx, cancelRun := context.WithTimeout(ctx, cfg.Tests.Timeout.D())
	defer cancelRun()

	conn := o.Conn
	var brk *breaker // on the connection the runner dials; a caller's own connection has none
	tgt := o.Target
	// stopTarget stops the provider and keeps its final logs (containers flush on exit).
	// It runs before the reports are rendered, and as a safety net on every other return.
	stopTarget := func() {
		if tgt == nil || o.Conn != nil {
			return
		}
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		defer cancel()
		began := time.Now()
		defer func() { timings.TargetStop = time.Since(began) }()
		if err := tgt.Stop(stopCtx); err != nil {
			log.Warn("stopping the target", "error", err)
			rep.Problems = append(rep.Problems, "stopping the target: "+err.Error())
		}
		rep.ProviderLogs = tgt.Logs()
		tgt = nil
	}
	defer stopTarget()
	if conn == nil {
		if tgt == nil {
			if tgt, err = target.FromConfig(cfg, log); err != nil {
				return nil, err
			}
		}
		log.Info("starting target", "kind", cfg.Target.Kind)
		began := time.Now()
		startErr := tgt.Start(runCtx)
		timings.TargetStart = time.Since(began)
		describeTarget(rep, cfg, tgt)
		if startErr != nil {
			err := fmt.Errorf("%s target: %w", cfg.Target.Kind, startErr)
			rep.Problems = append(rep.Problems, firstLine(err.Error()))
			plan.Aborted = true
			stopTarget()
			return finish(err)
		}
		brk = newBreaker(runCtx)
		opts := append(tgt.DialOptions(), grpc.WithChainUnaryInterceptor(brk.interceptor))
		cc, err := grpc.NewClient(tgt.Endpoint(), opts...)
		if err != nil {
			rep.Problems = append(rep.Problems, "dial: "+err.Error())
			plan.Aborted = true
			stopTarget()
			return finish(err)
		}
		defer cc.Close()
		conn = cc
	} else {
		rep.Target = results.Target{Kind: "connection", Detail: "a gRPC connection supplied by the caller"}
	}

	drv, err := driver.New(cfg.Provider.Dialect, conn)
	if err != nil {
		return nil, &config.Error{Key: "provider.dialect", Err: err}
	}
	sc := steps.NewConfig()
	sc.Driver = drv
	sc.RunID = rep.RunID
	sc.Results = &collector
	applyStepsConfig(&sc, cfg)

	capCtx, cancelCap := context.WithTimeout(runCtx, sc.CallTimeout+sc.TaskTimeout)
	caps, capErr := drv.Capabilities(capCtx)
	cancelCap()
	if capErr != nil {
		rep.Provider.CapabilitiesError = capErr.Error()
	} else {
		rep.Provider.Capabilities = &results.Capabilities{Snapshots: caps.Snapshots, Clones: caps.Clones, Raw: caps.Raw}
		sc.Capabilities = &caps
	}
	sc.Profiles = map[string]string{}
	for _, p := range profiles {
		reason := skipReason(p, cfg, caps, capErr)
		sc.Profiles[p] = reason
		if reason != "" {
			plan.SkipReasons[p] = reason
		}
	}
	recordEffective(&cfg, sc)

	suite, err := steps.New(sc)
	if err != nil {
		return nil, err
	}
	if o.Progress != nil {
		collector.OnAdd(console.Progress(o.Progress))
	}
	if o.OnScenario != nil {
		collector.OnAdd(o.OnScenario)
	}

	if err := suite.CheckUnknownVMID(runCtx); err != nil {
		// A configuration mistake that would cost a real VM: stop before any scenario runs.
		rep.Problems = append(rep.Problems, err.Error())
		plan.Aborted = true
		stopTarget()
		return finish(&config.Error{Key: "provider.unknown_vm_id", Err: err})
	}

	var cucumber bytes.Buffer
	began := time.Now()
	concurrency := int(cfg.Tests.Parallel)
	// Whether the provider reuses ids decides whether scenarios may run side by side; with
	// one scenario, or one at a time, the scenarios that need an unknown id find out lazily,
	// and a narrow run creates no probe VM it does not need.
	if profilesRun(sc.Profiles) && concurrency > 1 && selected > 1 && suite.Prepare(runCtx) {
		concurrency = 1
		rep.Notes = append(rep.Notes, fmt.Sprintf("the provider reuses the ids of deleted VMs: scenarios ran one at a time "+
			"(a concurrency of %d, tests.parallel or --concurrency, was ignored), since a repeated delete in one scenario would hit the VM another one just created", cfg.Tests.Parallel))
	}
	status, interrupted := runGodog(runCtx, suite, tags, concurrency, &cucumber, log)
	timings.Suite = time.Since(began)
	if id := suite.DerivedUnknownVMID(); id != "" {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the provider reuses the ids of deleted VMs, so the unknown VM id was %q: "+
			"a number far above the ids it hands out, which it confirmed no VM has (set provider.unknown_vm_id or --unknown-vm-id to choose another)", id))
	}
	res.Cucumber = cucumber.Bytes()

	cleanupTimeout := o.CleanupTimeout
	if cleanupTimeout <= 0 {
		cleanupTimeout = 60 * time.Second
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	began = time.Now()
	cleanErr := suite.Cleanup(cctx)
	if interrupted && cleanErr == nil {
		// A create the interruption cut off on the client side may still be finishing in the
		// provider, after the sweep above looked: look once more, a moment later.
		select {
		case <-time.After(interruptedSweepDelay):
			cleanErr = suite.SweepLeftovers(cctx)
		case <-cctx.Done():
		}
	}
	if brk != nil {
		if why := brk.tripped(); why != "" {
			rep.Problems = append(rep.Problems, why)
		}
	}
	timings.Cleanup = time.Since(began)
	cancel()
	if cleanErr != nil {
		rep.Problems = append(rep.Problems, "cleanup through the provider failed; VMs may be left behind: "+cleanErr.Error())
	}
	if n, first := suite.CreatesRefused(); n >= refusedCreatesHint {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d scenarios could not create the VM they start from; the first: %s. "+
			"A provider that refuses the suite's VM (an image, disk or network it does not have) needs profiles.core.vm_specs "+
			"in the configuration (docs/config.md)", n, firstLine(first)))
	}
	if n, first := suite.CreatesTurnedAway(); n >= refusedCreatesHint {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d scenarios could not create the VM they start from because the provider was busy; "+
			"the first: %s. The suite never retries; if the provider takes fewer calls at once, lower tests.parallel (--concurrency) "+
			"and tests.parallel_creates", n, firstLine(first)))
	}
	switch {
	case interrupted && ctx.Err() != nil:
		rep.Problems = append(rep.Problems, "the run was interrupted; the suite's VMs were cleaned up")
	case interrupted:
		rep.Problems = append(rep.Problems, fmt.Sprintf("the run exceeded tests.timeout (%s); the suite's VMs were cleaned up", cfg.Tests.Timeout.D()))
	case status == 2:
		rep.Problems = append(rep.Problems, "godog could not run the feature files (see the error output)")
	case status != 0 && !anyFailed(collector.Scenarios()):
		rep.Problems = append(rep.Problems, "godog reported a failure that no scenario recorded (an undefined, pending or ambiguous step fails a strict run)")
	}
	stopTarget()
	return finish(nil)
}

// profilesRun reports whether any selected profile runs (has no skip reason).
func profilesRun(profiles map[string]string) bool {
	for _, reason := range profiles {
		if reason == "" {
			return true
		}
	}
	return false
}

func describeTarget(rep *results.Report, cfg config.File, t target.Target) {
	info := t.Info()
	rep.Target = results.Target{Kind: info.Kind, Mode: info.Mode, Detail: info.Detail}
	rep.Provider.Endpoint = t.Endpoint()
	rep.Provider.TLS = info.TLS
	recordProvider(&rep.Provider, cfg, &info)
}

// runGodog runs the features and returns godog's status, and whether ctx ended the run.
// On cancellation the scenarios' calls fail fast (their context derives from ctx); the
// runner then cleans up through the provider.
func runGodog(ctx context.Context, suite *steps.Suite, tags string, concurrency int, out io.Writer, log *slog.Logger) (int, bool) {
	opts := godog.Options{
		Format:         "cucumber",
		Output:         out,
		FS:             features.FS,
		Paths:          []string{"."},
		Tags:           tags,
		Concurrency:    concurrency,
		Strict:         true,
		NoColors:       true,
		DefaultContext: ctx,
	}
	done := make(chan int, 1)
	go func() {
		done <- godog.TestSuite{Name: "vcts", ScenarioInitializer: suite.InitializeScenario, Options: &opts}.Run()
	}()
	select {
	case status := <-done:
		return status, ctx.Err() != nil
	case <-ctx.Done():
	}
	// Give running scenarios a moment to notice and clean up their own resources.
	select {
	case status := <-done:
		return status, true
	case <-time.After(15 * time.Second):
		log.Warn("scenarios still running 15s after the interruption; cleaning up anyway")
		return 1, true
	}
}
