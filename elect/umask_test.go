//go:build unix

package elect

import "syscall"

func syscallUmask(m int) int { return syscall.Umask(m) }
