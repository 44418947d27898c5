package tutorial

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	tutorialv1 "github.com/vctsio/vcts/proto/gen/virtrigaud/tutorial/v1"
	"github.com/vctsio/vcts/providers/file/domain"
	"github.com/vctsio/vcts/providers/file/service"
	"github.com/vctsio/vcts/providers/file/store"
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
	c     tutorialv1.ProviderServiceClient
	svc   *service.Service
	clock *clock
}

func newFixture(t *testing.T, delay time.Duration) fixture {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	st, err := store.Open(store.Options{Dir: t.TempDir(), Logger: log})
	require.NoError(t, err)
	c := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc := service.New(service.Options{Store: st, TransitionDelay: delay, Now: c.Now, Logger: log})
	srv := grpc.NewServer()
	tutorialv1.RegisterProviderServiceServer(srv, New(svc, log))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		_ = st.Close()
	})
	return fixture{c: tutorialv1.NewProviderServiceClient(conn), svc: svc, clock: c}
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

func create(t *testing.T, f fixture, name string) *tutorialv1.CreateVMResponse {
	t.Helper()
	resp, err := f.c.CreateVM(ctx(t), &tutorialv1.CreateVMRequest{
		Name: name, Spec: &tutorialv1.VMSpec{Cpu: 2, Memory: 2048, Image: "ubuntu-22.04"},
	})
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetVmId())
	return resp
}

func state(t *testing.T, f fixture, id string) string {
	t.Helper()
	resp, err := f.c.GetVM(ctx(t), &tutorialv1.GetVMRequest{VmId: id})
	require.NoError(t, err)
	return resp.GetStatus().GetState()
}

func TestGetCapabilities(t *testing.T) {
	f := newFixture(t, 0)
	resp, err := f.c.GetCapabilities(ctx(t), &tutorialv1.GetCapabilitiesRequest{})
	require.NoError(t, err)
	require.Equal(t, "file", resp.GetProviderId())
	got := map[string]bool{}
	for _, c := range resp.GetCapabilities() {
		require.True(t, c.GetSupported(), c.GetName())
		require.NotEmpty(t, c.GetDescription(), c.GetName())
		got[c.GetName()] = true
	}
	for _, want := range []string{"vm.create", "vm.read", "vm.update", "vm.delete", "vm.power", "vm.snapshot", "vm.clone"} {
		require.True(t, got[want], want)
	}
}

func TestCreateGetListIdempotent(t *testing.T) {
	f := newFixture(t, 0)
	resp := create(t, f, "vcts-run-core-001")
	require.Equal(t, "Running", resp.GetStatus().GetState())

	vm, err := f.c.GetVM(ctx(t), &tutorialv1.GetVMRequest{VmId: resp.GetVmId()})
	require.NoError(t, err)
	require.Equal(t, "vcts-run-core-001", vm.GetName())
	require.EqualValues(t, 2, vm.GetSpec().GetCpu())
	require.EqualValues(t, 2048, vm.GetSpec().GetMemory())
	require.Equal(t, "ubuntu-22.04", vm.GetSpec().GetImage())

	again, err := f.c.CreateVM(ctx(t), &tutorialv1.CreateVMRequest{Name: "vcts-run-core-001", Spec: &tutorialv1.VMSpec{Cpu: 8, Memory: 1}})
	require.NoError(t, err)
	require.Equal(t, resp.GetVmId(), again.GetVmId())

	list, err := f.c.ListVMs(ctx(t), &tutorialv1.ListVMsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetVms(), 1)
	require.Equal(t, "Running", list.GetVms()[0].GetStatus().GetState())
	require.Equal(t, "vcts-run-core-001", list.GetVms()[0].GetName())
}

func TestCreateRejects(t *testing.T) {
	f := newFixture(t, 0)
	for name, req := range map[string]*tutorialv1.CreateVMRequest{
		"no name":         {Spec: &tutorialv1.VMSpec{Cpu: 1, Memory: 1}},
		"bad name":        {Name: "a b", Spec: &tutorialv1.VMSpec{Cpu: 1, Memory: 1}},
		"no spec":         {Name: "vm"},
		"zero cpu":        {Name: "vm", Spec: &tutorialv1.VMSpec{Cpu: 0, Memory: 1}},
		"negative memory": {Name: "vm", Spec: &tutorialv1.VMSpec{Cpu: 1, Memory: -1}},
		"absurd memory":   {Name: "vm", Spec: &tutorialv1.VMSpec{Cpu: 1, Memory: 1 << 62}},
		"bad image":       {Name: "vm", Spec: &tutorialv1.VMSpec{Cpu: 1, Memory: 1, Image: "a\x00"}},
	} {
		_, err := f.c.CreateVM(ctx(t), req)
		requireCode(t, codes.InvalidArgument, err, name)
	}
	require.Zero(t, f.svc.Count())
}

func TestIDs(t *testing.T) {
	f := newFixture(t, 0)
	vm := create(t, f, "vm").GetVmId()
	spec := &tutorialv1.VMSpec{Cpu: 1, Memory: 1}
	for _, id := range []string{"", "../x", "vm-does-not-exist", "/abs"} {
		_, err := f.c.GetVM(ctx(t), &tutorialv1.GetVMRequest{VmId: id})
		requireCode(t, codes.InvalidArgument, err, "GetVM ", id)
		_, err = f.c.UpdateVM(ctx(t), &tutorialv1.UpdateVMRequest{VmId: id, Spec: spec})
		requireCode(t, codes.InvalidArgument, err, "UpdateVM ", id)
		_, err = f.c.DeleteVM(ctx(t), &tutorialv1.DeleteVMRequest{VmId: id})
		requireCode(t, codes.InvalidArgument, err, "DeleteVM ", id)
		_, err = f.c.PowerVM(ctx(t), &tutorialv1.PowerVMRequest{VmId: id, PowerOp: tutorialv1.PowerOp_POWER_OP_ON})
		requireCode(t, codes.InvalidArgument, err, "PowerVM ", id)
		_, err = f.c.CreateSnapshot(ctx(t), &tutorialv1.CreateSnapshotRequest{VmId: id})
		requireCode(t, codes.InvalidArgument, err, "CreateSnapshot ", id)
		_, err = f.c.CloneVM(ctx(t), &tutorialv1.CloneVMRequest{SourceVmId: id, CloneName: "c"})
		requireCode(t, codes.InvalidArgument, err, "CloneVM ", id)
	}
	unknown := domain.NewID()
	_, err := f.c.GetVM(ctx(t), &tutorialv1.GetVMRequest{VmId: unknown})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.UpdateVM(ctx(t), &tutorialv1.UpdateVMRequest{VmId: unknown, Spec: spec})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.PowerVM(ctx(t), &tutorialv1.PowerVMRequest{VmId: unknown, PowerOp: tutorialv1.PowerOp_POWER_OP_ON})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.CreateSnapshot(ctx(t), &tutorialv1.CreateSnapshotRequest{VmId: unknown})
	requireCode(t, codes.NotFound, err)
	_, err = f.c.CloneVM(ctx(t), &tutorialv1.CloneVMRequest{SourceVmId: unknown, CloneName: "c"})
	requireCode(t, codes.NotFound, err)
	del, err := f.c.DeleteVM(ctx(t), &tutorialv1.DeleteVMRequest{VmId: unknown})
	require.NoError(t, err)
	require.True(t, del.GetSuccess())

	_, err = f.c.UpdateVM(ctx(t), &tutorialv1.UpdateVMRequest{VmId: vm})
	requireCode(t, codes.InvalidArgument, err, "UpdateVM without spec")
	_, err = f.c.UpdateVM(ctx(t), &tutorialv1.UpdateVMRequest{VmId: vm, Spec: &tutorialv1.VMSpec{Cpu: 0, Memory: 1}})
	requireCode(t, codes.InvalidArgument, err, "UpdateVM with zero cpu")
	_, err = f.c.CloneVM(ctx(t), &tutorialv1.CloneVMRequest{SourceVmId: vm})
	requireCode(t, codes.InvalidArgument, err, "CloneVM without name")
}

func TestUpdateVM(t *testing.T) {
	f := newFixture(t, 0)
	id := create(t, f, "vm").GetVmId()
	resp, err := f.c.UpdateVM(ctx(t), &tutorialv1.UpdateVMRequest{VmId: id, Spec: &tutorialv1.VMSpec{Cpu: 4, Memory: 8192, Image: "ubuntu-22.04"}})
	require.NoError(t, err)
	require.Equal(t, "Running", resp.GetStatus().GetState())
	vm, err := f.c.GetVM(ctx(t), &tutorialv1.GetVMRequest{VmId: id})
	require.NoError(t, err)
	require.EqualValues(t, 4, vm.GetSpec().GetCpu())
	require.EqualValues(t, 8192, vm.GetSpec().GetMemory())

	_, err = f.c.UpdateVM(ctx(t), &tutorialv1.UpdateVMRequest{VmId: id, Spec: &tutorialv1.VMSpec{Cpu: 4, Memory: 8192, Image: "debian-12"}})
	require.NoError(t, err)
	got, err := f.svc.Get(id)
	require.NoError(t, err)
	require.Equal(t, "debian-12", got.Spec.Image.TemplateName)
}

// An UpdateVM racing a revert must end as one of the two, never as a mix (the new CPU with
// the reverted image): the image is compared with the VM's under its lock, not with a read
// taken before.
func TestUpdateVMRacingRevertIsNeverTorn(t *testing.T) {
	f := newFixture(t, 0)
	id := create(t, f, "vm").GetVmId()
	update := func(cpu int32, memory int64, image string) {
		_, err := f.c.UpdateVM(ctx(t), &tutorialv1.UpdateVMRequest{VmId: id, Spec: &tutorialv1.VMSpec{Cpu: cpu, Memory: memory, Image: image}})
		require.NoError(t, err)
	}
	update(1, 1024, "B")
	snap, err := f.svc.SnapshotCreate(id, "base", "")
	require.NoError(t, err)
	for round := range 100 {
		update(2, 2048, "A")
		var wg sync.WaitGroup
		wg.Go(func() { update(4, 4096, "A") })
		wg.Go(func() {
			_, err := f.svc.SnapshotRevert(id, snap.ID)
			require.NoError(t, err)
		})
		wg.Wait()
		got, err := f.svc.Get(id)
		require.NoError(t, err)
		updated := got.Spec.CPU == 4 && got.Spec.Image.TemplateName == "A"
		reverted := got.Spec.CPU == 1 && got.Spec.Image.TemplateName == "B"
		require.True(t, updated || reverted, "round %d: the VM is a mix of the update and the revert: %+v", round, got.Spec)
	}
}

func TestPowerVM(t *testing.T) {
	f := newFixture(t, 0)
	id := create(t, f, "vm").GetVmId()
	for _, s := range []struct {
		op   tutorialv1.PowerOp
		want string
	}{
		{tutorialv1.PowerOp_POWER_OP_OFF, "Stopped"},
		{tutorialv1.PowerOp_POWER_OP_OFF, "Stopped"},
		{tutorialv1.PowerOp_POWER_OP_ON, "Running"},
		{tutorialv1.PowerOp_POWER_OP_REBOOT, "Running"},
	} {
		resp, err := f.c.PowerVM(ctx(t), &tutorialv1.PowerVMRequest{VmId: id, PowerOp: s.op})
		require.NoError(t, err)
		require.Equal(t, s.want, resp.GetStatus().GetState(), s.op)
		require.Equal(t, s.want, state(t, f, id), s.op)
	}
	// The tutorial enum has no graceful shutdown: 4 is as unknown as 99.
	for _, op := range []tutorialv1.PowerOp{tutorialv1.PowerOp_POWER_OP_UNSPECIFIED, 4, 99} {
		_, err := f.c.PowerVM(ctx(t), &tutorialv1.PowerVMRequest{VmId: id, PowerOp: op})
		requireCode(t, codes.InvalidArgument, err, op)
	}
}

func TestTransitionsWithDelay(t *testing.T) {
	f := newFixture(t, 10*time.Second)
	resp := create(t, f, "vm")
	require.Equal(t, "Creating", resp.GetStatus().GetState())
	require.Equal(t, "Creating", state(t, f, resp.GetVmId()))
	f.clock.Advance(10 * time.Second)
	require.Equal(t, "Running", state(t, f, resp.GetVmId()))

	p, err := f.c.PowerVM(ctx(t), &tutorialv1.PowerVMRequest{VmId: resp.GetVmId(), PowerOp: tutorialv1.PowerOp_POWER_OP_REBOOT})
	require.NoError(t, err)
	require.Equal(t, "Rebooting", p.GetStatus().GetState())
	f.clock.Advance(10 * time.Second)
	require.Equal(t, "Running", state(t, f, resp.GetVmId()))

	c, err := f.c.CloneVM(ctx(t), &tutorialv1.CloneVMRequest{SourceVmId: resp.GetVmId(), CloneName: "copy"})
	require.NoError(t, err)
	require.Equal(t, "Running", c.GetStatus().GetState(), "the clone task runs while the clone is Creating")
	require.Equal(t, "Creating", state(t, f, c.GetCloneVmId()))
	f.clock.Advance(10 * time.Second)
	require.Equal(t, "Running", state(t, f, c.GetCloneVmId()))
}

func TestDeleteSnapshotClone(t *testing.T) {
	f := newFixture(t, 0)
	id := create(t, f, "vm").GetVmId()

	snap, err := f.c.CreateSnapshot(ctx(t), &tutorialv1.CreateSnapshotRequest{VmId: id, Name: "s", Description: "d"})
	require.NoError(t, err)
	require.NotEmpty(t, snap.GetSnapshotId())
	require.Equal(t, "Completed", snap.GetStatus().GetState())

	c, err := f.c.CloneVM(ctx(t), &tutorialv1.CloneVMRequest{SourceVmId: id, CloneName: "copy"})
	require.NoError(t, err)
	require.Equal(t, "Completed", c.GetStatus().GetState())
	require.NotEqual(t, id, c.GetCloneVmId())
	again, err := f.c.CloneVM(ctx(t), &tutorialv1.CloneVMRequest{SourceVmId: id, CloneName: "copy"})
	require.NoError(t, err)
	require.Equal(t, c.GetCloneVmId(), again.GetCloneVmId())
	_, err = f.c.CloneVM(ctx(t), &tutorialv1.CloneVMRequest{SourceVmId: id, CloneName: "vm"})
	requireCode(t, codes.AlreadyExists, err)

	for range 3 {
		del, err := f.c.DeleteVM(ctx(t), &tutorialv1.DeleteVMRequest{VmId: id})
		require.NoError(t, err)
		require.True(t, del.GetSuccess())
	}
	_, err = f.c.GetVM(ctx(t), &tutorialv1.GetVMRequest{VmId: id})
	requireCode(t, codes.NotFound, err)
	clone, err := f.c.GetVM(ctx(t), &tutorialv1.GetVMRequest{VmId: c.GetCloneVmId()})
	require.NoError(t, err)
	require.EqualValues(t, 2, clone.GetSpec().GetCpu())
}
