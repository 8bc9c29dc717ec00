package child

import (
	"bytes"
	"os"
	"strconv"

	"github.com/leader-elector/leader-elector/internal/procstat"
)

// groupHasLiveMember reports whether a process of group pgid is not a zombie.
// Without a readable /proc it assumes so, which only costs Stop its grace.
func groupHasLiveMember(pgid int) bool {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return true
	}
	live := false
	procstat.Each(func(_ int, st procstat.Stat) bool {
		if st.Pgrp == pgid && !st.Dead() {
			live = true
			return false
		}
		return true
	})
	return live
}

// zombieChildren lists the zombies whose parent is ppid.
func zombieChildren(ppid int) []int {
	var zs []int
	procstat.Each(func(pid int, st procstat.Stat) bool {
		if st.PPid == ppid && st.State == 'Z' {
			zs = append(zs, pid)
		}
		return true
	})
	return zs
}

// environHas reports whether the environment pid started with holds the
// entry kv ("NAME=value"). Unreadable means no: it is not ours to judge.
func environHas(pid int, kv string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for e := range bytes.SplitSeq(b, []byte{0}) {
		if string(e) == kv {
			return true
		}
	}
	return false
}
