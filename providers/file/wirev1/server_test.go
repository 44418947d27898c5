package wirev1

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	providerv1 "github.com/vctsio/vcts/proto/gen/provider/v1"
	"github.com/vctsio/vcts/providers/file/domain"
	"github.com/vctsio/vcts/providers/file/service"
	"github.com/vctsio/vcts/providers/file/store"
	"github.com/vctsio/vcts/providers/file/tasks"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	c     providerv1.ProviderClient
	clock *clock
	dir   string
}

// serve starts the adapter on a real gRPC server on 127.0.0.1:0.
func serve(tb testing.TB, dir string, delay time.Duration, log *slog.Logger) fixture {
	tb.Helper()
	st, err := store.Open(store.Options{Dir: dir, Logger: log})
	require.NoError(tb, err)
	c := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc := service.New(service.Options{Store: st, TransitionDelay: delay, Now: c.Now, Logger: log})
	srv := grpc.NewServer()
	providerv1.RegisterProviderServer(srv, New(svc, tasks.New(tasks.Options{Now: c.Now}), log))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(tb, err)
	tb.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		_ = st.Close()
	})
	return fixture{c: providerv1.NewProviderClient(conn), clock: c, dir: dir}
}

func newFixture(t *testing.T, delay time.Duration) fixture {
	return serve(t, t.TempDir(), delay, slog.New(slog.NewTextHandler(t.Output(), nil)))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func requireCode(t *testing.T, want codes.Code, err error, context ...any) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code %s, want %s (error: %v) %s", got, want, err, fmt.Sprint(context...))
	}
}

func create(t *testing.T, f fixture, name string, cpu int32, mem int64) string {
	t.Helper()
	resp, err := f.c.Create(ctx(t), &providerv1.CreateRequest{
		Name:      name,
		ClassJson: mustJSON(map[string]any{"CPU": cpu, "MemoryMiB": mem}),
		ImageJson: `{"TemplateName":"ubuntu-22.04","URL":""}`,
		DisksJson: `[{"SizeGiB":20}]`,
	})
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetId())
	requireDone(t, f, resp.GetTask())
	return resp.GetId()
}

func requireDone(t *testing.T, f fixture, task *providerv1.TaskRef) {
	t.Helper()
	require.NotEmpty(t, task.GetId())
	st, err := f.c.TaskStatus(ctx(t), &providerv1.TaskStatusRequest{Task: task})
	require.NoError(t, err)
	require.True(t, st.GetDone())
	require.Empty(t, st.GetError())
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

type rawHW struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	CPU       int32  `json:"cpu"`
	MemoryMiB int64  `json:"memoryMiB"`
}

func describe(t *testing.T, f fixture, id string) (*providerv1.DescribeResponse, rawHW) {
	t.Helper()
	resp, err := f.c.Describe(ctx(t), &providerv1.DescribeRequest{Id: id})
	require.NoError(t, err)
	var raw rawHW
	if resp.GetExists() {
		require.NoError(t, json.Unmarshal([]byte(resp.GetProviderRawJson()), &raw))
	}
	return resp, raw
}

func listed(t *testing.T, f fixture, id string) *providerv1.VMInfo {
	t.Helper()
	resp, err := f.c.ListVMs(ctx(t), &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	for _, vm := range resp.GetVms() {
		if vm.GetId() == id {
			return vm
		}
	}
	return nil
}

func TestValidateAndCapabilities(t *testing.T) {
	f := newFixture(t, 0)
	v, err := f.c.Validate(ctx(t), &providerv1.ValidateRequest{})
	require.NoError(t, err)
	require.True(t, v.GetOk(), v.GetMessage())

	caps, err := f.c.GetCapabilities(ctx(t), &providerv1.GetCapabilitiesRequest{})
	require.NoError(t, err)
	require.True(t, caps.GetSupportsSnapshots())
	require.False(t, caps.GetSupportsLinkedClones())
	require.False(t, caps.GetSupportsMemorySnapshots())
	require.False(t, caps.GetSupportsDiskExport())
	require.False(t, caps.GetSupportsDiskImport())
	require.False(t, caps.GetSupportsImageImport())
}

func TestCreateDescribeList(t *testing.T) {
	f := newFixture(t, 0)
	id := create(t, f, "vcts-run1-core-001", 2, 2048)

	d, raw := describe(t, f, id)
	require.True(t, d.GetExists())
	require.Equal(t, "On", d.GetPowerState())
	require.Equal(t, rawHW{Name: "vcts-run1-core-001", State: "Running", CPU: 2, MemoryMiB: 2048}, raw)

	vm := listed(t, f, id)
	require.NotNil(t, vm)
	require.Equal(t, "vcts-run1-core-001", vm.GetName())
	require.Equal(t, "On", vm.GetPowerState())
	require.EqualValues(t, 2, vm.GetCpu())
	require.EqualValues(t, 2048, vm.GetMemoryMib())
	require.Len(t, vm.GetDisks(), 1)
	require.EqualValues(t, 20, vm.GetDisks()[0].GetSizeGib())

	// Idempotent by name; a different class returns the same VM unchanged.
	again := create(t, f, "vcts-run1-core-001", 2, 2048)
	require.Equal(t, id, again)
	again = create(t, f, "vcts-run1-core-001", 8, 4096)
	require.Equal(t, id, again)
	_, raw = describe(t, f, id)
	require.EqualValues(t, 2, raw.CPU)
	list, err := f.c.ListVMs(ctx(t), &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetVms(), 1)
}

func TestCreateRejects(t *testing.T) {
	f := newFixture(t, 0)
	good := func() *providerv1.CreateRequest {
		return &providerv1.CreateRequest{Name: "vm", ClassJson: `{"CPU":2,"MemoryMiB":2048}`}
	}
	tests := []struct {
		name   string
		mutate func(*providerv1.CreateRequest)
	}{
		{"missing name", func(r *providerv1.CreateRequest) { r.Name = "" }},
		{"name with slash", func(r *providerv1.CreateRequest) { r.Name = "a/b" }},
		{"name too long", func(r *providerv1.CreateRequest) { r.Name = strings.Repeat("a", 254) }},
		{"missing class", func(r *providerv1.CreateRequest) { r.ClassJson = "" }},
		{"malformed class", func(r *providerv1.CreateRequest) { r.ClassJson = `{"CPU":2,` }},
		{"zero cpu", func(r *providerv1.CreateRequest) { r.ClassJson = `{"CPU":0,"MemoryMiB":2048}` }},
		{"negative memory", func(r *providerv1.CreateRequest) { r.ClassJson = `{"CPU":2,"MemoryMiB":-2048}` }},
		{"missing memory", func(r *providerv1.CreateRequest) { r.ClassJson = `{"CPU":2}` }},
		{"wrong keys", func(r *providerv1.CreateRequest) { r.ClassJson = `{"cpus":2,"memory":2048}` }},
		{"absurd cpu", func(r *providerv1.CreateRequest) { r.ClassJson = `{"CPU":2147483647,"MemoryMiB":2048}` }},
		{"malformed image", func(r *providerv1.CreateRequest) { r.ImageJson = `{"TemplateName":` }},
		{"malformed disks", func(r *providerv1.CreateRequest) { r.DisksJson = `[{"SizeGiB":0}]` }},
		{"malformed networks", func(r *providerv1.CreateRequest) { r.NetworksJson = `[{` }},
		{"malformed placement", func(r *providerv1.CreateRequest) { r.PlacementJson = `{"a":}` }},
		{"huge user data", func(r *providerv1.CreateRequest) { r.UserData = make([]byte, maxBlobLen+1) }},
		{"empty tag", func(r *providerv1.CreateRequest) { r.Tags = []string{""} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := good()
			tt.mutate(req)
			_, err := f.c.Create(ctx(t), req)
			requireCode(t, codes.InvalidArgument, err)
		})
	}
	list, err := f.c.ListVMs(ctx(t), &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetVms(), "a refused create left a VM behind")
	entries, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the lock file: a refused create wrote a file")
}

func TestIDValidationPerRPC(t *testing.T) {
	f := newFixture(t, 0)
	vm := create(t, f, "vm", 1, 512)
	unknown := domain.NewID()
	c := ctx(t)
	for _, id := range []string{"", "../x", "/etc/passwd", "vm-does-not-exist", "a\x00b", strings.Repeat("f", 10000)} {
		_, err := f.c.Describe(c, &providerv1.DescribeRequest{Id: id})
		requireCode(t, codes.InvalidArgument, err)
		_, err = f.c.Delete(c, &providerv1.DeleteRequest{Id: id})
		requireCode(t, codes.InvalidArgument, err)
		_, err = f.c.Power(c, &providerv1.PowerRequest{Id: id, Op: providerv1.PowerOp_POWER_OP_ON})
		requireCode(t, codes.InvalidArgument, err)
		_, err = f.c.Reconfigure(c, &providerv1.ReconfigureRequest{Id: id, DesiredJson: `{"Class":{"CPU":1,"MemoryMiB":1}}`})
		requireCode(t, codes.InvalidArgument, err)
		_, err = f.c.SnapshotCreate(c, &providerv1.SnapshotCreateRequest{VmId: id})
		requireCode(t, codes.InvalidArgument, err)
		_, err = f.c.SnapshotRevert(c, &providerv1.SnapshotRevertRequest{VmId: id, SnapshotId: unknown})
		requireCode(t, codes.InvalidArgument, err)
		_, err = f.c.SnapshotRevert(c, &providerv1.SnapshotRevertRequest{VmId: vm, SnapshotId: id})
		requireCode(t, codes.InvalidArgument, err)
		_, err = f.c.SnapshotDelete(c, &providerv1.SnapshotDeleteRequest{VmId: id, SnapshotId: unknown})
		requireCode(t, codes.InvalidArgument, err)
		_, err = f.c.SnapshotDelete(c, &providerv1.SnapshotDeleteRequest{VmId: vm, SnapshotId: id})
		requireCode(t, codes.InvalidArgument, err)
		_, err = f.c.Clone(c, &providerv1.CloneRequest{SourceVmId: id, TargetName: "x"})
		requireCode(t, codes.InvalidArgument, err)
	}
	// Well-formed unknown ids.
	d, err := f.c.Describe(c, &providerv1.DescribeRequest{Id: unknown})
	require.NoError(t, err)
	require.False(t, d.GetExists())
	_, err = f.c.Delete(c, &providerv1.DeleteRequest{Id: unknown})
	require.NoError(t, err)
	_, err = f.c.Power(c, &providerv1.PowerRequest{Id: unknown, Op: providerv1.PowerOp_POWER_OP_ON})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.Reconfigure(c, &providerv1.ReconfigureRequest{Id: unknown, DesiredJson: `{"Class":{"CPU":1,"MemoryMiB":1}}`})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.SnapshotCreate(c, &providerv1.SnapshotCreateRequest{VmId: unknown})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.SnapshotRevert(c, &providerv1.SnapshotRevertRequest{VmId: unknown, SnapshotId: unknown})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.SnapshotRevert(c, &providerv1.SnapshotRevertRequest{VmId: vm, SnapshotId: unknown})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.SnapshotDelete(c, &providerv1.SnapshotDeleteRequest{VmId: unknown, SnapshotId: unknown})
	require.NoError(t, err)
	_, err = f.c.Clone(c, &providerv1.CloneRequest{SourceVmId: unknown, TargetName: "x"})
	requireCode(t, codes.NotFound, err)
}

func TestPower(t *testing.T) {
	f := newFixture(t, 0)
	id := create(t, f, "vm", 1, 512)
	steps := []struct {
		op   providerv1.PowerOp
		want string
	}{
		{providerv1.PowerOp_POWER_OP_OFF, "Off"},
		{providerv1.PowerOp_POWER_OP_OFF, "Off"},
		{providerv1.PowerOp_POWER_OP_ON, "On"},
		{providerv1.PowerOp_POWER_OP_ON, "On"},
		{providerv1.PowerOp_POWER_OP_SHUTDOWN_GRACEFUL, "Off"},
		{providerv1.PowerOp_POWER_OP_REBOOT, "On"},
		{providerv1.PowerOp_POWER_OP_REBOOT, "On"},
	}
	for _, s := range steps {
		resp, err := f.c.Power(ctx(t), &providerv1.PowerRequest{Id: id, Op: s.op, GracefulTimeoutSeconds: 30})
		require.NoError(t, err, s.op)
		requireDone(t, f, resp.GetTask())
		d, _ := describe(t, f, id)
		require.Equal(t, s.want, d.GetPowerState(), s.op)
		require.Equal(t, s.want, listed(t, f, id).GetPowerState(), s.op)
	}
	for _, op := range []providerv1.PowerOp{providerv1.PowerOp_POWER_OP_UNSPECIFIED, 5, 99, -1} {
		_, err := f.c.Power(ctx(t), &providerv1.PowerRequest{Id: id, Op: op})
		requireCode(t, codes.InvalidArgument, err)
	}
	_, err := f.c.Power(ctx(t), &providerv1.PowerRequest{Id: id, Op: providerv1.PowerOp_POWER_OP_OFF, GracefulTimeoutSeconds: -1})
	requireCode(t, codes.InvalidArgument, err)
}

func TestReconfigure(t *testing.T) {
	f := newFixture(t, 0)
	id := create(t, f, "vm", 2, 2048)
	resp, err := f.c.Reconfigure(ctx(t), &providerv1.ReconfigureRequest{
		Id:          id,
		DesiredJson: `{"Class":{"CPU":4,"MemoryMiB":8192},"Disks":[{"SizeGiB":64}]}`,
	})
	require.NoError(t, err)
	requireDone(t, f, resp.GetTask())
	_, raw := describe(t, f, id)
	require.EqualValues(t, 4, raw.CPU)
	require.EqualValues(t, 8192, raw.MemoryMiB)
	vm := listed(t, f, id)
	require.EqualValues(t, 4, vm.GetCpu())
	require.EqualValues(t, 8192, vm.GetMemoryMib())
	require.EqualValues(t, 64, vm.GetDisks()[0].GetSizeGib())

	for _, bad := range []string{"", "{", "{}", `{"Class":{"cpu":8,"memory":"16Gi"}}`, `{"Class":{"CPU":0,"MemoryMiB":1}}`} {
		_, err := f.c.Reconfigure(ctx(t), &providerv1.ReconfigureRequest{Id: id, DesiredJson: bad})
		requireCode(t, codes.InvalidArgument, err)
	}
	_, raw = describe(t, f, id)
	require.EqualValues(t, 4, raw.CPU, "a refused reconfigure changed the VM")
}

func TestDelete(t *testing.T) {
	f := newFixture(t, 0)
	id := create(t, f, "vm", 1, 512)
	for range 3 {
		resp, err := f.c.Delete(ctx(t), &providerv1.DeleteRequest{Id: id})
		require.NoError(t, err)
		requireDone(t, f, resp.GetTask())
	}
	d, _ := describe(t, f, id)
	require.False(t, d.GetExists())
	require.Nil(t, listed(t, f, id))
}

func TestTaskStatus(t *testing.T) {
	f := newFixture(t, 0)
	_, err := f.c.TaskStatus(ctx(t), &providerv1.TaskStatusRequest{})
	requireCode(t, codes.InvalidArgument, err)
	_, err = f.c.TaskStatus(ctx(t), &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{}})
	requireCode(t, codes.InvalidArgument, err)
	_, err = f.c.TaskStatus(ctx(t), &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{Id: "task-does-not-exist"}})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.TaskStatus(ctx(t), &providerv1.TaskStatusRequest{Task: &providerv1.TaskRef{Id: domain.NewID()}})
	requireCode(t, codes.NotFound, err)
}

func TestTransitionDelay(t *testing.T) {
	f := newFixture(t, 30*time.Second)
	resp, err := f.c.Create(ctx(t), &providerv1.CreateRequest{Name: "slow", ClassJson: `{"CPU":1,"MemoryMiB":512}`})
	require.NoError(t, err)
	st, err := f.c.TaskStatus(ctx(t), &providerv1.TaskStatusRequest{Task: resp.GetTask()})
	require.NoError(t, err)
	require.False(t, st.GetDone(), "create task done before the VM finished creating")
	d, raw := describe(t, f, resp.GetId())
	require.Equal(t, "Off", d.GetPowerState())
	require.Equal(t, "Creating", raw.State)

	// A repeated create of the same name returns a task that ends with the same transition.
	again, err := f.c.Create(ctx(t), &providerv1.CreateRequest{Name: "slow", ClassJson: `{"CPU":1,"MemoryMiB":512}`})
	require.NoError(t, err)
	require.Equal(t, resp.GetId(), again.GetId())

	f.clock.Advance(30 * time.Second)
	requireDone(t, f, resp.GetTask())
	requireDone(t, f, again.GetTask())
	d, _ = describe(t, f, resp.GetId())
	require.Equal(t, "On", d.GetPowerState())

	reboot, err := f.c.Power(ctx(t), &providerv1.PowerRequest{Id: resp.GetId(), Op: providerv1.PowerOp_POWER_OP_REBOOT})
	require.NoError(t, err)
	st, err = f.c.TaskStatus(ctx(t), &providerv1.TaskStatusRequest{Task: reboot.GetTask()})
	require.NoError(t, err)
	require.False(t, st.GetDone())
	_, raw = describe(t, f, resp.GetId())
	require.Equal(t, "Rebooting", raw.State)
	// The task of a repeated create ends with the creation, which ended long ago: it does not
	// wait for the reboot.
	again, err = f.c.Create(ctx(t), &providerv1.CreateRequest{Name: "slow", ClassJson: `{"CPU":1,"MemoryMiB":512}`})
	require.NoError(t, err)
	requireDone(t, f, again.GetTask())
	f.clock.Advance(30 * time.Second)
	requireDone(t, f, reboot.GetTask())
	_, raw = describe(t, f, resp.GetId())
	require.Equal(t, "Running", raw.State)
}

func TestSnapshots(t *testing.T) {
	f := newFixture(t, 0)
	id := create(t, f, "vm", 2, 2048)
	snap, err := f.c.SnapshotCreate(ctx(t), &providerv1.SnapshotCreateRequest{VmId: id, NameHint: "before", Description: "d"})
	require.NoError(t, err)
	require.NotEmpty(t, snap.GetSnapshotId())
	requireDone(t, f, snap.GetTask())

	_, err = f.c.Reconfigure(ctx(t), &providerv1.ReconfigureRequest{Id: id, DesiredJson: `{"Class":{"CPU":8,"MemoryMiB":16384}}`})
	require.NoError(t, err)
	_, err = f.c.Power(ctx(t), &providerv1.PowerRequest{Id: id, Op: providerv1.PowerOp_POWER_OP_OFF})
	require.NoError(t, err)

	rev, err := f.c.SnapshotRevert(ctx(t), &providerv1.SnapshotRevertRequest{VmId: id, SnapshotId: snap.GetSnapshotId()})
	require.NoError(t, err)
	requireDone(t, f, rev.GetTask())
	d, raw := describe(t, f, id)
	require.Equal(t, "On", d.GetPowerState())
	require.EqualValues(t, 2, raw.CPU)
	require.EqualValues(t, 2048, raw.MemoryMiB)
	require.EqualValues(t, 2, listed(t, f, id).GetCpu())

	for range 2 {
		del, err := f.c.SnapshotDelete(ctx(t), &providerv1.SnapshotDeleteRequest{VmId: id, SnapshotId: snap.GetSnapshotId()})
		require.NoError(t, err)
		requireDone(t, f, del.GetTask())
	}
	_, err = f.c.SnapshotRevert(ctx(t), &providerv1.SnapshotRevertRequest{VmId: id, SnapshotId: snap.GetSnapshotId()})
	requireCode(t, codes.NotFound, err)

	_, err = f.c.SnapshotCreate(ctx(t), &providerv1.SnapshotCreateRequest{VmId: id, IncludeMemory: true})
	requireCode(t, codes.Unimplemented, err)
	_, err = f.c.SnapshotCreate(ctx(t), &providerv1.SnapshotCreateRequest{VmId: id, NameHint: strings.Repeat("n", 300)})
	requireCode(t, codes.InvalidArgument, err)

	// Deleting the VM deletes its snapshots.
	s2, err := f.c.SnapshotCreate(ctx(t), &providerv1.SnapshotCreateRequest{VmId: id})
	require.NoError(t, err)
	_, err = f.c.Delete(ctx(t), &providerv1.DeleteRequest{Id: id})
	require.NoError(t, err)
	_, err = f.c.SnapshotRevert(ctx(t), &providerv1.SnapshotRevertRequest{VmId: id, SnapshotId: s2.GetSnapshotId()})
	requireCode(t, codes.NotFound, err)
}

func TestClone(t *testing.T) {
	f := newFixture(t, 0)
	src := create(t, f, "src", 2, 2048)

	resp, err := f.c.Clone(ctx(t), &providerv1.CloneRequest{SourceVmId: src, TargetName: "copy"})
	require.NoError(t, err)
	requireDone(t, f, resp.GetTask())
	clone := resp.GetTargetVmId()
	require.NotEqual(t, src, clone)
	vm := listed(t, f, clone)
	require.Equal(t, "copy", vm.GetName())
	require.EqualValues(t, 2, vm.GetCpu())
	require.EqualValues(t, 2048, vm.GetMemoryMib())

	over, err := f.c.Clone(ctx(t), &providerv1.CloneRequest{SourceVmId: src, TargetName: "bigger", ClassJson: `{"cpu":4,"memory":"8Gi"}`})
	require.NoError(t, err)
	_, raw := describe(t, f, over.GetTargetVmId())
	require.EqualValues(t, 4, raw.CPU)
	require.EqualValues(t, 8192, raw.MemoryMiB)

	// Repeating a clone returns the same target; a name held by another VM is refused.
	again, err := f.c.Clone(ctx(t), &providerv1.CloneRequest{SourceVmId: src, TargetName: "copy"})
	require.NoError(t, err)
	require.Equal(t, clone, again.GetTargetVmId())
	_, err = f.c.Clone(ctx(t), &providerv1.CloneRequest{SourceVmId: src, TargetName: "src"})
	requireCode(t, codes.AlreadyExists, err)

	// Independence.
	_, err = f.c.Reconfigure(ctx(t), &providerv1.ReconfigureRequest{Id: src, DesiredJson: `{"Class":{"CPU":16,"MemoryMiB":32768}}`})
	require.NoError(t, err)
	_, err = f.c.Delete(ctx(t), &providerv1.DeleteRequest{Id: src})
	require.NoError(t, err)
	_, raw = describe(t, f, clone)
	require.EqualValues(t, 2, raw.CPU)
	require.EqualValues(t, 2048, raw.MemoryMiB)

	other := create(t, f, "other", 1, 512)
	for name, req := range map[string]*providerv1.CloneRequest{
		"empty target":   {SourceVmId: other, TargetName: ""},
		"bad target":     {SourceVmId: other, TargetName: "../x"},
		"go-keys class":  {SourceVmId: other, TargetName: "x", ClassJson: `{"CPU":4,"MemoryMiB":8192}`},
		"bad quantity":   {SourceVmId: other, TargetName: "x", ClassJson: `{"memory":"8GB"}`},
		"bad placement":  {SourceVmId: other, TargetName: "x", PlacementJson: `{`},
		"bad customize":  {SourceVmId: other, TargetName: "x", CustomizeJson: `[`},
		"missing source": {SourceVmId: "", TargetName: "x"},
	} {
		_, err := f.c.Clone(ctx(t), req)
		requireCode(t, codes.InvalidArgument, err, name)
	}
	_, err = f.c.Clone(ctx(t), &providerv1.CloneRequest{SourceVmId: other, TargetName: "x", Linked: true})
	requireCode(t, codes.Unimplemented, err)
}

func TestUnimplementedRPCs(t *testing.T) {
	f := newFixture(t, 0)
	c := ctx(t)
	_, err := f.c.HardwareUpgrade(c, &providerv1.HardwareUpgradeRequest{Id: domain.NewID(), TargetVersion: 19})
	requireCode(t, codes.Unimplemented, err)
	_, err = f.c.ImagePrepare(c, &providerv1.ImagePrepareRequest{ImageJson: `{}`})
	requireCode(t, codes.Unimplemented, err)
	_, err = f.c.ExportDisk(c, &providerv1.ExportDiskRequest{VmId: domain.NewID()})
	requireCode(t, codes.Unimplemented, err)
	_, err = f.c.ImportDisk(c, &providerv1.ImportDiskRequest{})
	requireCode(t, codes.Unimplemented, err)
	_, err = f.c.GetDiskInfo(c, &providerv1.GetDiskInfoRequest{VmId: domain.NewID()})
	requireCode(t, codes.Unimplemented, err)
}

func TestConcurrentCreates(t *testing.T) {
	f := newFixture(t, 0)
	var wg sync.WaitGroup
	const n = 12
	ids := make([]string, n)
	shared := make([]string, n)
	for i := range n {
		wg.Go(func() {
			resp, err := f.c.Create(context.Background(), &providerv1.CreateRequest{
				Name: "par-" + string(rune('a'+i)), ClassJson: `{"CPU":1,"MemoryMiB":256}`,
			})
			require.NoError(t, err)
			ids[i] = resp.GetId()
		})
		wg.Go(func() {
			resp, err := f.c.Create(context.Background(), &providerv1.CreateRequest{Name: "same", ClassJson: `{"CPU":1,"MemoryMiB":256}`})
			require.NoError(t, err)
			shared[i] = resp.GetId()
		})
	}
	wg.Wait()
	list, err := f.c.ListVMs(ctx(t), &providerv1.ListVMsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetVms(), n+1)
	for _, id := range shared {
		require.Equal(t, shared[0], id)
	}
	for _, id := range ids {
		require.NotNil(t, listed(t, f, id))
	}
}
