package main

import (
	"os/exec"
	"syscall"
)

// ownGroup puts the suite in a process group of its own, killed whole on a
// timeout or an interrupt, and makes it die with the runner.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
