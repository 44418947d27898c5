package runner

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/report"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/target"
	"github.com/vctsio/vcts/internal/version"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/steps"
)

func finalized(t testing.TB, edit func(*config.File)) config.File {
	t.Helper()
	f := config.Default()
	if edit != nil {
		edit(&f)
	}
	require.NoError(t, f.Finalize(""))
	return f
}

func endpointConfig(t testing.TB, addr string, edit func(*config.File)) config.File {
	return finalized(t, func(f *config.File) {
		f.Provider.Endpoint = addr
		if edit != nil {
			edit(f)
		}
	})
}

func verdicts(r *results.Report) map[string]results.Verdict {
	out := map[string]results.Verdict{}
	for _, p := range r.Profiles {
		out[p.Name] = p.Verdict
	}
	return out
}

func statusOf(r *results.Report, id string) results.Status {
	for _, q := range r.Requirements {
		if q.ID == id {
			return q.Status
		}
	}
	return ""
}

func TestProcessTargetPassesAllProfiles(t *testing.T) {
	dir := t.TempDir()
	var progress bytes.Buffer
	res, err := Run(context.Background(), Options{
		Config:    finalized(t, nil),
		Target:    &target.Process{Mode: target.ModeInProcess},
		ReportDir: dir,
		Progress:  &progress,
	})
	require.NoError(t, err)
	r := res.Report
	require.Equal(t, results.VerdictPass, r.Verdict, "problems: %v\nfailed: %v", r.Problems, failures(r))
	assert.Equal(t, map[string]results.Verdict{"core": "pass", "snapshot": "pass", "clone": "pass"}, verdicts(r))
	assert.Equal(t, "process", r.Target.Kind)
	assert.Equal(t, target.ModeInProcess, r.Target.Mode)
	assert.Equal(t, version.Version, r.Provider.Version, "the in-process provider is this build")
	require.NotNil(t, r.Provider.Capabilities)
	assert.True(t, r.Provider.Capabilities.Snapshots)
	assert.NotEmpty(t, r.ProviderLogs)
	require.NotNil(t, r.Timings)
	assert.Positive(t, r.Timings.Suite)

	// One progress line per scenario, and one testcase per scenario in JUnit.
	lines := strings.Count(progress.String(), "\n")
	assert.Equal(t, len(r.Scenarios), lines)
	assert.Equal(t, len(r.Scenarios), strings.Count(progress.String(), "✓ "))
	junit, err := os.ReadFile(filepath.Join(dir, report.JUnitFile))
	require.NoError(t, err)
	var doc struct {
		Tests int `xml:"tests,attr"`
	}
	require.NoError(t, xml.Unmarshal(junit, &doc))
	assert.Equal(t, len(r.Scenarios), doc.Tests)
	for _, f := range []string{report.ResultsFile, report.CucumberFile, report.HTMLFile, report.SummaryFile, report.BadgeFile, report.CatalogFile} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	cucumber, _ := os.ReadFile(filepath.Join(dir, report.CucumberFile))
	assert.Contains(t, string(cucumber), `"keyword": "Feature"`, "godog's cucumber JSON")
	back, err := results.Load(filepath.Join(dir, report.ResultsFile))
	require.NoError(t, err)
	assert.Equal(t, r.Verdict, back.Verdict)
	// The configuration in the report says what actually ran, defaults included.
	assert.Equal(t, 3, r.Config.Tests.IdempotentCount)
	assert.Equal(t, 10*time.Second, r.Config.Tests.CallTimeout.D())
	require.Len(t, r.Config.Profiles.Core.VMSpecs, 1)
	assert.Positive(t, r.Config.Profiles.Core.VMSpecs[0].CPU)
}

func failures(r *results.Report) []string {
	var out []string
	for _, q := range r.Requirements {
		if q.Status == results.Failed || q.Status == results.StaleKnownFailing {
			out = append(out, q.ID+": "+q.Reason)
		}
	}
	return out
}

func TestProcessTargetWithTheProviderBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the provider binary")
	}
	root, err := target.ModuleRoot()
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "provider-file")
	buildProvider(t, root, bin, "-ldflags=-X github.com/vctsio/vcts/internal/version.Version=v0.0.0-runner-test")
	res, err := Run(context.Background(), Options{Config: finalized(t, func(f *config.File) { f.Target.ProviderBin = bin })})
	require.NoError(t, err)
	r := res.Report
	require.Equal(t, results.VerdictPass, r.Verdict, "failed: %v %v", failures(r), r.Problems)
	assert.Equal(t, target.ModeBinary, r.Target.Mode)
	assert.Contains(t, r.Target.Detail, bin)
	assert.Equal(t, "v0.0.0-runner-test", r.Provider.Version, "the binary's own -version")
	assert.Empty(t, r.Provider.Image, "a binary is no image, and the configuration names none")
}

func TestEndpointTargetAgainstARunningProvider(t *testing.T) {
	addr, client := provider(t, 0)
	res, err := Run(context.Background(), Options{Config: endpointConfig(t, addr, nil)})
	require.NoError(t, err)
	r := res.Report
	require.Equal(t, results.VerdictPass, r.Verdict, "failed: %v %v", failures(r), r.Problems)
	assert.Equal(t, "endpoint", r.Target.Kind)
	assert.Equal(t, addr, r.Provider.Endpoint)
	assert.Empty(t, r.ProviderLogs, "a provider we do not run shows us no logs")
	assert.Empty(t, r.Provider.Image, "nothing names the image")
	assert.Empty(t, r.Provider.Version, "a remote provider does not tell its version")
	assert.Empty(t, vmsLeft(t, client), "the suite leaves nothing behind in someone else's provider")
}

func TestAnUnknownVMIDThatExistsStopsTheRunBeforeItCostsTheVM(t *testing.T) {
	addr, client := provider(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	created, err := client.Create(ctx, &providerv1.CreateRequest{Name: "someones-vm", ClassJson: `{"CPU":2,"MemoryMiB":2048}`})
	require.NoError(t, err)
	before, err := client.Describe(ctx, &providerv1.DescribeRequest{Id: created.GetId()})
	require.NoError(t, err)
	dir := t.TempDir()
	res, err := Run(context.Background(), Options{
		Config:    endpointConfig(t, addr, func(f *config.File) { f.Provider.UnknownVMID = created.GetId() }),
		ReportDir: dir,
	})
	var ce *config.Error
	require.ErrorAs(t, err, &ce, "a configured id that names a VM is a configuration mistake (exit 2)")
	assert.Equal(t, "provider.unknown_vm_id", ce.Key)
	assert.Contains(t, err.Error(), `"someones-vm"`)
	require.NotNil(t, res)
	assert.Equal(t, results.VerdictFail, res.Report.Verdict)
	for _, q := range res.Report.Requirements {
		assert.NotContains(t, []results.Status{results.Passed, results.Failed}, q.Status, "%s: no scenario ran", q.ID)
	}
	assert.Equal(t, []string{"someones-vm"}, vmsLeft(t, client), "the VM is untouched")
	d, err := client.Describe(ctx, &providerv1.DescribeRequest{Id: created.GetId()})
	require.NoError(t, err)
	assert.Equal(t, before.GetPowerState(), d.GetPowerState(), "nothing powered it")
	assert.Equal(t, before.GetProviderRawJson(), d.GetProviderRawJson(), "nothing reconfigured it")
	_, err = os.Stat(filepath.Join(dir, report.ResultsFile))
	assert.NoError(t, err, "the report says why nothing ran")
}

func TestFailingScenariosFailTheRunAndLeaveNoVMs(t *testing.T) {
	addr, client := provider(t, 0, reconfigureIgnored)
	dir := t.TempDir()
	res, err := Run(context.Background(), Options{Config: endpointConfig(t, addr, nil), ReportDir: dir})
	require.NoError(t, err, "failing requirements are a verdict, not an error")
	r := res.Report
	assert.Equal(t, results.VerdictFail, r.Verdict)
	assert.Equal(t, 1, r.ExitCode())
	assert.Equal(t, results.Failed, statusOf(r, "CORE-025"), "reconfigure changes must be visible")
	assert.Equal(t, results.Passed, statusOf(r, "CORE-003"), "unrelated requirements still pass")
	assert.Equal(t, results.VerdictFail, verdicts(r)["core"])
	assert.Empty(t, vmsLeft(t, client), "failed assertions never leak VMs")
	summary, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	require.NoError(t, err)
	assert.Contains(t, string(summary), "CORE-025")
}

func TestKnownFailing(t *testing.T) {
	addr, _ := provider(t, 0, reconfigureIgnored)
	kf := filepath.Join(t.TempDir(), "known-failing.txt")
	require.NoError(t, os.WriteFile(kf, []byte("# reconfigure is a no-op in this provider\nCORE-025\n"), 0o600))
	cfg := endpointConfig(t, addr, func(f *config.File) {
		f.Tests.KnownFailing = kf
		f.Tests.Tags = "@CORE-003,@CORE-025"
	})
	res, err := Run(context.Background(), Options{Config: cfg, Profiles: []string{"core"}})
	require.NoError(t, err)
	r := res.Report
	assert.Equal(t, results.KnownFailing, statusOf(r, "CORE-025"))
	assert.Equal(t, results.VerdictPartial, r.Verdict, "expected failures: partial, never pass")
	assert.Equal(t, 3, r.ExitCode())
	assert.Equal(t, []string{"CORE-025"}, r.KnownFailing)

	// The same list against a provider where CORE-025 passes: stale configuration.
	good, _ := provider(t, 0)
	cfg.Provider.Endpoint = good
	res, err = Run(context.Background(), Options{Config: cfg, Profiles: []string{"core"}})
	require.NoError(t, err)
	r = res.Report
	assert.Equal(t, results.StaleKnownFailing, statusOf(r, "CORE-025"))
	assert.Equal(t, results.VerdictFail, r.Verdict)
	assert.Contains(t, failures(r)[0], "configuration is stale")
}

func TestKnownFlaky(t *testing.T) {
	dir := t.TempDir()
	flaky := filepath.Join(dir, "known-flaky.txt")
	require.NoError(t, os.WriteFile(flaky, []byte("CORE-025 # the hypervisor applies reconfigures late at times\n"), 0o600))
	addr, _ := provider(t, 0, reconfigureIgnored)
	cfg := endpointConfig(t, addr, func(f *config.File) {
		f.Tests.KnownFlaky = flaky
		f.Tests.Tags = "@CORE-003,@CORE-025"
	})
	res, err := Run(context.Background(), Options{Config: cfg, Profiles: []string{"core"}})
	require.NoError(t, err)
	r := res.Report
	assert.Equal(t, results.KnownFailing, statusOf(r, "CORE-025"))
	assert.Equal(t, results.VerdictPartial, r.Verdict, "a flaky failure: partial, never pass")
	assert.Equal(t, []string{"CORE-025"}, r.KnownFlaky)

	good, _ := provider(t, 0)
	cfg.Provider.Endpoint = good
	res, err = Run(context.Background(), Options{Config: cfg, Profiles: []string{"core"}})
	require.NoError(t, err)
	assert.Equal(t, results.Passed, statusOf(res.Report, "CORE-025"), "a flaky requirement that passes is no stale configuration")
	core, _ := res.Report.Profile("core")
	coreReqs := 0
	for _, q := range res.Report.Requirements {
		if q.Profile == config.ProfileCore {
			coreReqs++
		}
	}
	assert.Equal(t, fmt.Sprintf("%d requirements not selected (--tags)", coreReqs-2), core.Reason, "partial only for what the tags left out")

	// Listed as both must-fail and may-fail: a configuration mistake.
	kf := filepath.Join(dir, "known-failing.txt")
	require.NoError(t, os.WriteFile(kf, []byte("CORE-025\n"), 0o600))
	_, err = Run(context.Background(), Options{Config: finalized(t, func(f *config.File) { f.Tests.KnownFailing, f.Tests.KnownFlaky = kf, flaky })})
	var ce *config.Error
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "tests.known_flaky: CORE-025 is also listed as known-failing")
}

func TestKnownFailingRejectsUnknownIDs(t *testing.T) {
	kf := filepath.Join(t.TempDir(), "known-failing.txt")
	require.NoError(t, os.WriteFile(kf, []byte("CORE-999\n"), 0o600))
	_, err := Run(context.Background(), Options{Config: finalized(t, func(f *config.File) { f.Tests.KnownFailing = kf })})
	var ce *config.Error
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "CORE-999 is not a requirement")
}

// A tag naming a requirement the spec does not have selects nothing by mistake (or, negated,
// excludes nothing): a configuration error, before anything starts.
func TestTagOfAnUnknownRequirementIsRefused(t *testing.T) {
	tg := &recordingTarget{}
	for _, tags := range []string{"@CORE-999", "@core&&~@SNAP-999", "@CORE-001,@CLONE-1000"} {
		_, err := Run(context.Background(), Options{Config: finalized(t, func(f *config.File) { f.Tests.Tags = tags }), Target: tg})
		var cerr *config.Error
		require.ErrorAs(t, err, &cerr, tags)
		assert.Equal(t, "tests.tags", cerr.Key)
		assert.Contains(t, err.Error(), "is not a requirement of the spec", tags)
	}
	assert.False(t, tg.started)
}

// recordingTarget is a target that must not be started.
type recordingTarget struct {
	target.Target
	started bool
}

func (r *recordingTarget) Start(context.Context) error { r.started = true; return nil }

func TestZeroSelectedScenariosFailWithoutStartingAnything(t *testing.T) {
	tg := &recordingTarget{}
	// No scenario is both CORE-001 and CORE-002.
	res, err := Run(context.Background(), Options{Config: finalized(t, func(f *config.File) { f.Tests.Tags = "@CORE-001&&@CORE-002" }), Target: tg})
	require.NoError(t, err)
	assert.False(t, tg.started)
	assert.Equal(t, results.VerdictFail, res.Report.Verdict)
	assert.Contains(t, res.Report.Problems, "no scenario was selected: check --profile and --tags")
}

func TestProfilesFollowCapabilitiesAndConfiguration(t *testing.T) {
	addr, _ := provider(t, 0, noSnapshots)
	cfg := endpointConfig(t, addr, func(f *config.File) {
		off := false
		f.Profiles.Clone.Enabled = &off
	})
	res, err := Run(context.Background(), Options{Config: cfg})
	require.NoError(t, err)
	r := res.Report
	assert.Equal(t, map[string]results.Verdict{"core": "pass", "snapshot": "skip", "clone": "skip"}, verdicts(r), "failed: %v", failures(r))
	assert.Equal(t, results.VerdictPass, r.Verdict, "conformant to the profiles it offers")
	snap, _ := r.Profile("snapshot")
	assert.Contains(t, snap.Reason, "does not offer snapshots")
	clone, _ := r.Profile("clone")
	assert.Equal(t, "disabled in the configuration (profiles.clone.enabled: false)", clone.Reason)
	assert.False(t, r.Provider.Capabilities.Snapshots)

	// Asking for the snapshot profile alone from such a provider runs nothing: a failure.
	res, err = Run(context.Background(), Options{Config: cfg, Profiles: []string{"snapshot"}})
	require.NoError(t, err)
	assert.Equal(t, results.VerdictFail, res.Report.Verdict)
	assert.Contains(t, res.Report.Problems[0], "no scenario ran")
}

func TestUnreachableProviderStillYieldsAReport(t *testing.T) {
	dir := t.TempDir()
	// A report left from an earlier run must not survive as if it were this run's.
	require.NoError(t, os.WriteFile(filepath.Join(dir, report.CucumberFile), []byte(`[{"name":"an earlier run"}]`), 0o600))
	cfg := endpointConfig(t, "127.0.0.1:1", func(f *config.File) { f.Target.StartTimeout = config.Duration(200 * time.Millisecond) })
	res, err := Run(context.Background(), Options{Config: cfg, ReportDir: dir})
	require.Error(t, err)
	require.NotNil(t, res)
	assert.Equal(t, results.VerdictFail, res.Report.Verdict)
	assert.Contains(t, res.Report.Problems[0], "endpoint target")
	assert.Len(t, res.Report.Problems, 1, "only why the run stopped, no scenario counts: %q", res.Report.Problems)
	assert.FileExists(t, filepath.Join(dir, report.ResultsFile), "CI still gets a results.json")
	cucumber, err := os.ReadFile(filepath.Join(dir, report.CucumberFile))
	require.NoError(t, err)
	assert.JSONEq(t, `[]`, string(cucumber), "no feature ran")
}

func TestInterruptedRunCleansUp(t *testing.T) {
	// A transition delay makes scenarios slow enough to interrupt in the middle.
	addr, client := provider(t, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	res, err := Run(ctx, Options{
		Config: endpointConfig(t, addr, nil),
		OnScenario: func(results.Scenario) {
			once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
		},
	})
	require.NoError(t, err)
	r := res.Report
	assert.Equal(t, results.VerdictFail, r.Verdict)
	assert.Contains(t, r.Problems, "the run was interrupted; the suite's VMs were cleaned up")
	assert.Empty(t, vmsLeft(t, client), "an interrupted run leaves no VM behind")
	notBlamed(t, r)
}

// notBlamed checks that a stopped run against a correct provider blames the stop, not the
// provider: no scenario failed (those cut off are not finished), no profile failed, and the
// breaker did not take the suite's own cancellations for a provider that stopped answering.
func notBlamed(t *testing.T, r *results.Report) {
	t.Helper()
	stopped := 0
	for _, s := range r.Scenarios {
		assert.NotEqual(t, results.Failed, s.Status, "%s failed: %s", s.Requirement, s.Reason)
		if strings.HasPrefix(s.Reason, steps.StoppedReason) {
			stopped++
		}
	}
	assert.Positive(t, stopped, "some scenario was cut off in the middle")
	for _, p := range r.Profiles {
		assert.NotEqual(t, results.VerdictFail, p.Verdict, "profile %s: %s", p.Name, p.Reason)
	}
	assert.NotContains(t, strings.Join(r.Problems, "\n"), "stopped answering")
}

func TestTimeoutEndsTheRunAndCleansUp(t *testing.T) {
	addr, client := provider(t, 100*time.Millisecond)
	cfg := endpointConfig(t, addr, func(f *config.File) { f.Tests.Timeout = config.Duration(700 * time.Millisecond) })
	res, err := Run(context.Background(), Options{Config: cfg})
	require.NoError(t, err)
	assert.Equal(t, results.VerdictFail, res.Report.Verdict)
	assert.Contains(t, strings.Join(res.Report.Problems, "\n"), "exceeded tests.timeout (700ms)")
	assert.Empty(t, vmsLeft(t, client))
	notBlamed(t, res.Report)
}

func TestCallerSuppliedConnection(t *testing.T) {
	addr, _ := provider(t, 0)
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()
	cfg := finalized(t, func(f *config.File) { f.Target.Kind = config.TargetConnection; f.Tests.Tags = "@CORE-001,@CORE-003" })
	res, err := Run(context.Background(), Options{Config: cfg, Conn: cc, Profiles: []string{"core"}})
	require.NoError(t, err)
	assert.Equal(t, results.Passed, statusOf(res.Report, "CORE-001"))
	assert.Equal(t, results.Passed, statusOf(res.Report, "CORE-003"))
	core, _ := res.Report.Profile("core")
	assert.Equal(t, 2, core.Passed)
	assert.Equal(t, 0, core.Failed)
	assert.Equal(t, "connection", res.Report.Target.Kind)
}

func TestTutorialDialectIsPartialNotPass(t *testing.T) {
	addr, client := provider(t, 0)
	res, err := Run(context.Background(), Options{Config: endpointConfig(t, addr, func(f *config.File) { f.Provider.Dialect = config.DialectTutorial })})
	require.NoError(t, err)
	r := res.Report
	assert.Empty(t, failures(r))
	assert.Equal(t, results.VerdictPartial, r.Verdict, "requirements the tutorial API cannot express are skipped: partial")
	assert.Equal(t, 3, r.ExitCode())
	assert.Empty(t, vmsLeft(t, client))
}

func TestProbeSaysWhyRequirementsDoNotApply(t *testing.T) {
	addr, _ := provider(t, 0, noSnapshots)
	probe := func(dialect string) (int, map[string]string) {
		p, err := ProbeProvider(context.Background(), Options{
			Config:   endpointConfig(t, addr, func(f *config.File) { f.Provider.Dialect = dialect }),
			Profiles: []string{"core", "snapshot"},
		})
		require.NoError(t, err)
		why := map[string]string{}
		applies := 0
		for _, a := range p.Requirements {
			if a.Applies {
				applies++
			} else if why[a.Requirement.Profile] == "" {
				why[a.Requirement.Profile] = a.Reason
			}
		}
		return applies, why
	}
	applies, why := probe(config.DialectV1)
	assert.Positive(t, applies)
	assert.Empty(t, why["core"], "every core requirement applies to a v1 provider")
	assert.Contains(t, why["snapshot"], "does not offer snapshots")
	assert.Contains(t, why["clone"], "not selected")

	_, why = probe(config.DialectTutorial)
	assert.Contains(t, why["core"], "dialect tutorial cannot express", "some core rules need what the tutorial API lacks")
}

func TestSelectionTags(t *testing.T) {
	assert.Equal(t, "@core,@clone", selectionTags([]string{"core", "clone"}, ""))
	assert.Equal(t, "@core && @CORE-001,@core && ~@x && @y", selectionTags([]string{"core"}, "@CORE-001, ~@x && @y"))
}
