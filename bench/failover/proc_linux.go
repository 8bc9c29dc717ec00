package main

import "syscall"

// dieWithParent kills a replica if the bench dies, so none outlives it.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
