// Package child starts a provider as a child process that neither gets the terminal's Ctrl-C
// directly (the parent cleans up through the provider first, then stops it) nor outlives a
// parent that is killed outright (Linux parent-death signal). Used by the process target and
// by vrtg-provider verify.
package child

import "os/exec"

// Start starts cmd; exited is closed once the child has been reaped.
func Start(cmd *exec.Cmd, exited chan struct{}) error { return start(cmd, exited) }

// Terminate asks the child (its whole process group, where there is one) to stop.
func Terminate(cmd *exec.Cmd) error { return terminate(cmd) }

// Kill stops the child (its whole process group, where there is one) at once.
func Kill(cmd *exec.Cmd) error { return kill(cmd) }

// Alive reports whether a process with this pid exists. Where that cannot be probed, every
// process counts as alive (so nothing is reaped on a guess).
func Alive(pid int) bool { return alive(pid) }
