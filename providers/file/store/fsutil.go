package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tempPrefix starts the name of every temporary file the store writes. Such a file is only
// ever a write that has not been renamed into place yet, so one found at start-up is the
// remains of a crash and is removed.
const tempPrefix = ".tmp-"

func isTempName(name string) bool { return strings.HasPrefix(name, tempPrefix) }

// disk does the store's file operations. With noSync it skips every fsync: atomicity stays,
// durability goes; only for seeding test and benchmark fixtures fast.
type disk struct {
	noSync bool
	// syncFault, when set (by tests), is asked before every directory fsync and fails it
	// with its error.
	syncFault func() error
}

// writeFileAtomic makes data the content of dir/name so that, whatever happens, the file is
// either its old version or the new one, never a mix, and the new one survives a crash once
// the function returned: write a temporary file in the same directory, fsync it, rename it
// over the target, fsync the directory so the rename itself is durable.
func (d disk) writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if !d.noSync {
		if err = f.Sync(); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	if err := d.syncDir(dir); err != nil {
		return &notDurableError{err}
	}
	return nil
}

// removeDurably removes dir/name (a missing file is fine) and makes the removal durable.
func (d disk) removeDurably(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := d.syncDir(dir); err != nil {
		return &notDurableError{err}
	}
	return nil
}

// notDurableError says that a change is in place (every reader of the directory, and the
// next start-up, sees it) but the directory fsync that makes it survive a crash failed. The
// store's index must follow such a change, or it disagrees with the disk until a restart;
// the call still fails, and its retry (idempotent) finds the change made.
type notDurableError struct{ err error }

func (e *notDurableError) Error() string { return e.err.Error() }
func (e *notDurableError) Unwrap() error { return e.err }

// inPlace reports whether err is a change that was made but not made durable.
func inPlace(err error) bool {
	var nd *notDurableError
	return errors.As(err, &nd)
}

// syncDir fsyncs a directory so that entries created, renamed or removed in it are durable.
func (d disk) syncDir(dir string) error {
	if d.noSync {
		return nil
	}
	if d.syncFault != nil {
		if err := d.syncFault(); err != nil {
			return fmt.Errorf("fsync %s: %w", dir, err)
		}
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := f.Sync()
	cerr := f.Close()
	if serr != nil {
		return fmt.Errorf("fsync %s: %w", dir, serr)
	}
	return cerr
}
