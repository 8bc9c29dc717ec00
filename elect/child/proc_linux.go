package child

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// procStat is the part of /proc/PID/stat this package reads.
type procStat struct {
	state   byte // R, S, D, Z, ...
	ppid    int
	pgrp    int
	session int
	// start is the process's start time in clock ticks since boot. A pid
	// and its start time name one process for ever: a reused pid has a
	// later start, which is how this package tells a stranger from ours.
	start uint64
}

func (s procStat) dead() bool { return s.state == 'Z' || s.state == 'X' }

// readStat parses /proc/PID/stat: "pid (comm) state ppid pgrp ...". comm
// may hold spaces and parentheses, so fields are counted after the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat: no ')'", pid)
	}
	f := bytes.Fields(b[i+1:])
	// After ')': state(3) ppid(4) pgrp(5) session(6) ... starttime(22).
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat: too few fields", pid)
	}
	st := procStat{state: f[0][0]}
	if st.ppid, err = strconv.Atoi(string(f[1])); err != nil {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat ppid: %w", pid, err)
	}
	if st.pgrp, err = strconv.Atoi(string(f[2])); err != nil {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat pgrp: %w", pid, err)
	}
	if st.session, err = strconv.Atoi(string(f[3])); err != nil {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat session: %w", pid, err)
	}
	if st.start, err = strconv.ParseUint(string(f[19]), 10, 64); err != nil {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat starttime: %w", pid, err)
	}
	return st, nil
}

// eachProc calls f for every process it can read; processes that vanish
// mid-scan are skipped.
func eachProc(f func(pid int, st procStat) bool) {
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		if !f(pid, st) {
			return
		}
	}
}

// groupHasLiveMember reports whether a process of group pgid is not a zombie.
// Without a readable /proc it assumes so, which only costs Stop its grace.
func groupHasLiveMember(pgid int) bool {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return true
	}
	live := false
	eachProc(func(_ int, st procStat) bool {
		if st.pgrp == pgid && !st.dead() {
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
	eachProc(func(pid int, st procStat) bool {
		if st.ppid == ppid && st.state == 'Z' {
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
