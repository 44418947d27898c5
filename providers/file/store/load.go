package store

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/vctsio/vcts/providers/file/domain"
)

// load fills the index from the directory. It only fails when the directory itself cannot be
// read: one bad file must never keep the provider from starting, and nothing it did not
// write is ever removed.
func (s *Store) load(onSkip func(string)) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	skip := func(reason, path string, err error) {
		s.log.Warn("skipped a file in the storage directory", "reason", reason, "path", path, "error", err)
		onSkip(reason)
	}
	var loaded []domain.VM
	var snapDirs []string
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(s.dir, name)
		switch {
		case name == lockFileName:
		case isTempName(name) && e.Type().IsRegular():
			s.removeStaleTemp(path)
		case e.Type().IsRegular() && hasID(name, fileExt):
			vm, err := readRecord(path, decodeVM)
			if err == nil && vm.ID+fileExt != name {
				err = fmt.Errorf("file holds vm %s", vm.ID)
			}
			if err != nil {
				skip(SkipCorrupt, path, err)
				continue
			}
			loaded = append(loaded, vm)
		case e.IsDir() && hasID(name, snapshotDirExt):
			snapDirs = append(snapDirs, name)
		default:
			skip(SkipForeign, path, nil)
		}
	}

	// Names must be unique; should two files claim one (only possible by hand-editing), the
	// oldest VM keeps it, deterministically.
	slices.SortFunc(loaded, func(a, b domain.VM) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	for _, vm := range loaded {
		if holder, taken := s.byName[vm.Name]; taken {
			skip(SkipDuplicateName, filepath.Join(s.dir, vm.ID+fileExt),
				fmt.Errorf("name %q is held by vm %s", vm.Name, holder))
			continue
		}
		vm := vm
		s.vms[vm.ID] = &vm
		s.byName[vm.Name] = vm.ID
		s.order = append(s.order, vm.Name)
	}
	slices.Sort(s.order)

	for _, name := range snapDirs {
		vmID, _ := idFromName(name, snapshotDirExt)
		dir := filepath.Join(s.dir, name)
		if _, ok := s.vms[vmID]; !ok {
			skip(SkipOrphan, dir, fmt.Errorf("vm %s is not loaded", vmID))
			continue
		}
		if err := s.loadSnapshots(vmID, dir, skip); err != nil {
			skip(SkipCorrupt, dir, err)
		}
	}
	return nil
}

func (s *Store) loadSnapshots(vmID, dir string, skip func(reason, path string, err error)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case isTempName(name) && e.Type().IsRegular():
			s.removeStaleTemp(path)
		case e.Type().IsRegular() && hasID(name, fileExt):
			snap, err := readRecord(path, decodeSnapshot)
			if err == nil && (snap.ID+fileExt != name || snap.VMID != vmID) {
				err = fmt.Errorf("file holds snapshot %s of vm %s", snap.ID, snap.VMID)
			}
			if err != nil {
				skip(SkipCorrupt, path, err)
				continue
			}
			if s.snaps[vmID] == nil {
				s.snaps[vmID] = make(map[string]*domain.Snapshot)
			}
			s.snaps[vmID][snap.ID] = &snap
		default:
			skip(SkipForeign, path, nil)
		}
	}
	return nil
}

func (s *Store) removeStaleTemp(path string) {
	if err := os.Remove(path); err != nil {
		s.log.Warn("could not remove the remains of an interrupted write", "path", path, "error", err)
		return
	}
	s.log.Info("removed the remains of an interrupted write", "path", path)
}

func hasID(name, ext string) bool {
	_, ok := idFromName(name, ext)
	return ok
}

// readRecord reads at most maxRecordSize bytes of a file and decodes them.
func readRecord[T any](path string, decode func([]byte) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecordSize+1))
	if err != nil {
		return zero, err
	}
	if len(data) > maxRecordSize {
		return zero, fmt.Errorf("larger than %d bytes", maxRecordSize)
	}
	return decode(data)
}
