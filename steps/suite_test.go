package steps_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"
	"google.golang.org/grpc"

	"github.com/vctsio/vcts/features"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/internal/brokenprovider"
	"github.com/vctsio/vcts/internal/grpctest"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/file"
	"github.com/vctsio/vcts/steps"
	"github.com/vctsio/vcts/steps/driver"
)

// godog's own flags work under go test, e.g. go test ./steps -godog.tags=@core -godog.format=pretty.
// They are bound to the standard flag set (godog.BindFlags) because go test passes them with a
// single dash, which pflag (godog.BindCommandLineFlags) would read as shorthand flags.
var godogOpts = godog.Options{Format: "progress", Concurrency: 4, Strict: true, NoColors: true}

func init() { godog.BindFlags("godog.", flag.CommandLine, &godogOpts) }

// transitionDelay makes the reference provider's transitions take time, so that the drivers'
// waiting (v1 tasks, tutorial transitional states) is exercised, not skipped.
const transitionDelay = 5 * time.Millisecond

// served is the reference file provider on a loopback gRPC server, possibly behind a defect.
type served struct {
	conn *grpc.ClientConn
	// real is the provider's unwrapped v1 service: the truth about which VMs exist, whatever
	// the defect makes the wire say.
	real providerv1.ProviderServer
}

// serve starts the reference file provider on a loopback gRPC server with defect's wrappers
// in front of its services (brokenprovider.Healthy for none).
func serve(t testing.TB, defect brokenprovider.Defect) served {
	t.Helper()
	p, err := file.New(file.Config{
		StorageDir:      t.TempDir(),
		TransitionDelay: transitionDelay,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	srv := grpc.NewServer()
	reg := brokenprovider.NewRegistrar(srv, defect)
	p.Register(reg)
	reg.RegisterHealth()
	return served{conn: grpctest.Dial(t, grpctest.Serve(t, srv)), real: reg.V1()}
}

type run struct {
	suite     *steps.Suite
	cfg       steps.Config
	scenarios []results.Scenario
	status    int
	output    string
	elapsed   time.Duration
}

// runSuite runs the feature files (those matching tags) through godog against one driver,
// selecting profiles from what the provider advertises, as the runner does.
func runSuite(t *testing.T, d driver.Driver, tags string, tune func(*steps.Config)) run {
	t.Helper()
	cfg := steps.NewConfig()
	cfg.Driver = d
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	caps, err := d.Capabilities(ctx)
	if err != nil {
		t.Fatalf("capabilities: %v", err)
	}
	cfg.Profiles = steps.SelectProfiles(caps)
	cfg.Capabilities = &caps
	if tune != nil {
		tune(&cfg)
	}
	suite, err := steps.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := godogOpts
	var out bytes.Buffer
	opts.Output = &out
	opts.FS = features.FS
	opts.Paths = []string{"."}
	opts.Tags = tags
	start := time.Now()
	code := godog.TestSuite{Name: "vcts-" + d.Dialect(), ScenarioInitializer: suite.InitializeScenario, Options: &opts}.Run()
	r := run{suite: suite, cfg: suite.Config(), scenarios: cfg.Results.Scenarios(), status: code, output: out.String(), elapsed: time.Since(start)}
	if len(r.scenarios) == 0 {
		t.Fatalf("no scenario recorded; godog output:\n%s", r.output)
	}
	return r
}

// serveAndRun serves the file provider behind defect and runs the suite once against it in
// one dialect, the way the runner does (strict, godog's concurrency, profiles from the
// advertised capabilities). The suite's final Cleanup is left to the caller, which may want
// to look at what the scenarios' own cleanup left behind first.
func serveAndRun(t *testing.T, dialect string, defect brokenprovider.Defect, tags string, tune func(*steps.Config)) (run, served) {
	t.Helper()
	p := serve(t, defect)
	d, err := driver.New(dialect, p.conn)
	if err != nil {
		t.Fatal(err)
	}
	return runSuite(t, d, tags, tune), p
}

// expectedPickles counts the scenarios the feature files expand to (one per example row).
func expectedPickles(t *testing.T) int {
	reqs, err := features.Requirements()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range reqs {
		rows := 0
		for _, ex := range r.Examples {
			rows += len(ex.Rows)
		}
		n += max(rows, 1)
	}
	return n
}

func requirementNeeds(t *testing.T) map[string][]string {
	reqs, err := features.Requirements()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	for _, r := range reqs {
		m[r.ID] = r.Needs
	}
	return m
}

// knownDeviations are requirements the reference provider is known to break, per dialect,
// with the reason. They must fail (a deviation that starts passing is stale and must be
// removed from this list, as connectrpc's known-failing lists work).
var knownDeviations = map[string]map[string]string{}

// TestConformance runs the whole suite against the reference file provider in both dialects:
// every scenario passes or is skipped for a reason the dialect gives, and nothing is left behind.
func TestConformance(t *testing.T) {
	needs := requirementNeeds(t)
	for _, dialect := range driver.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			d, err := driver.New(dialect, serve(t, brokenprovider.Healthy).conn)
			if err != nil {
				t.Fatal(err)
			}
			r := runSuite(t, d, godogOpts.Tags, nil)
			t.Logf("%s: %d scenarios in %s", dialect, len(r.scenarios), r.elapsed.Round(time.Millisecond))
			if testing.Verbose() {
				// godog's own report, in the format -godog.format asks for.
				t.Logf("%s: godog output (%s):\n%s", dialect, godogOpts.Format, r.output)
			}

			var skipped []string
			for _, sc := range r.scenarios {
				unsupported := ""
				for _, n := range needs[sc.Requirement] {
					if ok, why := d.Supports(driver.Feature(n)); !ok {
						unsupported = why
						break
					}
				}
				if why, known := knownDeviations[dialect][sc.Requirement]; known {
					if sc.Status != results.Failed {
						t.Errorf("%s is listed as a known deviation (%s) but %s: remove it from knownDeviations", sc.Requirement, why, sc.Status)
					} else {
						t.Logf("known deviation %s: %s", sc.Requirement, sc.Reason)
					}
					continue
				}
				switch {
				case unsupported != "" && (sc.Status != results.Skipped || !strings.Contains(sc.Reason, unsupported)):
					t.Errorf("%s %q: expected skipped (%s), got %s: %s", sc.Requirement, sc.Name, unsupported, sc.Status, sc.Reason)
				case unsupported == "" && sc.Status != results.Passed:
					t.Errorf("%s %q: %s: %s", sc.Requirement, sc.Name, sc.Status, sc.Reason)
				case sc.Status == results.Skipped:
					skipped = append(skipped, sc.Requirement)
				}
			}
			if godogOpts.Tags == "" {
				if want := expectedPickles(t); len(r.scenarios) != want {
					t.Errorf("recorded %d scenarios, the features have %d", len(r.scenarios), want)
				}
				if r.status != 0 && len(knownDeviations[dialect]) == 0 {
					t.Errorf("godog exit status %d", r.status)
				}
			}
			sort.Strings(skipped)
			skipped = slices.Compact(skipped)
			t.Logf("%s: skipped %v", dialect, skipped)
			slowest := slices.Clone(r.scenarios)
			slices.SortFunc(slowest, func(a, b results.Scenario) int { return int(b.Duration - a.Duration) })
			for _, sc := range slowest[:min(3, len(slowest))] {
				t.Logf("%s: slow: %s %s took %s", dialect, sc.Requirement, sc.Name, sc.Duration.Round(time.Millisecond))
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			vms, err := d.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, vm := range vms {
				if strings.HasPrefix(vm.Name, r.cfg.RunID) {
					t.Errorf("left behind: %s (%s)", vm.Name, vm.ID)
				}
			}
			if t.Failed() {
				t.Logf("godog output:\n%s", r.output)
			}
		})
	}
}

// failedRequirements lists the requirements with at least one failed scenario.
func failedRequirements(scenarios []results.Scenario) []string {
	var out []string
	for _, sc := range scenarios {
		if sc.Status == results.Failed && !slices.Contains(out, sc.Requirement) {
			out = append(out, sc.Requirement)
		}
	}
	sort.Strings(out)
	return out
}

// TestSuiteCanFail breaks one rule at a time in a wrapper around the reference provider's v1
// service; exactly the requirements that state that rule must fail, and the message must say
// why.
func TestSuiteCanFail(t *testing.T) {
	cases := []struct {
		name    string
		defect  brokenprovider.Defect
		tags    string
		tune    func(*steps.Config)
		want    []string
		message string
	}{
		{
			name:   "reconfigure ignores CPU",
			defect: brokenprovider.MustGet("reconfigure-ignores-cpu"),
			// Every rule that reconfigures CPU and then looks at it, and CORE-038, whose
			// non-positive CPU counts are never read, so never rejected.
			want: []string{"CORE-025", "CORE-026", "CORE-027", "CORE-028", "CORE-038", "CORE-039", "CORE-043", "CORE-054", "CORE-055", "CORE-056", "CORE-059", "CORE-071",
				"SNAP-007", "SNAP-015", "SNAP-020", "SNAP-021", "SNAP-022", "CLONE-015", "CLONE-016"},
			message: "expected cpu=4 memory_mib=2048",
		},
		{
			name:    "power accepts undefined operations",
			defect:  brokenprovider.MustGet("power-accepts-undefined-ops"),
			want:    []string{"CORE-022"},
			message: `op=99): expected InvalidArgument, got OK`,
		},
		{
			name:    "snapshots work but are not advertised",
			defect:  brokenprovider.MustGet("snapshots-hidden"),
			want:    []string{"CORE-037"},
			message: "expected Unimplemented, got OK",
		},
		{
			name:   "writes deadlock after a create without a name",
			defect: brokenprovider.MustGet("wedge-after-nameless-create"),
			tags:   "@CORE-036",
			tune: func(c *steps.Config) {
				c.CallTimeout, c.TaskTimeout = 300*time.Millisecond, 300*time.Millisecond
			},
			want:    []string{"CORE-036"},
			message: "provider unresponsive after create without a name",
		},
		{
			// CORE-018's precondition "a stopped VM" fails before its rule (power on ⇒ On)
			// is checked: the message says that the rule was not reached.
			name:    "a failed precondition is named",
			defect:  brokenprovider.MustGet("describe-stale-power"),
			tags:    "@CORE-018",
			want:    []string{"CORE-018"},
			message: `CORE-018: the precondition "a stopped VM" failed, so the rule itself was not checked: VM "`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, _ := serveAndRun(t, driver.DialectWire, tc.defect, tc.tags, tc.tune)
			got := failedRequirements(r.scenarios)
			// The reference provider's own known deviations fail in every run that reaches them.
			want := slices.Clone(tc.want)
			for _, sc := range r.scenarios {
				if _, known := knownDeviations[driver.DialectWire][sc.Requirement]; known && sc.Status != results.Skipped && !slices.Contains(want, sc.Requirement) {
					want = append(want, sc.Requirement)
				}
			}
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("failed requirements %v, want exactly %v", got, want)
			}
			if r.status == 0 {
				t.Errorf("godog exit status 0 for a broken provider")
			}
			found := false
			for _, sc := range r.scenarios {
				if sc.Status != results.Failed {
					continue
				}
				if !strings.HasPrefix(sc.Reason, sc.Requirement+": ") {
					t.Errorf("%s: failure message does not start with the requirement ID: %s", sc.Requirement, sc.Reason)
				}
				found = found || strings.Contains(sc.Reason, tc.message)
			}
			if !found {
				t.Errorf("no failure message contains %q", tc.message)
			}
			if t.Failed() {
				for _, sc := range r.scenarios {
					if sc.Status == results.Failed {
						t.Logf("%s %s: %s", sc.Requirement, sc.Name, sc.Reason)
					}
				}
			}
		})
	}
}

// TestUnselectedProfilesAreSkippedWithTheirReason: a scenario of a profile the runner did not
// select is recorded as skipped, with the runner's reason, never silently dropped.
func TestUnselectedProfilesAreSkippedWithTheirReason(t *testing.T) {
	d := driver.NewWire(serve(t, brokenprovider.Healthy).conn)
	r := runSuite(t, d, "@CORE-003,@SNAP-001,@CLONE-001", func(c *steps.Config) {
		c.Profiles = map[string]string{steps.ProfileCore: "", steps.ProfileSnapshot: "configured off"}
	})
	want := map[string]string{
		"CORE-003":  "",
		"SNAP-001":  "profile snapshot skipped: configured off",
		"CLONE-001": "profile clone not selected",
	}
	if len(r.scenarios) != len(want) {
		t.Fatalf("recorded %d scenarios, want %d: %+v", len(r.scenarios), len(want), r.scenarios)
	}
	for _, sc := range r.scenarios {
		reason, ok := want[sc.Requirement]
		switch {
		case !ok:
			t.Errorf("unexpected scenario %s", sc.Requirement)
		case reason == "" && sc.Status != results.Passed:
			t.Errorf("%s: %s (%s), want passed", sc.Requirement, sc.Status, sc.Reason)
		case reason != "" && (sc.Status != results.Skipped || sc.Reason != reason):
			t.Errorf("%s: %s (%q), want skipped (%q)", sc.Requirement, sc.Status, sc.Reason, reason)
		}
		if sc.Profile == "" || sc.Feature == "" || sc.Name == "" || sc.Started.IsZero() {
			t.Errorf("%s: incomplete record %+v", sc.Requirement, sc)
		}
	}
}

// BenchmarkSuite measures one full run of every feature against the reference provider, per
// dialect (concurrency 4): go test ./steps -run '^$' -bench Suite -benchtime 3x
func BenchmarkSuite(b *testing.B) {
	for _, dialect := range driver.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				conn := serve(b, brokenprovider.Healthy).conn
				d, err := driver.New(dialect, conn)
				if err != nil {
					b.Fatal(err)
				}
				cfg := steps.NewConfig()
				cfg.Driver = d
				caps, err := d.Capabilities(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				cfg.Profiles = steps.SelectProfiles(caps)
				suite, err := steps.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				opts := godog.Options{Format: "progress", Output: io.Discard, FS: features.FS, Paths: []string{"."}, Strict: true, Concurrency: 4}
				b.StartTimer()
				godog.TestSuite{Name: "bench", ScenarioInitializer: suite.InitializeScenario, Options: &opts}.Run()
				b.StopTimer()
				if n := len(cfg.Results.Scenarios()); n == 0 {
					b.Fatal("no scenario ran")
				}
				b.StartTimer()
			}
		})
	}
}
