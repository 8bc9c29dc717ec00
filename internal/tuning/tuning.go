// Package tuning chooses the Go runtime's settings for a process that runs
// in a container: a soft memory limit under the container's own, and a GC
// percent and a GOMAXPROCS per mode. GOMEMLIMIT, GOGC and GOMAXPROCS in the
// environment always win, as the runtime documents.
package tuning

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Headroom is the share of the container's memory limit given to the Go
// runtime as its soft limit: the rest is for what the runtime does not
// count (the binary's mapped pages, the kernel's buffers for our sockets)
// before the OOM killer acts.
const Headroom = 0.9

// The cgroup files that hold the container's memory limit: v2, then v1.
const (
	cgroupV2 = "/sys/fs/cgroup/memory.max"
	cgroupV1 = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
)

// Settings are the runtime settings chosen, and why.
type Settings struct {
	// Limit is the soft memory limit to set in bytes; 0 leaves the
	// runtime's (none, or GOMEMLIMIT's).
	Limit int64
	// LimitFrom says where the limit comes from: "GOMEMLIMIT", the cgroup
	// file, or "" for none.
	LimitFrom string
	// GCPercent is the GC percent to set; 0 leaves the runtime's (100, or
	// GOGC's).
	GCPercent int
	// GCFrom is "GOGC" when the environment sets it, else "".
	GCFrom string
	// Procs is the GOMAXPROCS to set; 0 leaves the runtime's (the CPUs
	// the container may use, or GOMAXPROCS's).
	Procs int
	// ProcsFrom is "GOMAXPROCS" when the environment sets it, else "".
	ProcsFrom string
}

// Mode is what a mode asks of the runtime; zero fields leave its defaults.
type Mode struct {
	GCPercent int
	Procs     int
}

// Plan decides the settings from the environment and the cgroup files;
// the mode's choices are used unless GOGC or GOMAXPROCS is set.
func Plan(getenv func(string) string, readFile func(string) ([]byte, error), mode Mode) Settings {
	var s Settings
	if getenv("GOGC") != "" {
		s.GCFrom = "GOGC"
	} else if mode.GCPercent > 0 && mode.GCPercent != 100 {
		s.GCPercent = mode.GCPercent
	}
	if getenv("GOMAXPROCS") != "" {
		s.ProcsFrom = "GOMAXPROCS"
	} else if mode.Procs > 0 {
		s.Procs = mode.Procs
	}
	if getenv("GOMEMLIMIT") != "" {
		s.LimitFrom = "GOMEMLIMIT"
		return s
	}
	for _, path := range []string{cgroupV2, cgroupV1} {
		b, err := readFile(path)
		if err != nil {
			continue
		}
		limit, ok := parseLimit(string(b))
		if !ok {
			return s
		}
		s.Limit, s.LimitFrom = int64(float64(limit)*Headroom), path
		return s
	}
	return s
}

// parseLimit reads a cgroup memory limit; "max" (v2) and v1's page-rounded
// MaxInt64 mean none.
func parseLimit(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	if v == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n >= math.MaxInt64/2 {
		return 0, false
	}
	return n, true
}

// Apply sets s in the runtime.
func Apply(s Settings) {
	if s.Limit > 0 {
		debug.SetMemoryLimit(s.Limit)
	}
	if s.GCPercent > 0 {
		debug.SetGCPercent(s.GCPercent)
	}
	if s.Procs > 0 {
		runtime.GOMAXPROCS(s.Procs)
	}
}

// LogArgs describes s for a debug log line.
func (s Settings) LogArgs() []any {
	limit := "none"
	switch {
	case s.Limit > 0:
		limit = fmt.Sprintf("%d MiB (%.0f%% of %s)", s.Limit>>20, Headroom*100, s.LimitFrom)
	case s.LimitFrom != "":
		limit = "from " + s.LimitFrom
	}
	gc := describe(s.GCPercent, s.GCFrom, "100 (Go's default)")
	procs := describe(s.Procs, s.ProcsFrom, "the runtime's")
	return []any{"memoryLimit", limit, "gcPercent", gc, "maxProcs", procs}
}

// describe says where a setting comes from: the environment variable that
// sets it, the value we set, or the runtime's default.
func describe(set int, from, dflt string) string {
	switch {
	case from != "":
		return "from " + from
	case set > 0:
		return strconv.Itoa(set)
	}
	return dflt
}
