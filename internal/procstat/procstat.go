// Package procstat reads a process's memory and CPU time from /proc, for the
// bench harnesses that compare leader-elector with client-go and kubectl.
// Linux only: elsewhere every call returns an error.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// CPUSeconds returns the user plus system CPU time pid has used.
func CPUSeconds(pid int) (float64, error) {
	// utime and stime are the 12th and 13th fields after the name.
	f, err := statFields(pid, 13)
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of %d: %w", pid, err)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("reading the CPU time of %d: utime %q, stime %q", pid, f[11], f[12])
	}
	return (utime + stime) / clockTicks, nil
}

// statFields returns the fields of /proc/PID/stat after the command name,
// which is in parentheses and may hold spaces; at least n of them.
func statFields(pid, n int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < n {
		return nil, fmt.Errorf("/proc/%d/stat has %d fields after the name, want %d", pid, len(f), n)
	}
	return f, nil
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
	// starttime is the 20th field after the name.
	f, err := statFields(pid, 20)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the start time of %d: %w", pid, err)
	}
	ticks, err := strconv.ParseFloat(f[19], 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the start time of %d: starttime %q: %w", pid, f[19], err)
	}
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
