package otherprovider_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/runner"
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
	srv := grpc.NewServer()
	p.Register(srv)
	h := health.NewServer()
	h.SetServingStatus("provider", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, h)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cc.Close()
		srv.Stop()
		p.Close()
	})
	return served{addr: lis.Addr().String(), p: p, client: providerv1.NewProviderClient(cc)}
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

// TestOtherProviderReusingIDs: Proxmox hands out the lowest free vmid again. The contract
// does not say whether a deleted VM's id may be reused, and with reuse two things go wrong
// under the suite: its default unknown id (a VM it created and deleted) is soon held by a new
// VM, and a repeated delete (CORE-031) deletes whichever VM of a concurrent scenario got the
// id in between. Named unknown id (provider.unknown_vm_id) and one scenario at a time, the
// suite has nothing to trip over, and the provider passes.
func TestOtherProviderReusingIDs(t *testing.T) {
	t.Run("configured unknown id, one scenario at a time", func(t *testing.T) {
		s := serve(t, otherprovider.Options{Snapshots: true, Clones: true, ReuseIDs: true, TaskDelay: 2 * time.Millisecond})
		requireAllPass(t, runSuite(t, s, func(f *config.File) {
			f.Provider.UnknownVMID = "999999"
			f.Tests.Parallel = 1
		}))
	})
	t.Run("defaults", func(t *testing.T) {
		if os.Getenv("VCTS_OTHERPROVIDER_FINDINGS") == "" {
			t.Skip("finding (contract gap): with reused vmids the suite acts on live VMs it takes for unknown or deleted ones: " +
				"the created-and-deleted unknown id is reused (CORE-016/023, SNAP-002, CLONE-009 fail; CORE-030 deletes a concurrent scenario's VM), " +
				"and CORE-031's repeated delete hits a VM created meanwhile (CORE-028/029/031/032/033/036/039 fail at random). " +
				"Set VCTS_OTHERPROVIDER_FINDINGS=1 to run it")
		}
		s := serve(t, otherprovider.Options{Snapshots: true, Clones: true, ReuseIDs: true})
		requireAllPass(t, runSuite(t, s, nil))
	})
}

// TestOtherProviderParsingTaskIDs: a provider that must parse a UPID answers InvalidArgument
// for a task id that is not one, as the contract's General rules ask of malformed input.
func TestOtherProviderParsingTaskIDs(t *testing.T) {
	if os.Getenv("VCTS_OTHERPROVIDER_FINDINGS") == "" {
		t.Skip("finding: the suite's unknown task id is made up (\"<run id>-unknown-task\"), not in the provider's format, and no configuration key " +
			"can supply one; CORE-034 fails a provider that rejects a malformed UPID as InvalidArgument. Set VCTS_OTHERPROVIDER_FINDINGS=1 to run it")
	}
	s := serve(t, otherprovider.Options{Snapshots: true, Clones: true, StrictTaskIDs: true})
	requireAllPass(t, runSuite(t, s, nil))
}
