package otherprovider

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/steps/driver"
)

const class = `{"CPU":2,"MemoryMiB":2048}`

var image = `{"TemplateName":"` + TemplateName + `","URL":""}`

func newProvider(t *testing.T, o Options) *Provider {
	t.Helper()
	p := New(o)
	t.Cleanup(p.Close)
	return p
}

func code(err error) codes.Code { return status.Code(err) }

// wait polls a task the way the manager does and returns how many answers said done=false.
func wait(t *testing.T, p *Provider, ref *providerv1.TaskRef) int {
	t.Helper()
	pending := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		st, err := p.TaskStatus(context.Background(), &providerv1.TaskStatusRequest{Task: ref})
		require.NoError(t, err)
		require.Empty(t, st.GetError())
		if st.GetDone() {
			return pending
		}
		pending++
	}
	t.Fatalf("task %s never finished", ref.GetId())
	return pending
}

func create(t *testing.T, p *Provider, name string) string {
	t.Helper()
	resp, err := p.Create(context.Background(), &providerv1.CreateRequest{Name: name, ClassJson: class, ImageJson: image})
	require.NoError(t, err)
	wait(t, p, resp.GetTask())
	return resp.GetId()
}

var upid = regexp.MustCompile(`^UPID:node1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmclone:100:root@pam:$`)

func TestChangesAreAppliedAsynchronously(t *testing.T) {
	p := newProvider(t, Options{TaskDelay: 50 * time.Millisecond})
	ctx := context.Background()
	resp, err := p.Create(ctx, &providerv1.CreateRequest{Name: "app-1", ClassJson: class, ImageJson: image})
	require.NoError(t, err)
	assert.Equal(t, "103", resp.GetId(), "vmids continue after the inventory's")
	assert.Regexp(t, upid, resp.GetTask().GetId())

	d, err := p.Describe(ctx, &providerv1.DescribeRequest{Id: "103"})
	require.NoError(t, err)
	assert.False(t, d.GetExists(), "the VM is there only once its task ran")
	assert.Positive(t, wait(t, p, resp.GetTask()), "TaskStatus said done=false before the delay")

	d, err = p.Describe(ctx, &providerv1.DescribeRequest{Id: "103"})
	require.NoError(t, err)
	assert.True(t, d.GetExists())
	assert.Equal(t, "Off", d.GetPowerState(), "new VMs are created powered off")
}

func TestIdsAndTasks(t *testing.T) {
	p := newProvider(t, Options{})
	ctx := context.Background()
	for _, id := range []string{"", "vm-does-not-exist", "0100", "+100", "99", "1234567890", "1e3"} {
		_, err := p.Describe(ctx, &providerv1.DescribeRequest{Id: id})
		assert.Equal(t, codes.InvalidArgument, code(err), "Describe(%q)", id)
		_, err = p.Power(ctx, &providerv1.PowerRequest{Id: id, Op: providerv1.PowerOp_POWER_OP_ON})
		assert.Equal(t, codes.InvalidArgument, code(err), "Power(%q)", id)
		_, err = p.Delete(ctx, &providerv1.DeleteRequest{Id: id})
		assert.Equal(t, codes.InvalidArgument, code(err), "Delete(%q)", id)
	}
	d, err := p.Describe(ctx, &providerv1.DescribeRequest{Id: "999999"})
	require.NoError(t, err)
	assert.False(t, d.GetExists())
	_, err = p.Power(ctx, &providerv1.PowerRequest{Id: "999999", Op: providerv1.PowerOp_POWER_OP_ON})
	assert.Equal(t, codes.NotFound, code(err))
	del, err := p.Delete(ctx, &providerv1.DeleteRequest{Id: "999999"})
	require.NoError(t, err, "deleting a vmid nobody holds is OK")
	wait(t, p, del.GetTask())

	_, err = p.TaskStatus(ctx, &providerv1.TaskStatusRequest{})
	assert.Equal(t, codes.InvalidArgument, code(err))
	_, err = p.TaskStatus(ctx, &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{}})
	assert.Equal(t, codes.InvalidArgument, code(err))
	_, err = p.TaskStatus(ctx, &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{Id: "UPID:node1:00000001:00000001:00000001:qmstart:100:root@pam:"}})
	assert.Equal(t, codes.NotFound, code(err))
	_, err = p.TaskStatus(ctx, &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{Id: "no-upid"}})
	assert.Equal(t, codes.NotFound, code(err), "NotFound unless StrictTaskIDs")

	strict := newProvider(t, Options{StrictTaskIDs: true})
	_, err = strict.TaskStatus(ctx, &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{Id: "no-upid"}})
	assert.Equal(t, codes.InvalidArgument, code(err))
}

func TestReusedIDs(t *testing.T) {
	p := newProvider(t, Options{ReuseIDs: true})
	id := create(t, p, "a")
	del, err := p.Delete(context.Background(), &providerv1.DeleteRequest{Id: id})
	require.NoError(t, err)
	wait(t, p, del.GetTask())
	assert.Equal(t, id, create(t, p, "b"), "the lowest free vmid is handed out again")
}

func TestCreatePayloads(t *testing.T) {
	p := newProvider(t, Options{})
	ctx := context.Background()
	for _, tc := range []struct{ name, class, image string }{
		{"", class, image},
		{"bad name", class, image},
		{"x", `{"cpus":2,"memory":2048}`, image},
		{"x", `{"cpu":2,"memoryMiB":2048}`, image},
		{"x", `{"CPU":2}`, image},
		{"x", `{"CPU":2,"MemoryMiB":2048.5}`, image},
		{"x", `{"CPU":513,"MemoryMiB":2048}`, image},
		{"x", `null`, image},
		{"x", class, ``},
		{"x", class, `{"TemplateName":"debian-12"}`},
		{"x", class, `{"TemplateName":"web-1"}`},
	} {
		_, err := p.Create(ctx, &providerv1.CreateRequest{Name: tc.name, ClassJson: tc.class, ImageJson: tc.image})
		assert.Equal(t, codes.InvalidArgument, code(err), "%+v: %v", tc, err)
	}
	resp, err := p.Create(ctx, &providerv1.CreateRequest{Name: "x", ClassJson: `{"CPU":3,"MemoryMiB":3072,"Extra":true}`, ImageJson: image})
	require.NoError(t, err, "extra keys are ignored")
	wait(t, p, resp.GetTask())
}

// TestRawJSONIsNotReadAsHardware: the Proxmox shape carries "cpu" as a load fraction (0 when
// stopped), memory in bytes and a nested config whose "cpu" is a CPU model. The suite's wire
// driver must not take any of it for CPU count and MiB; it then relies on ListVMs.
func TestRawJSONIsNotReadAsHardware(t *testing.T) {
	p := newProvider(t, Options{})
	for _, id := range []string{WebID, DBID} {
		d, err := p.Describe(context.Background(), &providerv1.DescribeRequest{Id: id})
		require.NoError(t, err)
		var raw map[string]any
		require.NoError(t, json.Unmarshal([]byte(d.GetProviderRawJson()), &raw))
		assert.Contains(t, raw, "vmid")
		assert.Contains(t, raw, "maxmem")
		hw, ok := driver.HardwareFromRawJSON(d.GetProviderRawJson())
		assert.False(t, ok, "VM %s: read as %+v from %s", id, hw, d.GetProviderRawJson())
	}
}

func TestPowerAndReconfigure(t *testing.T) {
	p := newProvider(t, Options{})
	ctx := context.Background()
	id := create(t, p, "app")
	for _, op := range []providerv1.PowerOp{0, 5, -1} {
		_, err := p.Power(ctx, &providerv1.PowerRequest{Id: id, Op: op})
		assert.Equal(t, codes.InvalidArgument, code(err), "op %d", op)
	}
	_, err := p.Power(ctx, &providerv1.PowerRequest{Id: TemplateID, Op: providerv1.PowerOp_POWER_OP_ON})
	assert.Equal(t, codes.FailedPrecondition, code(err), "a template cannot run")

	on, err := p.Power(ctx, &providerv1.PowerRequest{Id: id, Op: providerv1.PowerOp_POWER_OP_ON})
	require.NoError(t, err)
	// Queued behind the power-on: applied after it, whatever the timers do.
	re, err := p.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: id, DesiredJson: `{"Class":{"CPU":4,"MemoryMiB":8192},"Disks":[{"SizeGiB":64}]}`})
	require.NoError(t, err)
	wait(t, p, on.GetTask())
	wait(t, p, re.GetTask())
	vms, err := p.ListVMs(ctx, &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	got := vms.GetVms()[len(vms.GetVms())-1]
	assert.Equal(t, []any{int32(4), int64(8192), "Off"}, []any{got.GetCpu(), got.GetMemoryMib(), got.GetPowerState()},
		"reconfigured offline: the running VM was stopped for it")

	for _, desired := range []string{`{"Class":{"CPU":0,"MemoryMiB":2048}}`, `{"Class":{"CPU":2,"MemoryMiB":-1}}`, `{"Class":{"cpu":"x"}}`, `{"Class":[]}`, `[]`} {
		_, err := p.Reconfigure(ctx, &providerv1.ReconfigureRequest{Id: id, DesiredJson: desired})
		assert.Equal(t, codes.InvalidArgument, code(err), desired)
	}
}

func TestSnapshotNames(t *testing.T) {
	assert.Equal(t, "vcts-abc-snap-001-s1", snapName("vcts-abc-snap-001-s1"))
	assert.Equal(t, "s1_2_x", snapName("1.2 x"))
	assert.Equal(t, "s", snapName(""))
	assert.Equal(t, "snap___", snapName("snap/ä."), "one rune, one underscore")
	long := snapName(strings.Repeat("a", 60))
	assert.Len(t, long, 40)
	taken := map[string]bool{long: true, long[:38] + "-2": true}
	assert.Equal(t, long[:38]+"-3", uniqueSnapName(long, func(n string) bool { return taken[n] }))

	p := newProvider(t, Options{Snapshots: true})
	ctx := context.Background()
	var ids []string
	for range 3 {
		s, err := p.SnapshotCreate(ctx, &providerv1.SnapshotCreateRequest{VmId: DBID, NameHint: "nightly backup"})
		require.NoError(t, err)
		wait(t, p, s.GetTask())
		ids = append(ids, s.GetSnapshotId())
	}
	assert.Equal(t, []string{"nightly_backup", "nightly_backup-2", "nightly_backup-3"}, ids)
	_, err := p.SnapshotCreate(ctx, &providerv1.SnapshotCreateRequest{VmId: DBID, IncludeMemory: true})
	assert.Equal(t, codes.Unimplemented, code(err), "memory snapshots are not advertised")
	_, err = p.SnapshotRevert(ctx, &providerv1.SnapshotRevertRequest{VmId: DBID, SnapshotId: "no such snapshot"})
	assert.Equal(t, codes.InvalidArgument, code(err), "not a snapshot name")
	_, err = p.SnapshotRevert(ctx, &providerv1.SnapshotRevertRequest{VmId: DBID, SnapshotId: "gone"})
	assert.Equal(t, codes.NotFound, code(err))
	del, err := p.SnapshotDelete(ctx, &providerv1.SnapshotDeleteRequest{VmId: "999999", SnapshotId: "gone"})
	require.NoError(t, err, "a snapshot of a VM nobody holds is deleted already")
	wait(t, p, del.GetTask())
}

func TestOptionalRPCsWhenNotOffered(t *testing.T) {
	p := newProvider(t, Options{})
	ctx := context.Background()
	caps, err := p.GetCapabilities(ctx, &providerv1.GetCapabilitiesRequest{})
	require.NoError(t, err)
	assert.False(t, caps.GetSupportsSnapshots())
	assert.False(t, caps.GetSupportsReconfigureOnline())
	for _, req := range []*providerv1.CloneRequest{{}, {SourceVmId: WebID, TargetName: "copy"}, {SourceVmId: "x"}} {
		_, err := p.Clone(ctx, req)
		assert.Equal(t, codes.Unimplemented, code(err), "%v", req)
	}
	_, err = p.SnapshotCreate(ctx, &providerv1.SnapshotCreateRequest{VmId: WebID})
	assert.Equal(t, codes.Unimplemented, code(err))
	_, err = p.HardwareUpgrade(ctx, &providerv1.HardwareUpgradeRequest{Id: WebID})
	assert.Equal(t, codes.Unimplemented, code(err))
	_, err = p.ExportDisk(ctx, &providerv1.ExportDiskRequest{})
	assert.Equal(t, codes.Unimplemented, code(err))
}

func TestQuantities(t *testing.T) {
	for in, want := range map[string]int64{
		`"8Gi"`: 8192, `"1536Mi"`: 1536, `"1.5Gi"`: 1536, `"1048576Ki"`: 1024, `"1Ti"`: 1 << 20,
		`"2097152000"`: 2000, `2097152000`: 2000, `"1048576k"`: 1000,
	} {
		got, err := quantityMiB(json.RawMessage(in))
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for _, in := range []string{`"8G"`, `"1.1Mi"`, `"Gi"`, `"-1Gi"`, `"8 Gi"`, `"8gi"`, `true`, `"1e3Mi"`, `"512"`} {
		_, err := quantityMiB(json.RawMessage(in))
		assert.Error(t, err, in)
	}
}

func TestCloneOverride(t *testing.T) {
	p := newProvider(t, Options{Clones: true})
	ctx := context.Background()
	src := create(t, p, "src")
	for _, req := range []*providerv1.CloneRequest{
		{SourceVmId: src},
		{SourceVmId: src, TargetName: "c", ClassJson: `{"cpu":"4"}`},
		{SourceVmId: src, TargetName: "c", ClassJson: `{"memory":"8G"}`},
		{SourceVmId: src, TargetName: "c", ClassJson: `{"cpu":0}`},
	} {
		_, err := p.Clone(ctx, req)
		assert.Equal(t, codes.InvalidArgument, code(err), "%v", req)
	}
	_, err := p.Clone(ctx, &providerv1.CloneRequest{SourceVmId: "999999", TargetName: "c"})
	assert.Equal(t, codes.NotFound, code(err))
	_, err = p.Clone(ctx, &providerv1.CloneRequest{SourceVmId: src, TargetName: WebName})
	assert.Equal(t, codes.AlreadyExists, code(err), "the name belongs to a VM that is no clone of the source")

	c, err := p.Clone(ctx, &providerv1.CloneRequest{SourceVmId: src, TargetName: "c", ClassJson: `{"cpu":4,"memory":"8Gi","diskSize":"50Gi"}`})
	require.NoError(t, err)
	wait(t, p, c.GetTask())
	again, err := p.Clone(ctx, &providerv1.CloneRequest{SourceVmId: src, TargetName: "c"})
	require.NoError(t, err)
	assert.Equal(t, c.GetTargetVmId(), again.GetTargetVmId(), "a repeated clone is the same clone")
	wait(t, p, again.GetTask())
	vms, err := p.ListVMs(ctx, &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	got := vms.GetVms()[len(vms.GetVms())-1]
	assert.Equal(t, []any{"c", int32(4), int64(8192), "Off"}, []any{got.GetName(), got.GetCpu(), got.GetMemoryMib(), got.GetPowerState()})
}
