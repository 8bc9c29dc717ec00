//go:build !linux

package controlplane

import "syscall"

// dieWithParent is Linux-only; elsewhere Stop must be called.
func dieWithParent() *syscall.SysProcAttr { return nil }
