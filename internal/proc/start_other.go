//go:build !linux

package proc

import (
	"errors"
	"os/exec"
	"syscall"
)

// StartCmd starts cmd. Outside Linux there is no Pdeathsig and no process
// group here: a harness or sidecar killed with SIGKILL can leave its
// children running, though orderly stops still end them. The harnesses and
// exec mode run on Linux; elsewhere they only compile.
func StartCmd(cmd *exec.Cmd, ownGroup bool) error { return cmd.Start() }

// SignalGroup has no group to signal outside Linux: StartCmd makes none.
func SignalGroup(pgid int, sig syscall.Signal) error { return errors.ErrUnsupported }
