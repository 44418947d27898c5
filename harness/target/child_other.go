//go:build !linux

package target

import (
	"os"
	"os/exec"
)

var (
	sigTerm os.Signal = os.Interrupt
	sigKill os.Signal = os.Kill
)

func startChild(cmd *exec.Cmd, exited chan struct{}) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return nil
}

func signalChild(cmd *exec.Cmd, sig os.Signal) error { return cmd.Process.Signal(sig) }

// processAlive cannot probe here: every owner counts as alive, so nothing is reaped.
func processAlive(int) bool { return true }
