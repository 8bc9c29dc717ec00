//go:build !linux

package main

import "syscall"

// childAttrs: outside Linux there is no Pdeathsig, so a demo killed with
// SIGKILL can leave its children running; q, ctrl+c and SIGTERM still stop
// them. Process groups need Unix; the demo does not run on Windows.
func childAttrs(ownGroup bool) *syscall.SysProcAttr { return nil }
