//go:build !linux

package main

import "syscall"

// dieWithParent: the bench reads /proc and runs on Linux; elsewhere it only
// compiles.
func dieWithParent() *syscall.SysProcAttr { return nil }
