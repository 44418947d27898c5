// Package atomicfile replaces files whole: a reader never sees a half-written one.
package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile writes data to path (mode 0644) through a temporary file in the same directory, so a
// reader (or an interrupted run) never sees a half-written file: it holds the old content or
// the new one. No fsync: for reports and generated files, not for data that must survive a
// crash (the file provider's store does its own durable writes).
func WriteFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
