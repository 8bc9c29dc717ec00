//go:build !linux

package proc

import "syscall"

// attrs: outside Linux there is no Pdeathsig, so a harness killed with
// SIGKILL can leave its children running; its orderly stops still end
// them. The harnesses run on Linux; elsewhere they only compile.
func attrs(ownGroup bool) *syscall.SysProcAttr { return nil }
