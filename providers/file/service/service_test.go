package service

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vctsio/vcts/providers/file/domain"
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

func newService(t *testing.T, delay time.Duration) (*Service, *clock) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	st, err := store.Open(store.Options{Dir: t.TempDir(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	c := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(Options{Store: st, TransitionDelay: delay, Now: c.Now, Logger: log}), c
}

var spec2x2 = domain.Spec{CPU: 2, MemoryMiB: 2048, Image: domain.Image{TemplateName: "ubuntu"}, Disks: []domain.Disk{{SizeGiB: 20}}}

func mustCreate(t *testing.T, s *Service, name string) domain.VM {
	t.Helper()
	vm, created, err := s.Create(CreateRequest{Name: name, Spec: spec2x2})
	require.NoError(t, err)
	require.True(t, created)
	return vm
}

func kind(err error) domain.Kind { return domain.KindOf(err) }

func TestCreateIsIdempotentByName(t *testing.T) {
	s, _ := newService(t, 0)
	vm := mustCreate(t, s, "web")
	again, created, err := s.Create(CreateRequest{Name: "web", Spec: spec2x2})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, vm.ID, again.ID)

	// Another spec under the same name: the existing VM comes back unchanged.
	other := spec2x2.Clone()
	other.CPU = 16
	again, created, err = s.Create(CreateRequest{Name: "web", Spec: other})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, vm.ID, again.ID)
	require.EqualValues(t, 2, again.Spec.CPU)
	got, err := s.Get(vm.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2, got.Spec.CPU)
	require.Equal(t, 1, s.Count())
}

func TestCreateRejectsBadInput(t *testing.T) {
	s, _ := newService(t, 0)
	bad := []CreateRequest{
		{Name: "", Spec: spec2x2},
		{Name: "../etc", Spec: spec2x2},
		{Name: "ok", Spec: domain.Spec{CPU: 0, MemoryMiB: 1}},
		{Name: "ok", Spec: domain.Spec{CPU: 1, MemoryMiB: -1}},
		{Name: "ok", Spec: domain.Spec{CPU: 1 << 30, MemoryMiB: 1}},
		{Name: "ok", Spec: spec2x2, Tags: []string{""}},
	}
	for i, req := range bad {
		_, _, err := s.Create(req)
		require.Equal(t, domain.KindInvalidArgument, kind(err), "case %d: %v", i, err)
	}
	require.Zero(t, s.Count())
}

func TestGet(t *testing.T) {
	s, _ := newService(t, 0)
	_, err := s.Get("")
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	_, err = s.Get("vm-does-not-exist")
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	_, err = s.Get(domain.NewID())
	require.Equal(t, domain.KindNotFound, kind(err))
}

func TestTransitionsWithDelay(t *testing.T) {
	s, c := newService(t, 5*time.Second)
	vm := mustCreate(t, s, "vm")
	require.Equal(t, domain.StateCreating, vm.StateAt(c.Now()))
	require.Equal(t, c.Now().Add(5*time.Second), vm.BusyUntil(c.Now()))
	c.Advance(5 * time.Second)
	vm, _ = s.Get(vm.ID)
	require.Equal(t, domain.StateRunning, vm.StateAt(c.Now()))

	vm, err := s.Power(vm.ID, domain.OpReboot)
	require.NoError(t, err)
	require.Equal(t, domain.StateRebooting, vm.StateAt(c.Now()))
	c.Advance(4 * time.Second)
	vm, _ = s.Get(vm.ID)
	require.Equal(t, domain.StateRebooting, vm.StateAt(c.Now()))
	c.Advance(time.Second)
	vm, _ = s.Get(vm.ID)
	require.Equal(t, domain.StateRunning, vm.StateAt(c.Now()))

	vm, err = s.Power(vm.ID, domain.OpOff)
	require.NoError(t, err)
	require.Equal(t, domain.StateStopped, vm.StateAt(c.Now()))
	require.Nil(t, vm.Transition)
}

func TestPower(t *testing.T) {
	s, _ := newService(t, 0)
	vm := mustCreate(t, s, "vm")
	for _, op := range []domain.PowerOp{0, 5} {
		_, err := s.Power(vm.ID, op)
		require.Equal(t, domain.KindInvalidArgument, kind(err))
	}
	_, err := s.Power(domain.NewID(), domain.OpOn)
	require.Equal(t, domain.KindNotFound, kind(err))
	_, err = s.Power("", domain.OpOn)
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	got, err := s.Power(vm.ID, domain.OpShutdownGraceful)
	require.NoError(t, err)
	require.Equal(t, domain.PowerOff, got.Power)
}

func TestReconfigure(t *testing.T) {
	s, _ := newService(t, 0)
	vm := mustCreate(t, s, "vm")
	disks := []domain.Disk{{SizeGiB: 64}, {SizeGiB: 10}}
	got, err := s.Reconfigure(vm.ID, Change{CPU: 4, MemoryMiB: 8192, Disks: &disks})
	require.NoError(t, err)
	require.EqualValues(t, 4, got.Spec.CPU)
	require.EqualValues(t, 8192, got.Spec.MemoryMiB)
	require.Equal(t, disks, got.Spec.Disks)
	require.Equal(t, "ubuntu", got.Spec.Image.TemplateName, "unchanged fields are kept")

	_, err = s.Reconfigure(vm.ID, Change{CPU: domain.MaxCPU + 1})
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	_, err = s.Reconfigure(vm.ID, Change{MemoryMiB: -5})
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	_, err = s.Reconfigure(domain.NewID(), Change{CPU: 1})
	require.Equal(t, domain.KindNotFound, kind(err))
	now, _ := s.Get(vm.ID)
	require.EqualValues(t, 4, now.Spec.CPU, "a refused change changed the VM")
}

func TestReconfigureByImageName(t *testing.T) {
	s, _ := newService(t, 0)
	vm, _, err := s.Create(CreateRequest{Name: "vm", Spec: domain.Spec{CPU: 1, MemoryMiB: 1024,
		Image: domain.Image{TemplateName: "ubuntu", URL: "https://images.example/ubuntu.qcow2"}}})
	require.NoError(t, err)
	same := "ubuntu"
	got, err := s.Reconfigure(vm.ID, Change{CPU: 2, ImageName: &same})
	require.NoError(t, err)
	require.Equal(t, vm.Spec.Image, got.Spec.Image, "the image's own name must keep the richer image")
	other := "debian"
	got, err = s.Reconfigure(vm.ID, Change{ImageName: &other})
	require.NoError(t, err)
	require.Equal(t, domain.Image{TemplateName: "debian"}, got.Spec.Image)
}

func TestDelete(t *testing.T) {
	s, _ := newService(t, 0)
	vm := mustCreate(t, s, "vm")
	existed, err := s.Delete(vm.ID)
	require.NoError(t, err)
	require.True(t, existed)
	existed, err = s.Delete(vm.ID)
	require.NoError(t, err)
	require.False(t, existed)
	_, err = s.Delete("")
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	_, err = s.Delete("../../etc/passwd")
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	// The name is free again.
	again := mustCreate(t, s, "vm")
	require.NotEqual(t, vm.ID, again.ID)
}

func TestSnapshots(t *testing.T) {
	s, _ := newService(t, 0)
	vm := mustCreate(t, s, "vm")
	snap, err := s.SnapshotCreate(vm.ID, "before", "")
	require.NoError(t, err)

	_, err = s.Reconfigure(vm.ID, Change{CPU: 8, MemoryMiB: 16384})
	require.NoError(t, err)
	_, err = s.Power(vm.ID, domain.OpOff)
	require.NoError(t, err)

	got, err := s.SnapshotRevert(vm.ID, snap.ID)
	require.NoError(t, err)
	require.True(t, got.Spec.Equal(spec2x2))
	require.Equal(t, domain.PowerOn, got.Power)

	_, err = s.SnapshotCreate(domain.NewID(), "", "")
	require.Equal(t, domain.KindNotFound, kind(err))
	_, err = s.SnapshotCreate(vm.ID, "bad\x00name", "")
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	_, err = s.SnapshotRevert(vm.ID, domain.NewID())
	require.Equal(t, domain.KindNotFound, kind(err))
	_, err = s.SnapshotRevert(domain.NewID(), snap.ID)
	require.Equal(t, domain.KindNotFound, kind(err))
	_, err = s.SnapshotRevert(vm.ID, "snap-1")
	require.Equal(t, domain.KindInvalidArgument, kind(err))

	existed, err := s.SnapshotDelete(vm.ID, snap.ID)
	require.NoError(t, err)
	require.True(t, existed)
	existed, err = s.SnapshotDelete(vm.ID, snap.ID)
	require.NoError(t, err)
	require.False(t, existed)
	existed, err = s.SnapshotDelete(domain.NewID(), domain.NewID())
	require.NoError(t, err)
	require.False(t, existed)
	_, err = s.SnapshotRevert(vm.ID, snap.ID)
	require.Equal(t, domain.KindNotFound, kind(err))

	// Deleting the VM deletes its snapshots: a VM re-created under the name has none.
	snap2, err := s.SnapshotCreate(vm.ID, "", "")
	require.NoError(t, err)
	_, err = s.Delete(vm.ID)
	require.NoError(t, err)
	_, err = s.SnapshotRevert(vm.ID, snap2.ID)
	require.Equal(t, domain.KindNotFound, kind(err))
}

func TestClone(t *testing.T) {
	s, _ := newService(t, 0)
	src := mustCreate(t, s, "src")

	c, created, err := s.Clone(src.ID, "copy", Change{})
	require.NoError(t, err)
	require.True(t, created)
	require.NotEqual(t, src.ID, c.ID)
	require.Equal(t, "copy", c.Name)
	require.True(t, c.Spec.Equal(src.Spec))

	// Repeating the clone returns the same clone.
	again, created, err := s.Clone(src.ID, "copy", Change{CPU: 9})
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, c.ID, again.ID)

	// Override.
	o, _, err := s.Clone(src.ID, "bigger", Change{CPU: 4, MemoryMiB: 8192})
	require.NoError(t, err)
	require.EqualValues(t, 4, o.Spec.CPU)
	require.EqualValues(t, 8192, o.Spec.MemoryMiB)
	half, _, err := s.Clone(src.ID, "more-cpu", Change{CPU: 3})
	require.NoError(t, err)
	require.EqualValues(t, 3, half.Spec.CPU)
	require.EqualValues(t, src.Spec.MemoryMiB, half.Spec.MemoryMiB)

	// Independence.
	_, err = s.Reconfigure(src.ID, Change{CPU: 12})
	require.NoError(t, err)
	_, err = s.Delete(src.ID)
	require.NoError(t, err)
	after, err := s.Get(c.ID)
	require.NoError(t, err)
	require.True(t, after.Spec.Equal(spec2x2))

	// Names held by unrelated VMs.
	other := mustCreate(t, s, "other")
	_, _, err = s.Clone(other.ID, "copy", Change{})
	require.Equal(t, domain.KindAlreadyExists, kind(err))
	_, _, err = s.Clone(other.ID, "other", Change{})
	require.Equal(t, domain.KindAlreadyExists, kind(err))

	_, _, err = s.Clone(src.ID, "x", Change{})
	require.Equal(t, domain.KindNotFound, kind(err), "deleted source")
	_, _, err = s.Clone(other.ID, "", Change{})
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	_, _, err = s.Clone("", "x", Change{})
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	_, _, err = s.Clone(other.ID, "x", Change{CPU: -1})
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	disks := []domain.Disk{}
	_, _, err = s.Clone(other.ID, "x", Change{Disks: &disks})
	require.Equal(t, domain.KindInvalidArgument, kind(err))
	_, err = s.Get(c.ID)
	require.NoError(t, err)
}

func TestConcurrentUseIsSafe(t *testing.T) {
	s, _ := newService(t, time.Millisecond)
	target := mustCreate(t, s, "target")
	var wg sync.WaitGroup
	ids := make([]string, 10)
	for i := range 10 {
		wg.Go(func() {
			vm, _, err := s.Create(CreateRequest{Name: fmt.Sprintf("vm-%d", i), Spec: spec2x2})
			require.NoError(t, err)
			ids[i] = vm.ID
		})
		wg.Go(func() {
			_, err := s.Power(target.ID, domain.PowerOp(1+i%4))
			require.NoError(t, err)
		})
		wg.Go(func() {
			_, err := s.Reconfigure(target.ID, Change{CPU: int32(1 + i)})
			require.NoError(t, err)
		})
		wg.Go(func() {
			snap, err := s.SnapshotCreate(target.ID, "", "")
			require.NoError(t, err)
			_, err = s.SnapshotRevert(target.ID, snap.ID)
			require.NoError(t, err)
		})
		wg.Go(func() {
			_, _, err := s.Clone(target.ID, fmt.Sprintf("clone-%d", i%3), Change{})
			require.NoError(t, err)
		})
		wg.Go(func() { _ = s.List() })
	}
	wg.Wait()
	require.Equal(t, 1+10+3, s.Count())
	for _, id := range ids {
		_, err := s.Get(id)
		require.NoError(t, err)
	}
}
