//go:build unix

package report

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir waits for an exclusive advisory lock on the report folder, so that two runs writing
// into the same folder at once leave one run's complete set of reports, never a mix of both.
// The kernel drops the lock when the process dies.
func lockDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = f.Close() }, nil
}
