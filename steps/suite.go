// Package steps holds the godog step definitions of the conformance suite. They turn the
// Gherkin phrases of the feature files into calls on a driver.Driver, so the same features
// run against every dialect. One file per family (lifecycle, power, snapshot, clone,
// negative, capabilities); resources.go is the cleanup tracker.
//
// Use it through godog:
//
//	suite, err := steps.New(cfg)
//	godog.TestSuite{ScenarioInitializer: suite.InitializeScenario,
//		Options: &godog.Options{FS: features.FS, Paths: []string{"."}, Strict: true}}.Run()
package steps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"
	"google.golang.org/grpc/codes"

	"github.com/vctsio/vcts/features"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/steps/driver"
)

// Suite runs the scenarios of one conformance run against one provider.
type Suite struct {
	cfg   Config
	reqs  map[string]features.Requirement
	steps []stepDef

	mu   sync.Mutex
	open map[*resources]struct{} // resource sets of scenarios still running, for Cleanup
	// own tracks what the suite creates for itself (the VM behind the unknown id).
	own *resources

	// firstCaps is the suite's own first capabilities answer, asked before any scenario
	// step when Config.Capabilities is nil.
	firstCapsOnce sync.Once
	firstCaps     driver.Capabilities
	firstCapsErr  error

	unknownMu       sync.Mutex
	probed          bool
	idsReused       bool
	unknownVM       string
	unknownVMFailed error
	// unknownVMDerived: unknownVM was proposed by the suite (numericUnknownID).
	unknownVMDerived bool

	// refused counts the scenarios whose own VM the provider refused to create (busy: with
	// Unavailable or ResourceExhausted); first is the first such failure of each kind.
	refusedMu                   sync.Mutex
	refused, busy               int
	firstRefusal, firstBusyness string
}

// CreatesRefused says how many scenarios could not create the VM they start from because
// the provider refused it (InvalidArgument, NotFound, FailedPrecondition, ...), and the
// first such failure: when it is most of them, the provider refuses the suite's VM itself
// (an image or disk it does not have), which the configuration can fix.
func (s *Suite) CreatesRefused() (int, string) {
	s.refusedMu.Lock()
	defer s.refusedMu.Unlock()
	return s.refused, s.firstRefusal
}

// CreatesTurnedAway says how many scenarios could not create the VM they start from because
// the provider was busy (Unavailable, ResourceExhausted), and the first such failure: the
// suite's own parallel scenarios may be more than the provider takes at once.
func (s *Suite) CreatesTurnedAway() (int, string) {
	s.refusedMu.Lock()
	defer s.refusedMu.Unlock()
	return s.busy, s.firstBusyness
}

func (s *Suite) createRefused(code codes.Code, msg string) {
	s.refusedMu.Lock()
	defer s.refusedMu.Unlock()
	if code == codes.Unavailable || code == codes.ResourceExhausted {
		if s.busy == 0 {
			s.firstBusyness = msg
		}
		s.busy++
		return
	}
	if s.refused == 0 {
		s.firstRefusal = msg
	}
	s.refused++
}

// stepDef is one step definition: a phrase and the function godog calls for it.
type stepDef struct {
	re *regexp.Regexp
	fn any
}

// New validates cfg and applies the defaults for zero fields.
func New(cfg Config) (*Suite, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	reqs, err := features.Requirements()
	if err != nil {
		return nil, err
	}
	s := &Suite{
		cfg:  cfg,
		reqs: make(map[string]features.Requirement, len(reqs)),
		open: map[*resources]struct{}{},
		own:  newResources(cfg.Driver, cfg.RunID+"-unknown-"),
	}
	for _, r := range reqs {
		s.reqs[r.ID] = r
	}
	for _, family := range [][]phrase{
		capabilitySteps, lifecycleSteps, powerSteps, negativeSteps, snapshotSteps, cloneSteps, ruleSteps,
	} {
		for _, p := range family {
			s.steps = append(s.steps, stepDef{re: regexp.MustCompile(p.expr), fn: p.fn})
		}
	}
	return s, nil
}

// phrase is a step definition as the family files write it.
type phrase struct {
	expr string
	fn   any
}

// Config returns the configuration in effect, defaults applied.
func (s *Suite) Config() Config { return s.cfg }

// InitializeScenario registers the steps and hooks; pass it as godog's ScenarioInitializer.
func (s *Suite) InitializeScenario(sc *godog.ScenarioContext) {
	sc.Before(s.before)
	sc.After(s.after)
	sc.StepContext().After(func(ctx context.Context, step *godog.Step, _ godog.StepResultStatus, err error) (context.Context, error) {
		if st, _ := ctx.Value(scenarioKey{}).(*scenario); st != nil && err != nil && st.given == "" &&
			!errors.Is(err, godog.ErrSkip) && step.Type == messages.PickleStepType_CONTEXT {
			st.given = step.Text
		}
		// nil: godog keeps the step's own error; one returned here is added to it again.
		return ctx, nil
	})
	for _, st := range s.steps {
		sc.Step(st.re, st.fn)
	}
}

// Cleanup deletes everything still tracked by any scenario, then every VM named with the
// run's prefix. For an interrupted run (SIGINT); finished scenarios clean up after themselves.
func (s *Suite) Cleanup(ctx context.Context) error {
	s.mu.Lock()
	sets := make([]*resources, 0, len(s.open)+1)
	for r := range s.open {
		sets = append(sets, r)
	}
	s.mu.Unlock()
	sets = append(sets, s.own)
	var errs []error
	for _, r := range sets {
		errs = append(errs, r.cleanup(ctx, s.timeouts()))
	}
	errs = append(errs, s.SweepLeftovers(ctx))
	return errors.Join(errs...)
}

// SweepLeftovers deletes every VM named with this run's prefix that the provider still
// lists: VMs whose create answer never arrived, so no scenario could register them.
// Cleanup ends with it; the runner sweeps once more after an interrupted run.
func (s *Suite) SweepLeftovers(ctx context.Context) error {
	return newResources(s.cfg.Driver, s.cfg.RunID+"-").sweep(ctx, s.timeouts())
}

func (s *Suite) timeouts() driver.Timeouts {
	return driver.Timeouts{Call: s.cfg.CallTimeout, Task: s.cfg.TaskTimeout}
}

type scenarioKey struct{}

// scenario is the state of one running scenario, reached through the step context.
type scenario struct {
	s *Suite
	d driver.Driver

	req     string // requirement ID
	profile string
	feature string
	name    string
	tags    []string
	started time.Time
	prefix  string // every name this scenario creates starts with prefix + "-"
	skip    string // why the scenario was skipped; "" when it ran
	// given is the text of the Given step that failed, if one did: the rule itself was then
	// never checked, and the failure says so.
	given string

	res   *resources
	tasks *driver.TaskLog

	vms   map[string]*vmRef
	snaps map[string]*snapRef
	caps  *driver.Capabilities
	// health is the answer of the gRPC health service.
	health *healthAnswer
	valid  *validation

	last     *attempt     // the latest "I try to ..." step
	reps     []attempt    // repetitions of one request
	parallel []attempt    // distinct creates, or calls to the group, in parallel
	group    []string     // aliases of the VMs the parallel steps change
	snapIDs  []string     // snapshots taken in a batch
	bad      []badProbe   // the bad-request sweep
	pending  *pendingTask // a call whose task the scenario has not waited for yet
	// sharedList, while set, is the VM list that look uses instead of asking (groupCheck
	// reads it once for all the VMs of the group).
	sharedList *listAnswer
}

// pendingTask is a Delete or a reboot sent without waiting for its task.
type pendingTask struct {
	ref  *vmRef
	what string // "delete" or "reboot"
	call string
	task string // empty when the call finished synchronously
}

// vmRef is a VM the scenario refers to by an alias ("vm", "a", "source", ...).
type vmRef struct {
	alias, name, id string
	spec            driver.Spec
}

type snapRef struct {
	alias, vmAlias, vmID, id string
	// refused is the provider's answer when it refused to take the snapshot (a name hint
	// already in use); id is then empty.
	refused string
}

type healthAnswer struct {
	service, state string
	err            error
}

type validation struct {
	ok      bool
	message string
}

// attempt is the outcome of one request whose answer a later step judges.
type attempt struct {
	call   string
	err    error
	id     string // the id a create or clone returned
	exists bool   // what a Describe answered
	hint   string // added to a failure: what the user can check or configure
	// accept lists codes that also satisfy the rule's code for this request (an id the
	// suite had to make up may be malformed for the provider).
	accept []codes.Code
}

func current(ctx context.Context) *scenario {
	st, _ := ctx.Value(scenarioKey{}).(*scenario)
	if st == nil {
		// Only reachable if the steps are registered without InitializeScenario's hooks.
		panic("steps: no scenario state in the context; register steps with Suite.InitializeScenario")
	}
	return st
}

func (s *Suite) before(ctx context.Context, p *godog.Scenario) (context.Context, error) {
	if s.cfg.Capabilities == nil {
		// Every scenario waits for the first to have asked: the answer predates every VM
		// the scenarios make.
		s.firstCapsOnce.Do(func() {
			err := bounded(ctx, s.timeouts(), func(ctx context.Context) (err error) {
				s.firstCaps, err = s.cfg.Driver.Capabilities(ctx)
				return err
			})
			if err != nil {
				s.firstCapsErr = fmt.Errorf("GetCapabilities before the first scenario: %s", answer(err))
			}
		})
	}
	st := &scenario{
		s: s, d: s.cfg.Driver, name: p.Name, started: time.Now(),
		tasks: &driver.TaskLog{},
		vms:   map[string]*vmRef{}, snaps: map[string]*snapRef{},
	}
	var ids, profiles []string
	var needs []driver.Feature
	for _, t := range p.Tags {
		st.tags = append(st.tags, t.Name)
		name := strings.TrimPrefix(t.Name, "@")
		switch {
		case name == ProfileCore || name == ProfileSnapshot || name == ProfileClone:
			profiles = append(profiles, name)
		case strings.HasPrefix(name, "needs-"):
			needs = append(needs, driver.Feature(strings.TrimPrefix(name, "needs-")))
		case requirementTag.MatchString(name):
			ids = append(ids, name)
		}
	}
	if len(ids) == 1 {
		st.req = ids[0]
	}
	if len(profiles) == 1 {
		st.profile = profiles[0]
	}
	if r, ok := s.reqs[st.req]; ok {
		st.feature = r.Feature
		if ex := r.ExampleValues(pickleTexts(p)); ex != "" {
			st.name = fmt.Sprintf("%s [%s]", p.Name, ex)
		}
	} else {
		st.feature = p.Uri
	}
	st.prefix = scenarioPrefix(s.cfg.RunID, st.req)
	st.res = newResources(s.cfg.Driver, st.prefix+"-")
	ctx = context.WithValue(ctx, scenarioKey{}, st)

	s.mu.Lock()
	s.open[st.res] = struct{}{}
	s.mu.Unlock()

	switch {
	case len(ids) != 1:
		return ctx, fmt.Errorf("scenario %q: needs exactly one requirement ID tag, has %v", p.Name, ids)
	case len(profiles) != 1:
		return ctx, fmt.Errorf("%s: needs exactly one profile tag, has %v", st.req, profiles)
	}
	if reason, selected := s.cfg.Profiles[st.profile]; !selected {
		st.skip = fmt.Sprintf("profile %s not selected", st.profile)
		return ctx, godog.ErrSkip
	} else if reason != "" {
		st.skip = fmt.Sprintf("profile %s skipped: %s", st.profile, reason)
		return ctx, godog.ErrSkip
	}
	for _, f := range needs {
		if ok, why := st.d.Supports(f); !ok {
			st.skip = fmt.Sprintf("dialect %s cannot express %s: %s", st.d.Dialect(), f, why)
			return ctx, godog.ErrSkip
		}
	}
	return ctx, nil
}

var requirementTag = regexp.MustCompile(`^[A-Z]+-\d{3}$`)

func pickleTexts(p *godog.Scenario) []string {
	out := make([]string, len(p.Steps))
	for i, st := range p.Steps {
		out[i] = st.Text
	}
	return out
}

// runEnded reports whether the run's context is done or past its deadline: a call bounded by
// the same deadline can fail a moment before the context's own timer fires.
func runEnded(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// StoppedReason starts the reason of a scenario the run stopped in the middle of.
const StoppedReason = "not finished: the run stopped while it ran"

func (s *Suite) after(ctx context.Context, p *godog.Scenario, err error) (context.Context, error) {
	st, _ := ctx.Value(scenarioKey{}).(*scenario)
	if st == nil {
		return ctx, err
	}
	rec := results.Scenario{
		Requirement: st.req, Profile: st.profile, Feature: st.feature, Name: st.name,
		Tags: st.tags, Started: st.started, Duration: time.Since(st.started),
	}
	switch {
	case st.skip != "":
		rec.Status, rec.Reason = results.Skipped, st.skip
	case err != nil && !errors.Is(err, godog.ErrSkip) && runEnded(ctx):
		// The run stopped (interrupted, or out of tests.timeout) while this scenario ran: the
		// suite cancelled its calls, which says nothing about the provider.
		first, _, _ := strings.Cut(err.Error(), "\n")
		rec.Status, rec.Reason = results.Skipped, StoppedReason+" (last error: "+first+")"
	case err != nil && !errors.Is(err, godog.ErrSkip):
		rec.Status, rec.Reason = results.Failed, err.Error()
		if !strings.HasPrefix(rec.Reason, st.req+": ") {
			// godog's own failures (an undefined step in strict mode) do not name the rule.
			rec.Reason = st.req + ": " + rec.Reason
		}
		if st.given != "" {
			rec.Reason = fmt.Sprintf("%s: the precondition %q failed, so the rule itself was not checked: %s",
				st.req, st.given, strings.TrimPrefix(rec.Reason, st.req+": "))
		}
	default:
		rec.Status = results.Passed
	}

	cleanErr := st.res.cleanup(context.WithoutCancel(ctx), s.timeouts())
	s.mu.Lock()
	delete(s.open, st.res)
	s.mu.Unlock()
	if cleanErr != nil {
		// Leaving VMs behind is a failure of its own: the next run would trip over them.
		cleanErr = fmt.Errorf("%s: cleanup after the scenario: %w", st.req, cleanErr)
		if rec.Status != results.Failed {
			rec.Status, rec.Reason = results.Failed, cleanErr.Error()
		} else {
			rec.Reason += "; " + cleanErr.Error()
		}
	}
	s.cfg.Results.Add(rec)
	// godog already knows the step error; only the cleanup failure is news to it.
	return ctx, cleanErr
}

// scenarioPrefix builds run id + requirement + random suffix, all within a name budget that
// leaves room for an alias under the common 63-character limit.
func scenarioPrefix(runID, req string) string {
	return fmt.Sprintf("%s-%s-%s", runID, strings.ToLower(req), randomSuffix(5))
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// vmName is the provider-side name of an alias: lowercase letters, digits and dashes, at
// most 63 characters, unique per run and scenario.
func (st *scenario) vmName(alias string) string {
	a := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(alias), "-"), "-")
	if a == "" {
		a = "vm"
	}
	n := st.prefix + "-" + a
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return n
}
