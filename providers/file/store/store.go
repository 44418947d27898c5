// Package store persists the file provider's VMs and snapshots durably and serves them from an
// in-memory index.
//
// Layout of the storage directory:
//
//	<vmid>.json                      one file per VM
//	<vmid>.snapshots/<snapid>.json   one file per snapshot of that VM
//	.lock                            advisory lock held by the running provider
//	.tmp-*                           writes in progress (removed at start-up: crash remains)
//
// Every write is atomic and durable (temporary file, fsync, rename, fsync of the directory).
// Files are loaded once at Open; reads never touch the disk. A file that is not one of ours or
// cannot be decoded is reported through Options.OnSkip and left alone.
package store

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vctsio/vcts/providers/file/domain"
)

// Reasons passed to Options.OnSkip.
const (
	// SkipForeign: a name or file type the store never writes.
	SkipForeign = "foreign"
	// SkipCorrupt: a file named like ours whose content cannot be decoded or is invalid.
	SkipCorrupt = "corrupt"
	// SkipOrphan: a snapshot directory whose VM is not loaded.
	SkipOrphan = "orphan"
	// SkipDuplicateName: a VM whose name is already held by an older VM.
	SkipDuplicateName = "duplicate-name"
)

const (
	lockFileName   = ".lock"
	fileExt        = ".json"
	snapshotDirExt = ".snapshots"
)

// Options configure a store.
type Options struct {
	// Dir is the storage directory; it is created when missing.
	Dir    string
	Logger *slog.Logger
	// OnSkip is called once for every file or directory skipped at start-up.
	OnSkip func(reason string)
	// UnsafeNoSync skips every fsync, giving up durability (never atomicity). Only for
	// seeding test and benchmark fixtures; never in a provider.
	UnsafeNoSync bool
}

// Store is the durable VM and snapshot store. All methods are safe for concurrent use.
//
// Locking: a per-name lock makes Insert's check-then-write atomic, a per-VM lock serialises
// writes to one VM and its snapshots, and mu guards only the in-memory maps, never I/O, so
// reads do not wait for unrelated fsyncs. Lock order is name, then VM, then mu.
type Store struct {
	dir  string
	disk disk
	log  *slog.Logger
	lock *os.File
	// opened is the directory as Open found it: Healthy tells a directory replaced under
	// the running provider (moved away, made anew) from the one it holds the lock of.
	opened os.FileInfo
	closed atomic.Bool

	names keyedMutex
	vmMu  keyedMutex

	mu     sync.RWMutex
	vms    map[string]*domain.VM // values are never mutated once stored
	byName map[string]string     // name → id
	order  []string              // names, sorted, for a stable List
	snaps  map[string]map[string]*domain.Snapshot
}

// NameTakenError is returned by Insert when the name is held by another VM.
type NameTakenError struct {
	Existing domain.VM
}

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("a VM named %q already exists (id %s)", e.Existing.Name, e.Existing.ID)
}

// Unwrap classifies the error as AlreadyExists.
func (e *NameTakenError) Unwrap() error { return domain.AlreadyExists("%s", e.Error()) }

// Open creates the directory if needed, locks it against a second provider, removes the
// remains of interrupted writes and loads every VM and snapshot.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("store: directory is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.OnSkip == nil {
		opts.OnSkip = func(string) {}
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", dir, err)
	}
	lock, err := lockDir(filepath.Join(dir, lockFileName))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	opened, err := os.Stat(dir)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{
		dir:    dir,
		opened: opened,
		disk:   disk{noSync: opts.UnsafeNoSync},
		log:    opts.Logger,
		lock:   lock,
		vms:    make(map[string]*domain.VM),
		byName: make(map[string]string),
		snaps:  make(map[string]map[string]*domain.Snapshot),
	}
	if err := s.load(opts.OnSkip); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("store: load %s: %w", dir, err)
	}
	return s, nil
}

// Dir is the absolute storage directory.
func (s *Store) Dir() string { return s.dir }

// Close releases the directory lock. Later writes fail with Unavailable; reads keep working.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.lock.Close()
}

// probeSize is what Healthy writes: about one VM record, so that a full file system fails.
const probeSize = 4096

// Healthy checks that the directory is still the one the store opened (and locked), and
// that it takes a write of about one VM record, by writing and removing a probe file (named
// like a temporary file so a crash in between leaves nothing behind).
func (s *Store) Healthy() error {
	if s.closed.Load() {
		return errors.New("store is closed")
	}
	now, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("storage directory is gone: %w", err)
	}
	if !os.SameFile(now, s.opened) {
		return fmt.Errorf("storage directory %s was replaced while the provider ran (its VMs and lock are elsewhere): restart the provider", s.dir)
	}
	f, err := os.CreateTemp(s.dir, tempPrefix+"probe-*")
	if err != nil {
		return fmt.Errorf("storage directory is not writable: %w", err)
	}
	name := f.Name()
	_, werr := f.Write(make([]byte, probeSize))
	cerr := f.Close()
	rerr := os.Remove(name)
	if werr != nil {
		return fmt.Errorf("storage directory takes no writes: %w", werr)
	}
	return errors.Join(cerr, rerr)
}

// Len is the number of VMs.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.vms)
}

// Get returns the VM with this id. It does not touch the disk, so any id may be asked.
func (s *Store) Get(id string) (domain.VM, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	vm, ok := s.vms[id]
	if !ok {
		return domain.VM{}, false
	}
	return vm.Clone(), true
}

// GetByName returns the VM with this name.
func (s *Store) GetByName(name string) (domain.VM, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byName[name]
	if !ok {
		return domain.VM{}, false
	}
	return s.vms[id].Clone(), true
}

// List returns every VM, sorted by name.
func (s *Store) List() []domain.VM {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]domain.VM, 0, len(s.order))
	for _, name := range s.order {
		out = append(out, s.vms[s.byName[name]].Clone())
	}
	return out
}

// Insert stores a new VM. If its name is taken, it returns a *NameTakenError carrying the
// VM that holds it, and writes nothing.
func (s *Store) Insert(vm domain.VM) error {
	if err := vm.Validate(); err != nil {
		return err
	}
	if err := s.writable(); err != nil {
		return err
	}
	defer s.names.Lock(vm.Name)()
	s.mu.RLock()
	existingID, taken := s.byName[vm.Name]
	var existing domain.VM
	if taken {
		existing = s.vms[existingID].Clone()
	}
	_, idTaken := s.vms[vm.ID]
	s.mu.RUnlock()
	if taken {
		return &NameTakenError{Existing: existing}
	}
	if idTaken {
		return domain.AlreadyExists("a VM with id %s already exists", vm.ID)
	}

	defer s.vmMu.Lock(vm.ID)()
	vm = vm.Clone()
	err := s.writeVM(vm)
	if err != nil && !inPlace(err) {
		return err
	}
	s.mu.Lock()
	s.vms[vm.ID] = &vm
	s.byName[vm.Name] = vm.ID
	i, _ := slices.BinarySearch(s.order, vm.Name)
	s.order = slices.Insert(s.order, i, vm.Name)
	s.mu.Unlock()
	return err
}

// Update applies fn to a copy of the VM and stores the result durably; when fn fails,
// nothing changes. fn runs under the VM's lock, so it may read the VM's snapshots
// consistently, and must not call other methods that take the VM's lock.
func (s *Store) Update(id string, fn func(vm *domain.VM) error) (domain.VM, error) {
	if err := domain.ValidateID("vm", id); err != nil {
		return domain.VM{}, err
	}
	if err := s.writable(); err != nil {
		return domain.VM{}, err
	}
	defer s.vmMu.Lock(id)()
	cur, ok := s.Get(id)
	if !ok {
		return domain.VM{}, domain.NotFound("vm %s not found", id)
	}
	next := cur.Clone()
	if err := fn(&next); err != nil {
		return domain.VM{}, err
	}
	if next.ID != cur.ID || next.Name != cur.Name || !next.CreatedAt.Equal(cur.CreatedAt) {
		return domain.VM{}, fmt.Errorf("store: update of vm %s changed its identity", id)
	}
	if err := next.Validate(); err != nil {
		return domain.VM{}, err
	}
	if reflect.DeepEqual(next, cur) {
		// Nothing changed (a repeated power on, say): the record on disk is already this one,
		// so the fsynced rewrite is skipped.
		return next, nil
	}
	err := s.writeVM(next)
	if err != nil && !inPlace(err) {
		return domain.VM{}, err
	}
	stored := next.Clone()
	s.mu.Lock()
	s.vms[id] = &stored
	s.mu.Unlock()
	if err != nil {
		return domain.VM{}, err
	}
	return next, nil
}

// Delete removes a VM and its snapshots. It reports whether the VM existed; deleting an
// unknown VM is not an error. A malformed id is refused before any file is touched.
func (s *Store) Delete(id string) (bool, error) {
	if err := domain.ValidateID("vm", id); err != nil {
		return false, err
	}
	if err := s.writable(); err != nil {
		return false, err
	}
	defer s.vmMu.Lock(id)()
	s.mu.RLock()
	_, ok := s.vms[id]
	snaps := make([]string, 0, len(s.snaps[id]))
	for sid := range s.snaps[id] {
		snaps = append(snaps, sid)
	}
	s.mu.RUnlock()
	if !ok {
		return false, nil
	}
	// Snapshots go first: a crash in between leaves a VM with fewer snapshots, which a
	// repeated Delete finishes, rather than snapshots without their VM. The index forgets
	// each snapshot whose file is gone, so that it agrees with the disk when a later step fails.
	if err := s.removeSnapshotDir(id, snaps); err != nil {
		return false, domain.Unavailable(err, "delete snapshots of vm %s", id)
	}
	err := s.disk.removeDurably(s.dir, id+fileExt)
	if err != nil && !inPlace(err) {
		return false, domain.Unavailable(err, "delete vm %s", id)
	}
	s.mu.Lock()
	name := s.vms[id].Name
	delete(s.vms, id)
	delete(s.byName, name)
	if i, found := slices.BinarySearch(s.order, name); found {
		s.order = slices.Delete(s.order, i, i+1)
	}
	delete(s.snaps, id)
	s.mu.Unlock()
	if err != nil {
		return false, domain.Unavailable(err, "delete vm %s", id)
	}
	return true, nil
}

// removeSnapshotDir removes the snapshot files the store knows, then the directory if
// nothing else is left in it; anything unknown in it is kept and reported.
func (s *Store) removeSnapshotDir(vmID string, snapIDs []string) error {
	dir := s.snapshotDir(vmID)
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		s.log.Warn("kept a foreign file where the snapshot directory of a deleted VM would be", "path", dir)
		return nil
	}
	for _, sid := range snapIDs {
		if err := os.Remove(filepath.Join(dir, sid+fileExt)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		s.mu.Lock()
		delete(s.snaps[vmID], sid)
		s.mu.Unlock()
	}
	if err := os.Remove(dir); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("kept snapshot directory of a deleted VM: it holds files the provider did not write",
				"dir", dir, "error", err)
		}
		return s.disk.syncDir(s.dir)
	}
	return s.disk.syncDir(s.dir)
}

// Snapshot returns one snapshot of a VM.
func (s *Store) Snapshot(vmID, snapID string) (domain.Snapshot, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	snap, ok := s.snaps[vmID][snapID]
	if !ok {
		return domain.Snapshot{}, false
	}
	c := *snap
	c.Spec = snap.Spec.Clone()
	return c, true
}

// Snapshots returns the snapshots of a VM, oldest first.
func (s *Store) Snapshots(vmID string) []domain.Snapshot {
	s.mu.RLock()
	out := make([]domain.Snapshot, 0, len(s.snaps[vmID]))
	for _, snap := range s.snaps[vmID] {
		c := *snap
		c.Spec = snap.Spec.Clone()
		out = append(out, c)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b domain.Snapshot) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// CreateSnapshot stores a new snapshot of an existing VM. build runs under the VM's lock
// with the VM as it is, so the snapshot records a state no concurrent write can tear.
func (s *Store) CreateSnapshot(vmID string, build func(vm domain.VM) domain.Snapshot) (domain.Snapshot, error) {
	if err := domain.ValidateID("vm", vmID); err != nil {
		return domain.Snapshot{}, err
	}
	if err := s.writable(); err != nil {
		return domain.Snapshot{}, err
	}
	defer s.vmMu.Lock(vmID)()
	vm, ok := s.Get(vmID)
	if !ok {
		return domain.Snapshot{}, domain.NotFound("vm %s not found", vmID)
	}
	snap := build(vm)
	if snap.VMID != vmID {
		return domain.Snapshot{}, fmt.Errorf("store: snapshot built for vm %s belongs to vm %s", vmID, snap.VMID)
	}
	if err := snap.Validate(); err != nil {
		return domain.Snapshot{}, err
	}
	s.mu.RLock()
	n := len(s.snaps[vmID])
	_, dup := s.snaps[vmID][snap.ID]
	s.mu.RUnlock()
	switch {
	case dup:
		return domain.Snapshot{}, domain.AlreadyExists("snapshot %s already exists", snap.ID)
	case n >= domain.MaxSnapshotsPerVM:
		return domain.Snapshot{}, domain.ResourceExhausted("vm %s already has %d snapshots, the maximum", vmID, n)
	}
	dir, err := s.ensureSnapshotDir(vmID)
	if err != nil {
		return domain.Snapshot{}, domain.Unavailable(err, "create snapshot directory of vm %s", vmID)
	}
	data, err := encodeSnapshot(snap)
	if err != nil {
		return domain.Snapshot{}, err
	}
	err = s.disk.writeFileAtomic(dir, snap.ID+fileExt, data)
	if err != nil && !inPlace(err) {
		return domain.Snapshot{}, domain.Unavailable(err, "write snapshot %s", snap.ID)
	}
	stored := snap
	stored.Spec = snap.Spec.Clone()
	s.mu.Lock()
	if s.snaps[vmID] == nil {
		s.snaps[vmID] = make(map[string]*domain.Snapshot)
	}
	s.snaps[vmID][snap.ID] = &stored
	s.mu.Unlock()
	if err != nil {
		return domain.Snapshot{}, domain.Unavailable(err, "write snapshot %s", snap.ID)
	}
	return snap, nil
}

// DeleteSnapshot removes one snapshot and reports whether it existed. Malformed ids are
// refused before any file is touched.
func (s *Store) DeleteSnapshot(vmID, snapID string) (bool, error) {
	if err := domain.ValidateID("vm", vmID); err != nil {
		return false, err
	}
	if err := domain.ValidateID("snapshot", snapID); err != nil {
		return false, err
	}
	if err := s.writable(); err != nil {
		return false, err
	}
	defer s.vmMu.Lock(vmID)()
	s.mu.RLock()
	_, ok := s.snaps[vmID][snapID]
	s.mu.RUnlock()
	if !ok {
		return false, nil
	}
	err := s.disk.removeDurably(s.snapshotDir(vmID), snapID+fileExt)
	if err != nil && !inPlace(err) {
		return false, domain.Unavailable(err, "delete snapshot %s", snapID)
	}
	s.mu.Lock()
	delete(s.snaps[vmID], snapID)
	s.mu.Unlock()
	if err != nil {
		return false, domain.Unavailable(err, "delete snapshot %s", snapID)
	}
	return true, nil
}

// ensureSnapshotDir creates the snapshot directory of a VM durably and refuses anything
// but a real directory there: following a symlink would write outside the storage directory.
func (s *Store) ensureSnapshotDir(vmID string) (string, error) {
	dir := s.snapshotDir(vmID)
	err := os.Mkdir(dir, 0o750)
	if err == nil {
		return dir, s.disk.syncDir(s.dir)
	}
	if !errors.Is(err, os.ErrExist) {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s exists and is not a directory", dir)
	}
	return dir, nil
}

func (s *Store) writable() error {
	if s.closed.Load() {
		return domain.Unavailable(nil, "store is closed")
	}
	return nil
}

func (s *Store) writeVM(vm domain.VM) error {
	data, err := encodeVM(vm)
	if err != nil {
		return err
	}
	if err := s.disk.writeFileAtomic(s.dir, vm.ID+fileExt, data); err != nil {
		return domain.Unavailable(err, "write vm %s", vm.ID)
	}
	return nil
}

// snapshotDir may only be called with a validated id.
func (s *Store) snapshotDir(vmID string) string { return filepath.Join(s.dir, vmID+snapshotDirExt) }

// idFromName returns the id in "<id><ext>" when it is a well-formed id.
func idFromName(name, ext string) (string, bool) {
	id, ok := strings.CutSuffix(name, ext)
	if !ok || domain.ValidateID("", id) != nil {
		return "", false
	}
	return id, true
}
