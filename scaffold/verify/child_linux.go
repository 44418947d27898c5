package verify

import (
	"os/exec"
	"runtime"
	"syscall"
)

// startChild starts cmd in its own process group, so that a Ctrl-C at the terminal reaches
// verify (which then stops the provider in order) rather than the provider directly, and
// with a parent-death signal, so that the provider never outlives a verify that is killed.
// Pdeathsig fires when the starting thread exits, so the child is started from a goroutine
// locked to its thread until the child exits. exited is closed once the child is reaped.
func startChild(cmd *exec.Cmd, exited chan struct{}) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	return <-started
}

func terminate(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
func kill(cmd *exec.Cmd) error      { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
