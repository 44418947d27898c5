package target

import (
	"os/exec"
	"runtime"
	"syscall"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// startChild starts cmd in its own process group (a Ctrl-C on the terminal reaches vcts,
// which then cleans up through the provider before stopping it, instead of killing the
// provider first) with a parent-death signal, so the provider never outlives a vcts that
// is killed outright. Pdeathsig fires when the starting *thread* exits, so the child is
// started from a goroutine locked to its thread until the child exits. exited is closed
// when the child has been reaped.
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

// signalChild signals the child's whole process group.
func signalChild(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// processAlive reports whether a process with this pid exists (signal 0 only probes).
func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }
