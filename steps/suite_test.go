package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cucumber/godog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/vctsio/vcts/features"
	"github.com/vctsio/vcts/harness/results"
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

// serve starts the reference file provider on a loopback gRPC server. wrapV1, when set,
// replaces the provider's v1 service with a wrapper around it.
func serve(t testing.TB, wrapV1 func(providerv1.ProviderServer) providerv1.ProviderServer) *grpc.ClientConn {
	t.Helper()
	p, err := file.New(file.Config{
		StorageDir:      t.TempDir(),
		TransitionDelay: transitionDelay,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	p.Register(registrar{srv: srv, wrapV1: wrapV1})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		_ = p.Close()
	})
	return conn
}

type registrar struct {
	srv    *grpc.Server
	wrapV1 func(providerv1.ProviderServer) providerv1.ProviderServer
}

func (r registrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	if r.wrapV1 != nil && desc.ServiceName == providerv1.Provider_ServiceDesc.ServiceName {
		impl = r.wrapV1(impl.(providerv1.ProviderServer))
	}
	r.srv.RegisterService(desc, impl)
}

type run struct {
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
	r := run{cfg: suite.Config(), scenarios: cfg.Results.Scenarios(), status: code, output: out.String(), elapsed: time.Since(start)}
	if len(r.scenarios) == 0 {
		t.Fatalf("no scenario recorded; godog output:\n%s", r.output)
	}
	return r
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
var knownDeviations = map[string]map[string]string{
}

// TestConformance runs the whole suite against the reference file provider in both dialects:
// every scenario passes or is skipped for a reason the dialect gives, and nothing is left behind.
func TestConformance(t *testing.T) {
	needs := requirementNeeds(t)
	for _, dialect := range driver.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			d, err := driver.New(dialect, serve(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			r := runSuite(t, d, godogOpts.Tags, nil)
			t.Logf("%s: %d scenarios in %s", dialect, len(r.scenarios), r.elapsed.Round(time.Millisecond))

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
		wrap    func(providerv1.ProviderServer) providerv1.ProviderServer
		tags    string
		tune    func(*steps.Config)
		want    []string
		message string
	}{
		{
			name: "reconfigure ignores CPU",
			wrap: func(p providerv1.ProviderServer) providerv1.ProviderServer { return ignoreCPU{p} },
			// Every rule that reconfigures CPU and then looks at it.
			want:    []string{"CORE-025", "CORE-026", "CORE-028", "SNAP-007"},
			message: "expected cpu=4 memory_mib=2048",
		},
		{
			name:    "power accepts undefined operations",
			wrap:    func(p providerv1.ProviderServer) providerv1.ProviderServer { return acceptAnyPowerOp{p} },
			want:    []string{"CORE-022"},
			message: `op=99): expected InvalidArgument, got OK`,
		},
		{
			name:    "snapshots work but are not advertised",
			wrap:    func(p providerv1.ProviderServer) providerv1.ProviderServer { return hideSnapshots{p} },
			want:    []string{"CORE-037"},
			message: "expected Unimplemented, got OK",
		},
		{
			name: "writes deadlock after a create without a name",
			wrap: func(p providerv1.ProviderServer) providerv1.ProviderServer {
				return &wedgeOnNamelessCreate{ProviderServer: p}
			},
			tags: "@CORE-036",
			tune: func(c *steps.Config) {
				c.CallTimeout, c.TaskTimeout = 300*time.Millisecond, 300*time.Millisecond
			},
			want:    []string{"CORE-036"},
			message: "provider unresponsive after create without a name",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := driver.NewWire(serve(t, tc.wrap))
			r := runSuite(t, d, tc.tags, tc.tune)
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

// ignoreCPU behaves like a provider that reads the wrong key: reconfigure keeps the CPU count.
type ignoreCPU struct{ providerv1.ProviderServer }

func (w ignoreCPU) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	var desired map[string]map[string]any
	if json.Unmarshal([]byte(req.GetDesiredJson()), &desired) == nil && desired["Class"] != nil {
		list, err := w.ListVMs(ctx, &providerv1.ListVMsRequest{})
		if err != nil {
			return nil, err
		}
		for _, vm := range list.GetVms() {
			if vm.GetId() == req.GetId() {
				desired["Class"]["CPU"] = vm.GetCpu()
			}
		}
		b, _ := json.Marshal(desired)
		req = &providerv1.ReconfigureRequest{Id: req.GetId(), DesiredJson: string(b)}
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

// acceptAnyPowerOp treats operations beyond the enum as a no-op that succeeds.
type acceptAnyPowerOp struct{ providerv1.ProviderServer }

func (w acceptAnyPowerOp) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if req.GetOp() < 0 || req.GetOp() > providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL {
		return &providerv1.TaskResponse{}, nil
	}
	return w.ProviderServer.Power(ctx, req)
}

// hideSnapshots keeps snapshots working but says it has none: capabilities are dishonest.
type hideSnapshots struct{ providerv1.ProviderServer }

func (w hideSnapshots) GetCapabilities(ctx context.Context, req *providerv1.GetCapabilitiesRequest) (*providerv1.GetCapabilitiesResponse, error) {
	resp, err := w.ProviderServer.GetCapabilities(ctx, req)
	if err == nil {
		resp.SupportsSnapshots = false
	}
	return resp, err
}

// wedgeOnNamelessCreate copies the upstream mock's bug: after one bad create, every write
// blocks forever while reads keep working.
type wedgeOnNamelessCreate struct {
	providerv1.ProviderServer
	wedged atomic.Bool
}

func (w *wedgeOnNamelessCreate) block(ctx context.Context) error {
	if !w.wedged.Load() {
		return nil
	}
	<-ctx.Done()
	return status.FromContextError(ctx.Err()).Err()
}

func (w *wedgeOnNamelessCreate) Create(ctx context.Context, req *providerv1.CreateRequest) (*providerv1.CreateResponse, error) {
	if req.GetName() == "" {
		w.wedged.Store(true)
		return nil, status.Error(codes.InvalidArgument, "name is required")
	}
	if err := w.block(ctx); err != nil {
		return nil, err
	}
	return w.ProviderServer.Create(ctx, req)
}

func (w *wedgeOnNamelessCreate) Power(ctx context.Context, req *providerv1.PowerRequest) (*providerv1.TaskResponse, error) {
	if err := w.block(ctx); err != nil {
		return nil, err
	}
	return w.ProviderServer.Power(ctx, req)
}

func (w *wedgeOnNamelessCreate) Delete(ctx context.Context, req *providerv1.DeleteRequest) (*providerv1.TaskResponse, error) {
	if err := w.block(ctx); err != nil {
		return nil, err
	}
	return w.ProviderServer.Delete(ctx, req)
}

func (w *wedgeOnNamelessCreate) Reconfigure(ctx context.Context, req *providerv1.ReconfigureRequest) (*providerv1.TaskResponse, error) {
	if err := w.block(ctx); err != nil {
		return nil, err
	}
	return w.ProviderServer.Reconfigure(ctx, req)
}

// TestUnselectedProfilesAreSkippedWithTheirReason: a scenario of a profile the runner did not
// select is recorded as skipped, with the runner's reason, never silently dropped.
func TestUnselectedProfilesAreSkippedWithTheirReason(t *testing.T) {
	d := driver.NewWire(serve(t, nil))
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
				conn := serve(b, nil)
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
