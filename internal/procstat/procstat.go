// Package procstat reads processes from /proc: the fields of
// /proc/PID/stat (one parser, for exec mode's process tree, the benches and
// the tests' "is it still alive"), a scan of every process, and memory and
// CPU time, for the bench harnesses that compare leader-elector with
// client-go and kubectl and for the sidecar's metrics. Linux only:
// elsewhere every call returns an error (Each finds nothing).
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// Stat is the part of /proc/PID/stat that we read.
type Stat struct {
	State   byte // R, S, D, Z, ...
	PPid    int
	Pgrp    int
	Session int
	// UTime and STime are the CPU time spent in user and kernel mode, in
	// clock ticks.
	UTime, STime uint64
	// Start is the process's start time in clock ticks since boot. A pid
	// and its start time name one process for ever: a reused pid has a
	// later start.
	Start uint64
}

// Dead reports whether the process has ended and waits only to be reaped
// (a zombie) or is being removed.
func (s Stat) Dead() bool { return s.State == 'Z' || s.State == 'X' }

// Read reads and parses /proc/PID/stat.
func Read(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	return parse(pid, b)
}

// parse parses b, pid's /proc/PID/stat: "pid (comm) state ppid pgrp ...".
// comm may hold spaces and parentheses, so fields are counted after the
// last ')'.
func parse(pid int, b []byte) (Stat, error) {
	var err error
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("parsing /proc/%d/stat: no ')'", pid)
	}
	f := bytes.Fields(b[i+1:])
	// After ')': state(3) ppid(4) pgrp(5) session(6) ... utime(14)
	// stime(15) ... starttime(22).
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("parsing /proc/%d/stat: too few fields", pid)
	}
	st := Stat{State: f[0][0]}
	for _, n := range []struct {
		name  string
		field int
		int   *int
		uint  *uint64
	}{
		{"ppid", 1, &st.PPid, nil},
		{"pgrp", 2, &st.Pgrp, nil},
		{"session", 3, &st.Session, nil},
		{"utime", 11, nil, &st.UTime},
		{"stime", 12, nil, &st.STime},
		{"starttime", 19, nil, &st.Start},
	} {
		if n.int != nil {
			*n.int, err = strconv.Atoi(string(f[n.field]))
		} else {
			*n.uint, err = strconv.ParseUint(string(f[n.field]), 10, 64)
		}
		if err != nil {
			return Stat{}, fmt.Errorf("parsing /proc/%d/stat %s: %w", pid, n.name, err)
		}
	}
	return st, nil
}

// Alive reports whether pid names a running process: one that exists and
// is not dead (see Stat.Dead) waiting to be reaped.
func Alive(pid int) bool {
	st, err := Read(pid)
	return err == nil && !st.Dead()
}

// Each calls f for every process it can read, until f returns false;
// processes that vanish mid-scan are skipped.
func Each(f func(pid int, st Stat) bool) {
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
		st, err := Read(pid)
		if err != nil {
			continue
		}
		if !f(pid, st) {
			return
		}
	}
}

// CPUSeconds returns the user plus system CPU time pid has used.
func CPUSeconds(pid int) (float64, error) {
	st, err := Read(pid)
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of %d: %w", pid, err)
	}
	return float64(st.UTime+st.STime) / clockTicks, nil
}

// RSSMiB returns pid's resident set size (VmRSS) in MiB.
func RSSMiB(pid int) (float64, error) { return statusMiB(pid, "VmRSS:") }

// AnonMiB returns the anonymous part of pid's resident set (RssAnon): heap,
// stacks and runtime, where the rest is file pages (the binary).
func AnonMiB(pid int) (float64, error) { return statusMiB(pid, "RssAnon:") }

// PeakRSSMiB returns the highest resident set size pid has had (VmHWM).
func PeakRSSMiB(pid int) (float64, error) { return statusMiB(pid, "VmHWM:") }

func statusMiB(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the memory of %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("reading the memory of %d: %s %q: %w", pid, field, rest, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("reading the memory of %d: no %s in /proc/%d/status", pid, field, pid)
}

// StartTime returns when pid started, from its start in clock ticks after
// boot (/proc/PID/stat) and the boot time (/proc/stat's btime).
func StartTime(pid int) (time.Time, error) {
	ps, err := Read(pid)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the start time of %d: %w", pid, err)
	}
	ticks := float64(ps.Start)
	st, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the boot time: %w", err)
	}
	for line := range strings.SplitSeq(string(st), "\n") {
		if rest, ok := strings.CutPrefix(line, "btime "); ok {
			boot, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("reading the boot time: btime %q: %w", rest, err)
			}
			return time.Unix(boot, 0).Add(time.Duration(ticks / clockTicks * float64(time.Second))), nil
		}
	}
	return time.Time{}, fmt.Errorf("reading the boot time: no btime in /proc/stat")
}
