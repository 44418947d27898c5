package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vctsio/vcts/providers/file/domain"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// skips counts OnSkip calls by reason.
type skips struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *skips) add(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[reason]++
}

func (s *skips) get() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.n {
		out[k] = v
	}
	return out
}

func open(t testing.TB, dir string) (*Store, *skips) {
	t.Helper()
	sk := &skips{}
	s, err := Open(Options{Dir: dir, OnSkip: sk.add, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, sk
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func newVM(name string) domain.VM {
	return domain.NewVM(domain.NewID(), name, domain.Spec{CPU: 2, MemoryMiB: 2048, Disks: []domain.Disk{{SizeGiB: 20}}}, t0, 0)
}

func TestInsertGetListUpdateDelete(t *testing.T) {
	s, _ := open(t, t.TempDir())
	a, b := newVM("b-vm"), newVM("a-vm")
	require.NoError(t, s.Insert(a))
	require.NoError(t, s.Insert(b))

	got, ok := s.Get(a.ID)
	require.True(t, ok)
	require.Equal(t, a.Spec, got.Spec)
	byName, ok := s.GetByName("a-vm")
	require.True(t, ok)
	require.Equal(t, b.ID, byName.ID)

	list := s.List()
	require.Len(t, list, 2)
	require.Equal(t, []string{"a-vm", "b-vm"}, []string{list[0].Name, list[1].Name}, "List is sorted by name")

	// Returned values are copies.
	got.Spec.Disks[0].SizeGiB = 999
	again, _ := s.Get(a.ID)
	require.EqualValues(t, 20, again.Spec.Disks[0].SizeGiB)

	upd, err := s.Update(a.ID, func(vm *domain.VM) error { vm.Spec.CPU = 8; return nil })
	require.NoError(t, err)
	require.EqualValues(t, 8, upd.Spec.CPU)
	again, _ = s.Get(a.ID)
	require.EqualValues(t, 8, again.Spec.CPU)

	// A failing update changes nothing.
	_, err = s.Update(a.ID, func(vm *domain.VM) error { vm.Spec.CPU = 1; return errors.New("boom") })
	require.Error(t, err)
	_, err = s.Update(a.ID, func(vm *domain.VM) error { vm.Spec.CPU = 0; return nil })
	require.Equal(t, domain.KindInvalidArgument, domain.KindOf(err))
	_, err = s.Update(a.ID, func(vm *domain.VM) error { vm.Name = "renamed"; return nil })
	require.Error(t, err)
	again, _ = s.Get(a.ID)
	require.EqualValues(t, 8, again.Spec.CPU)
	require.Equal(t, "b-vm", again.Name)

	existed, err := s.Delete(a.ID)
	require.NoError(t, err)
	require.True(t, existed)
	_, ok = s.Get(a.ID)
	require.False(t, ok)
	_, ok = s.GetByName("b-vm")
	require.False(t, ok)
	require.NoFileExists(t, filepath.Join(s.Dir(), a.ID+".json"))
	existed, err = s.Delete(a.ID)
	require.NoError(t, err)
	require.False(t, existed)
	require.Equal(t, 1, s.Len())

	_, err = s.Update(a.ID, func(*domain.VM) error { return nil })
	require.Equal(t, domain.KindNotFound, domain.KindOf(err))
}

func TestUpdateThatChangesNothingWritesNothing(t *testing.T) {
	s, _ := open(t, t.TempDir())
	vm := newVM("same")
	require.NoError(t, s.Insert(vm))
	path := filepath.Join(s.Dir(), vm.ID+".json")
	old := time.Unix(1_000_000, 0)
	require.NoError(t, os.Chtimes(path, old, old))

	got, err := s.Update(vm.ID, func(*domain.VM) error { return nil })
	require.NoError(t, err)
	require.Equal(t, vm.Spec, got.Spec)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.True(t, fi.ModTime().Equal(old), "an update that changes nothing must not rewrite the file")

	_, err = s.Update(vm.ID, func(v *domain.VM) error { v.Spec.CPU = 6; return nil })
	require.NoError(t, err)
	fi, err = os.Stat(path)
	require.NoError(t, err)
	require.False(t, fi.ModTime().Equal(old), "a real change is written")
}

func TestInsertNameTaken(t *testing.T) {
	s, _ := open(t, t.TempDir())
	first := newVM("web")
	require.NoError(t, s.Insert(first))
	err := s.Insert(newVM("web"))
	var taken *NameTakenError
	require.ErrorAs(t, err, &taken)
	require.Equal(t, first.ID, taken.Existing.ID)
	require.Equal(t, domain.KindAlreadyExists, domain.KindOf(err))
	require.Equal(t, 1, s.Len())
	entries, _ := os.ReadDir(s.Dir())
	require.Len(t, entries, 2, "only the lock file and one VM file")
}

func TestReopenReloadsEverything(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	vms := map[string]domain.VM{}
	for i := range 5 {
		vm := newVM(fmt.Sprintf("vm-%d", i))
		vm.Tags = []string{"t"}
		require.NoError(t, s.Insert(vm))
		vms[vm.ID] = vm
	}
	var one domain.VM
	for _, vm := range vms {
		one = vm
		break
	}
	rebooting, err := s.Update(one.ID, func(vm *domain.VM) error {
		return vm.ApplyPower(domain.OpReboot, t0, time.Hour)
	})
	require.NoError(t, err)
	vms[one.ID] = rebooting
	snap, err := s.CreateSnapshot(one.ID, func(vm domain.VM) domain.Snapshot {
		return domain.NewSnapshot(domain.NewID(), vm, "before", "desc", t0)
	})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	r, sk := open(t, dir)
	require.Empty(t, sk.get())
	require.Equal(t, len(vms), r.Len())
	for id, want := range vms {
		got, ok := r.Get(id)
		require.True(t, ok)
		require.Equal(t, want.Name, got.Name)
		require.True(t, want.Spec.Equal(got.Spec))
		require.Equal(t, want.Power, got.Power)
		require.Equal(t, want.StateAt(t0), got.StateAt(t0))
		require.Equal(t, want.Tags, got.Tags)
		require.True(t, want.CreatedAt.Equal(got.CreatedAt))
	}
	gotSnap, ok := r.Snapshot(one.ID, snap.ID)
	require.True(t, ok)
	require.Equal(t, "before", gotSnap.Name)
	require.True(t, snap.Spec.Equal(gotSnap.Spec))
	require.Len(t, r.Snapshots(one.ID), 1)
}

func TestSecondOpenOfALockedDirFails(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	_, err := Open(Options{Dir: dir})
	require.ErrorContains(t, err, "in use")
	require.NoError(t, s.Close())
	r, err := Open(Options{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, r.Close())
}

// A storage directory moved away and made anew under the running provider is not the one
// it holds the lock of and loaded the VMs from: the store is no longer healthy.
func TestReplacedDirectoryIsUnhealthy(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "vms")
	s, _ := open(t, dir)
	require.NoError(t, s.Healthy())
	require.NoError(t, os.Rename(dir, filepath.Join(parent, "moved")))
	require.ErrorContains(t, s.Healthy(), "storage directory is gone")
	require.NoError(t, os.Mkdir(dir, 0o750))
	require.ErrorContains(t, s.Healthy(), "was replaced while the provider ran")
}

func TestClosedStoreRefusesWrites(t *testing.T) {
	s, _ := open(t, t.TempDir())
	vm := newVM("a")
	require.NoError(t, s.Insert(vm))
	require.NoError(t, s.Close())
	require.Equal(t, domain.KindUnavailable, domain.KindOf(s.Insert(newVM("b"))))
	_, err := s.Delete(vm.ID)
	require.Equal(t, domain.KindUnavailable, domain.KindOf(err))
	require.Error(t, s.Healthy())
	_, ok := s.Get(vm.ID)
	require.True(t, ok, "reads keep working")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o750))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

func TestStartupSkipsAndKeepsBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := newVM("good")
	data, err := encodeVM(good)
	require.NoError(t, err)
	writeFile(t, filepath.Join(dir, good.ID+".json"), string(data))

	mismatch := newVM("mismatch")
	data, _ = encodeVM(mismatch)
	otherID := domain.NewID()

	dupe := newVM("good")
	dupe.CreatedAt = t0.Add(time.Hour)
	dupData, _ := encodeVM(dupe)

	orphanID := domain.NewID()
	strayID := domain.NewID()

	bad := map[string]string{
		domain.NewID() + ".json": "{not json",
		domain.NewID() + ".json": `{"hello":"world"}`,
		domain.NewID() + ".json": "",
		domain.NewID() + ".json": `{"format":"vcts.file-provider.vm","version":2}`,
		otherID + ".json":        string(data), // holds another id
		dupe.ID + ".json":        string(dupData),
		"README.txt":             "hello",
		"foo.json":               "{}",
		"../escape.json":         "", // outside: must not be touched
		orphanID + ".snapshots/" + domain.NewID() + ".json": "{}",
		good.ID + ".snapshots/" + domain.NewID() + ".json":  "garbage",
		good.ID + ".snapshots/notes.txt":                    "x",
		"other-dir/" + strayID + ".json":                    "{}",
	}
	for name, content := range bad {
		writeFile(t, filepath.Join(dir, name), content)
	}
	require.NoError(t, os.Symlink(filepath.Join(dir, good.ID+".json"), filepath.Join(dir, domain.NewID()+".json")))
	huge := strings.Repeat(" ", maxRecordSize+1)
	writeFile(t, filepath.Join(dir, domain.NewID()+".json"), huge)

	before := listTree(t, dir)
	s, sk := open(t, dir)
	require.Equal(t, 1, s.Len())
	vm, ok := s.GetByName("good")
	require.True(t, ok)
	require.Equal(t, good.ID, vm.ID, "the oldest VM keeps a duplicated name")
	require.Equal(t, map[string]int{
		SkipCorrupt:       7, // 4 undecodable, id mismatch, oversized, bad snapshot
		SkipForeign:       5, // README, foo.json, other-dir, symlink, notes.txt
		SkipOrphan:        1,
		SkipDuplicateName: 1,
	}, sk.get())
	require.Equal(t, before, listTree(t, dir), "start-up deleted or changed files")
}

// listTree lists every path under dir (and the sibling escape file) with its size.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.Walk(filepath.Dir(dir), func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Name() != lockFileName {
			out = append(out, fmt.Sprintf("%s %d", p, fi.Size()))
		}
		return nil
	}))
	sort.Strings(out)
	return out
}

func TestStartupRemovesTempFiles(t *testing.T) {
	dir := t.TempDir()
	vm := newVM("a")
	data, _ := encodeVM(vm)
	writeFile(t, filepath.Join(dir, vm.ID+".json"), string(data))
	// The remains of an interrupted write: a complete record and a half-written one.
	writeFile(t, filepath.Join(dir, ".tmp-123"), string(data))
	writeFile(t, filepath.Join(dir, ".tmp-456"), string(data[:len(data)/2]))
	writeFile(t, filepath.Join(dir, vm.ID+".snapshots", ".tmp-789"), "{")

	s, sk := open(t, dir)
	require.Equal(t, 1, s.Len())
	require.Empty(t, sk.get())
	require.NoFileExists(t, filepath.Join(dir, ".tmp-123"))
	require.NoFileExists(t, filepath.Join(dir, ".tmp-456"))
	require.NoFileExists(t, filepath.Join(dir, vm.ID+".snapshots", ".tmp-789"))
}

func TestNoTempFilesLeftBehind(t *testing.T) {
	s, _ := open(t, t.TempDir())
	vm := newVM("a")
	require.NoError(t, s.Insert(vm))
	_, err := s.Update(vm.ID, func(v *domain.VM) error { v.Spec.CPU = 3; return nil })
	require.NoError(t, err)
	_, err = s.CreateSnapshot(vm.ID, func(v domain.VM) domain.Snapshot {
		return domain.NewSnapshot(domain.NewID(), v, "", "", t0)
	})
	require.NoError(t, err)
	require.NoError(t, s.Healthy())
	require.NoError(t, filepath.Walk(s.Dir(), func(p string, _ os.FileInfo, err error) error {
		require.False(t, isTempName(filepath.Base(p)), "temp file %s left behind", p)
		return err
	}))
}

func TestMalformedIDsNeverTouchFiles(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "vms")
	s, _ := open(t, dir)
	victim := newVM("victim")
	require.NoError(t, s.Insert(victim))
	// Files an escaping id could reach.
	writeFile(t, filepath.Join(parent, "x.json"), "keep")
	writeFile(t, filepath.Join(parent, "x.snapshots", "y.json"), "keep")
	before := listTree(t, dir)

	ids := []string{"", "../x", "/etc/passwd", "..", ".", "a/../../x", "x\x00", strings.Repeat("a", 4096),
		strings.ToUpper(victim.ID), victim.ID + "/", "../vms/" + victim.ID}
	for _, id := range ids {
		_, err := s.Delete(id)
		require.Equal(t, domain.KindInvalidArgument, domain.KindOf(err), "Delete(%.40q)", id)
		_, err = s.Update(id, func(*domain.VM) error { return nil })
		require.Equal(t, domain.KindInvalidArgument, domain.KindOf(err), "Update(%.40q)", id)
		_, err = s.DeleteSnapshot(id, domain.NewID())
		require.Equal(t, domain.KindInvalidArgument, domain.KindOf(err), "DeleteSnapshot(%.40q, ok)", id)
		_, err = s.DeleteSnapshot(victim.ID, id)
		require.Equal(t, domain.KindInvalidArgument, domain.KindOf(err), "DeleteSnapshot(ok, %.40q)", id)
		_, err = s.CreateSnapshot(id, func(vm domain.VM) domain.Snapshot { return domain.Snapshot{} })
		require.Equal(t, domain.KindInvalidArgument, domain.KindOf(err), "CreateSnapshot(%.40q)", id)
		bad := newVM("bad")
		bad.ID = id
		require.Equal(t, domain.KindInvalidArgument, domain.KindOf(s.Insert(bad)), "Insert(%.40q)", id)
		_, ok := s.Get(id)
		require.False(t, ok)
	}
	require.Equal(t, before, listTree(t, dir))
}

func TestSnapshots(t *testing.T) {
	s, _ := open(t, t.TempDir())
	vm := newVM("a")
	require.NoError(t, s.Insert(vm))

	_, err := s.CreateSnapshot(domain.NewID(), func(v domain.VM) domain.Snapshot {
		return domain.NewSnapshot(domain.NewID(), v, "", "", t0)
	})
	require.Equal(t, domain.KindNotFound, domain.KindOf(err), "snapshot of an unknown VM")

	snap, err := s.CreateSnapshot(vm.ID, func(v domain.VM) domain.Snapshot {
		return domain.NewSnapshot(domain.NewID(), v, "s1", "", t0)
	})
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(s.Dir(), vm.ID+".snapshots", snap.ID+".json"))

	existed, err := s.DeleteSnapshot(vm.ID, snap.ID)
	require.NoError(t, err)
	require.True(t, existed)
	_, ok := s.Snapshot(vm.ID, snap.ID)
	require.False(t, ok)
	existed, err = s.DeleteSnapshot(vm.ID, snap.ID)
	require.NoError(t, err)
	require.False(t, existed)

	// Deleting the VM removes its snapshots and their directory.
	_, err = s.CreateSnapshot(vm.ID, func(v domain.VM) domain.Snapshot {
		return domain.NewSnapshot(domain.NewID(), v, "s2", "", t0)
	})
	require.NoError(t, err)
	_, err = s.Delete(vm.ID)
	require.NoError(t, err)
	require.NoDirExists(t, filepath.Join(s.Dir(), vm.ID+".snapshots"))
	require.Empty(t, s.Snapshots(vm.ID))
}

// A change whose rename landed but whose directory fsync failed is in place: the call fails,
// yet the index follows the disk, so that a retry finds the change and a restart agrees with
// what was served. A delete that fails part-way forgets the snapshots it removed.
func TestChangeInPlaceButNotDurableIsIndexed(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	fault := errors.New("injected fsync failure")
	s.disk.syncFault = func() error { return fault }

	vm := newVM("a")
	err := s.Insert(vm)
	require.ErrorIs(t, err, fault)
	require.Equal(t, domain.KindUnavailable, domain.KindOf(err))
	_, ok := s.Get(vm.ID)
	require.True(t, ok, "the VM file is in place, so the index holds it")
	_, err = s.Update(vm.ID, func(v *domain.VM) error { v.Spec.CPU = 8; return nil })
	require.ErrorIs(t, err, fault)
	got, _ := s.Get(vm.ID)
	require.EqualValues(t, 8, got.Spec.CPU)
	snapshot := func() error {
		_, err := s.CreateSnapshot(vm.ID, func(v domain.VM) domain.Snapshot {
			return domain.NewSnapshot(domain.NewID(), v, "s1", "", t0)
		})
		return err
	}
	// The first attempt fails making the snapshot directory durable, before any snapshot
	// file exists; the second finds the directory and fails after the rename.
	require.ErrorIs(t, snapshot(), fault)
	require.Empty(t, s.Snapshots(vm.ID))
	require.ErrorIs(t, snapshot(), fault)
	require.Len(t, s.Snapshots(vm.ID), 1)

	require.NoError(t, s.Close())
	s, _ = open(t, dir)
	got, ok = s.Get(vm.ID)
	require.True(t, ok)
	require.EqualValues(t, 8, got.Spec.CPU)
	require.Len(t, s.Snapshots(vm.ID), 1)

	s.disk.syncFault = func() error { return fault }
	_, err = s.Delete(vm.ID)
	require.ErrorIs(t, err, fault)
	require.Empty(t, s.Snapshots(vm.ID), "the snapshot files are gone, so the index forgets them")
	s.disk.syncFault = nil
	existed, err := s.Delete(vm.ID)
	require.NoError(t, err)
	require.True(t, existed)
	require.NoError(t, s.Close())
	s, _ = open(t, dir)
	require.Zero(t, s.Len())
}

func TestDeleteKeepsForeignFilesInSnapshotDir(t *testing.T) {
	s, _ := open(t, t.TempDir())
	vm := newVM("a")
	require.NoError(t, s.Insert(vm))
	_, err := s.CreateSnapshot(vm.ID, func(v domain.VM) domain.Snapshot {
		return domain.NewSnapshot(domain.NewID(), v, "", "", t0)
	})
	require.NoError(t, err)
	foreign := filepath.Join(s.Dir(), vm.ID+".snapshots", "notes.txt")
	writeFile(t, foreign, "mine")
	_, err = s.Delete(vm.ID)
	require.NoError(t, err)
	require.FileExists(t, foreign)
	_, ok := s.Get(vm.ID)
	require.False(t, ok)
}

func TestSnapshotDirMustNotBeASymlink(t *testing.T) {
	parent := t.TempDir()
	s, _ := open(t, filepath.Join(parent, "vms"))
	vm := newVM("a")
	require.NoError(t, s.Insert(vm))
	outside := filepath.Join(parent, "outside")
	require.NoError(t, os.Mkdir(outside, 0o750))
	require.NoError(t, os.Symlink(outside, filepath.Join(s.Dir(), vm.ID+".snapshots")))
	_, err := s.CreateSnapshot(vm.ID, func(v domain.VM) domain.Snapshot {
		return domain.NewSnapshot(domain.NewID(), v, "", "", t0)
	})
	require.Equal(t, domain.KindUnavailable, domain.KindOf(err))
	entries, _ := os.ReadDir(outside)
	require.Empty(t, entries, "a snapshot was written through the symlink")
	_, err = s.Delete(vm.ID)
	require.NoError(t, err)
	require.DirExists(t, outside)
}

func TestSnapshotLimit(t *testing.T) {
	s, _ := open(t, t.TempDir())
	vm := newVM("a")
	require.NoError(t, s.Insert(vm))
	// Fill the index directly: the limit is about the count, not about the files.
	s.snaps[vm.ID] = map[string]*domain.Snapshot{}
	for range domain.MaxSnapshotsPerVM {
		snap := domain.NewSnapshot(domain.NewID(), vm, "", "", t0)
		s.snaps[vm.ID][snap.ID] = &snap
	}
	_, err := s.CreateSnapshot(vm.ID, func(v domain.VM) domain.Snapshot {
		return domain.NewSnapshot(domain.NewID(), v, "", "", t0)
	})
	require.Equal(t, domain.KindResourceExhausted, domain.KindOf(err))
}

func TestConcurrentWrites(t *testing.T) {
	s, _ := open(t, t.TempDir())
	const n = 16
	var wg sync.WaitGroup
	sameName := make([]string, n)
	errs := make(chan error, 3*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- s.Insert(newVM(fmt.Sprintf("distinct-%02d", i)))
		}()
		go func() {
			defer wg.Done()
			vm := newVM("shared")
			err := s.Insert(vm)
			var taken *NameTakenError
			switch {
			case err == nil:
				sameName[i] = vm.ID
			case errors.As(err, &taken):
				sameName[i] = taken.Existing.ID
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, n+1, s.Len())
	for _, id := range sameName {
		require.Equal(t, sameName[0], id, "two VMs were created for one name")
	}

	// Parallel updates of one VM and reads of all of them.
	target, _ := s.GetByName("shared")
	wg = sync.WaitGroup{}
	for range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := s.Update(target.ID, func(vm *domain.VM) error { vm.Spec.CPU++; return nil })
			require.NoError(t, err)
		}()
		go func() {
			defer wg.Done()
			require.Len(t, s.List(), n+1)
		}()
	}
	wg.Wait()
	got, _ := s.Get(target.ID)
	require.EqualValues(t, 2+n, got.Spec.CPU, "lost updates")
}
