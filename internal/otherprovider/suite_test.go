package otherprovider_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/runner"
	"github.com/vctsio/vcts/internal/grpctest"
	"github.com/vctsio/vcts/internal/otherprovider"
	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
)

// served is the provider on a plain gRPC server on loopback, as a third party would run it.
type served struct {
	addr   string
	p      *otherprovider.Provider
	client providerv1.ProviderClient
}

func serve(t *testing.T, o otherprovider.Options) served {
	t.Helper()
	p := otherprovider.New(o)
	t.Cleanup(p.Close)
	srv := grpc.NewServer()
	p.Register(srv)
	h := health.NewServer()
	h.SetServingStatus("provider", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	addr := grpctest.Serve(t, srv)
	return served{addr: addr, p: p, client: providerv1.NewProviderClient(grpctest.Dial(t, addr))}
}

// configFor is the configuration a Proxmox-style provider needs: its endpoint, and a VM spec
// that names a template of its inventory (it cannot create a VM from anything else).
func configFor(t *testing.T, addr string, edit func(*config.File)) config.File {
	t.Helper()
	f := config.Default()
	f.Provider.Endpoint = addr
	f.Provider.Name = "otherprovider"
	f.Profiles.Core.VMSpecs = []config.VMSpec{{Name: "pve", CPU: 2, Memory: 2048, Image: otherprovider.TemplateName, DiskGiB: 10}}
	if edit != nil {
		edit(&f)
	}
	require.NoError(t, f.Finalize(""))
	return f
}

func listVMs(t *testing.T, c providerv1.ProviderClient) []*providerv1.VMInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.ListVMs(ctx, &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	return resp.GetVms()
}

// runSuite runs the whole suite against s and checks afterwards that the provider holds
// exactly the inventory it held before, untouched, and nothing of the suite's.
func runSuite(t *testing.T, s served, edit func(*config.File)) *results.Report {
	t.Helper()
	before := listVMs(t, s.client)
	require.Len(t, before, 3, "the seeded inventory")
	began := time.Now()
	res, err := runner.Run(context.Background(), runner.Options{Config: configFor(t, s.addr, edit)})
	require.NoError(t, err)
	t.Logf("suite run: %s wall, %d scenarios", time.Since(began).Round(time.Millisecond), len(res.Report.Scenarios))

	after := listVMs(t, s.client)
	var leftovers []string
	for _, vm := range after {
		if strings.HasPrefix(vm.GetName(), "vcts-") {
			leftovers = append(leftovers, vm.GetId()+" "+vm.GetName())
		}
	}
	assert.Empty(t, leftovers, "the suite must leave none of its VMs behind")
	require.Len(t, after, len(before), "the provider must hold exactly its own inventory again")
	for i := range before {
		assert.True(t, proto.Equal(before[i], after[i]), "inventory VM changed:\nbefore %v\nafter  %v", before[i], after[i])
	}
	assert.Equal(t, []string{"before-upgrade"}, s.p.SnapshotNames(otherprovider.WebID), "web-1's own snapshot")
	assert.Empty(t, s.p.SnapshotNames(otherprovider.TemplateID))
	return res.Report
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

func verdicts(r *results.Report) map[string]results.Verdict {
	out := map[string]results.Verdict{}
	for _, p := range r.Profiles {
		out[p.Name] = p.Verdict
	}
	return out
}

func requireAllPass(t *testing.T, r *results.Report) {
	t.Helper()
	require.Equal(t, results.VerdictPass, r.Verdict, "problems: %v\nfailed:\n%s", r.Problems, strings.Join(failures(r), "\n"))
	assert.Equal(t, map[string]results.Verdict{"core": "pass", "snapshot": "pass", "clone": "pass"}, verdicts(r))
	for _, q := range r.Requirements {
		assert.Equal(t, results.Passed, q.Status, "%s: %s", q.ID, q.Reason)
	}
}

func TestOtherProviderPassesEveryProfile(t *testing.T) {
	s := serve(t, otherprovider.Options{Snapshots: true, Clones: true})
	r := runSuite(t, s, nil)
	requireAllPass(t, r)
	require.NotNil(t, r.Provider.Capabilities)
	assert.True(t, r.Provider.Capabilities.Snapshots)
	assert.True(t, r.Provider.Capabilities.Clones)
}

func TestOtherProviderWithoutOptionalProfiles(t *testing.T) {
	s := serve(t, otherprovider.Options{})
	r := runSuite(t, s, nil)
	require.Equal(t, results.VerdictPass, r.Verdict, "problems: %v\nfailed:\n%s", r.Problems, strings.Join(failures(r), "\n"))
	assert.Equal(t, map[string]results.Verdict{"core": "pass", "snapshot": "skip", "clone": "skip"}, verdicts(r))
	for _, p := range r.Profiles {
		if p.Name == "snapshot" || p.Name == "clone" {
			assert.Contains(t, p.Reason, "does not offer "+p.Name+"s", p.Name)
		}
	}
	for _, q := range r.Requirements {
		if q.Profile == "core" {
			assert.Equal(t, results.Passed, q.Status, "%s: %s", q.ID, q.Reason)
		} else {
			assert.Equal(t, results.Skipped, q.Status, q.ID)
			assert.Contains(t, q.Reason, "does not offer "+q.Profile+"s", q.ID)
		}
	}
}

// TestOtherProviderWithSlowTasks: every change takes 150ms; the suite waits for tasks and
// still passes. Scenarios run 32 at a time so that the run stays short.
func TestOtherProviderWithSlowTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of waiting for tasks")
	}
	s := serve(t, otherprovider.Options{Snapshots: true, Clones: true, TaskDelay: 150 * time.Millisecond})
	r := runSuite(t, s, func(f *config.File) { f.Tests.Parallel = 32 })
	requireAllPass(t, r)
}

// TestOtherProviderReusingIDs: Proxmox hands the lowest free vmid out again. The suite's
// default unknown id (a VM it created and deleted) would soon be a live VM, and one scenario's
// repeated delete would hit the VM a concurrent scenario just got under the same id. The
// suite finds that out before any scenario runs and runs them one at a time, saying so. For
// the unknown id it takes the configured one; else it proposes a number far above the ids
// handed out, used once the provider confirms no VM has it; else it skips the requirements
// that need one, saying why, instead of acting on a VM it does not own.
func TestOtherProviderReusingIDs(t *testing.T) {
	const oneAtATime = "reuses the ids of deleted VMs: scenarios ran one at a time"
	reuse := otherprovider.Options{Snapshots: true, Clones: true, ReuseIDs: true, TaskDelay: 2 * time.Millisecond}
	t.Run("configured unknown id", func(t *testing.T) {
		r := runSuite(t, serve(t, reuse), func(f *config.File) { f.Provider.UnknownVMID = "999999" })
		requireAllPass(t, r)
		require.Len(t, r.Notes, 1)
		assert.Contains(t, r.Notes[0], oneAtATime)
	})
	t.Run("defaults: a far number the provider confirms", func(t *testing.T) {
		r := runSuite(t, serve(t, reuse), nil)
		requireAllPass(t, r)
		require.Len(t, r.Notes, 2)
		assert.Contains(t, r.Notes[0], oneAtATime)
		assert.Contains(t, r.Notes[1], `the unknown VM id was "999999999"`)
	})
	t.Run("defaults: the far number is out of the node's range", func(t *testing.T) {
		small := reuse
		small.MaxVMID = 99999
		r := runSuite(t, serve(t, small), nil)
		require.Empty(t, failures(r), "problems: %v", r.Problems)
		assert.Equal(t, results.VerdictPartial, r.Verdict, "requirements the suite could not test safely make the run partial")
		require.Len(t, r.Notes, 1)
		assert.Contains(t, r.Notes[0], oneAtATime)
		skipped := map[string]bool{}
		for _, q := range r.Requirements {
			if q.Status == results.Skipped {
				skipped[q.ID] = true
				assert.Contains(t, q.Reason, "set provider.unknown_vm_id", q.ID)
				assert.Contains(t, q.Reason, `the suite proposed "999999999", but Describe(id="999999999") answered InvalidArgument`, q.ID)
			}
		}
		for _, id := range []string{"CORE-016", "CORE-023", "CORE-030", "SNAP-002", "CLONE-009"} {
			assert.True(t, skipped[id], "%s needs an unknown VM id", id)
		}
		assert.False(t, skipped["CORE-036"], "the bad-request scenario leaves out only the requests that need an unknown VM")
	})
}

// TestOtherProviderParsingTaskIDs: a provider that must parse a UPID answers InvalidArgument
// for a task id that is not one, as the contract's General rules ask of malformed input. The
// suite then derives a well-formed unknown id from a UPID the provider handed out, and CORE-034
// passes on it; a configured, well-formed one passes too.
func TestOtherProviderParsingTaskIDs(t *testing.T) {
	s := serve(t, otherprovider.Options{Snapshots: true, Clones: true, StrictTaskIDs: true})
	r := runSuite(t, s, nil)
	requireAllPass(t, r)
	var core034 results.Requirement
	for _, q := range r.Requirements {
		if q.ID == "CORE-034" {
			core034 = q
		}
	}
	assert.Equal(t, results.Passed, core034.Status, "the unknown-task rule ran on a derived UPID")

	requireAllPass(t, runSuite(t, s, func(f *config.File) {
		f.Provider.UnknownTaskID = "UPID:node1:00000000:00000000:00000000:qmstart:999999:root@pam:"
	}))
}

// TestNarrowRunCreatesNoProbeVM: the id probe (a VM created and deleted, twice) decides
// whether scenarios may run side by side; a run of one scenario that needs no VM creates none.
// On a hypervisor every VM costs time and quota.
func TestNarrowRunCreatesNoProbeVM(t *testing.T) {
	var creates atomic.Int64
	count := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == providerv1.Provider_Create_FullMethodName {
			creates.Add(1)
		}
		return h(ctx, req)
	}
	p := otherprovider.New(otherprovider.Options{Snapshots: true, Clones: true, ReuseIDs: true})
	t.Cleanup(p.Close)
	srv := grpc.NewServer(grpc.UnaryInterceptor(count))
	p.Register(srv)
	h := health.NewServer()
	healthpb.RegisterHealthServer(srv, h)
	addr := grpctest.Serve(t, srv)

	res, err := runner.Run(context.Background(), runner.Options{Config: configFor(t, addr, func(f *config.File) {
		f.Tests.Tags = "@CORE-001"
		f.Tests.Parallel = 4
	})})
	require.NoError(t, err)
	require.Empty(t, failures(res.Report), "problems: %v", res.Report.Problems)
	assert.Zero(t, creates.Load(), "Create calls in a run of CORE-001 alone")
	assert.Empty(t, res.Report.Notes)
}
