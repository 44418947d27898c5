package child

import (
	"os/exec"
	"runtime"
	"syscall"
)

// start puts the child in its own process group with a parent-death signal. Pdeathsig fires
// when the starting *thread* exits, so the child is started from a goroutine locked to its
// thread until the child exits.
func start(cmd *exec.Cmd, exited chan struct{}) error {
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

// alive sends signal 0, which only probes.
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }
