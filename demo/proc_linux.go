package main

import "syscall"

// childAttrs makes a child die with the demo (so even a killed demo leaves
// no process behind) and, if ownGroup, puts it in its own process group, out
// of reach of the terminal's ctrl+c.
func childAttrs(ownGroup bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: ownGroup}
}
