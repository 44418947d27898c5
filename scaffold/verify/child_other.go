//go:build !linux

package verify

import (
	"os"
	"os/exec"
)

// startChild starts cmd; exited is closed once the child is reaped. Without Linux's
// parent-death signal, a verify that is killed outright can leave the provider running.
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

func terminate(cmd *exec.Cmd) error { return cmd.Process.Signal(os.Interrupt) }
func kill(cmd *exec.Cmd) error      { return cmd.Process.Kill() }
