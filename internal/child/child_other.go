//go:build !linux

package child

import (
	"os"
	"os/exec"
)

// start without Linux's parent-death signal: a parent killed outright can leave the child
// running.
func start(cmd *exec.Cmd, exited chan struct{}) error {
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
func alive(int) bool                { return true }
