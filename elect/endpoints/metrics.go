package endpoints

import (
	"bufio"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/leader-elector/leader-elector/internal/procstat"
)

// Metrics are the sidecar's Prometheus metrics. They are written in the
// text exposition format by a few lines of our own rather than by
// client_golang, which with its protobuf runtime was a tenth of the
// binary, and so of the resident memory of every replica. Each Server has
// its own, so tests and several Servers in one process never collide.
// Methods are safe for concurrent use.
type Metrics struct {
	clock      clock.PassiveClock
	leaseName  string
	logDropped func() uint64 // never nil

	mu          sync.Mutex
	leading     bool
	sharded     bool
	owned       int // shards acted for, with sharded
	transitions uint64
	renewErrors uint64
	collisions  uint64
	lastRenew   time.Time
}

func newMetrics(leaseName string, clk clock.PassiveClock, logDropped func() uint64) *Metrics {
	if logDropped == nil {
		logDropped = func() uint64 { return 0 }
	}
	return &Metrics{clock: clk, leaseName: leaseName, logDropped: logDropped}
}

// published follows a state Publish took; the hub calls it in publish
// order. A term that begins (leading after not leading, or a new Term)
// counts one transition.
func (m *Metrics) published(prev, next LeaderInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if next.IsLeader && (!m.leading || next.Term != prev.Term) {
		m.transitions++
	}
	m.leading = next.IsLeader
	m.sharded, m.owned = next.Sharded, len(next.Shards)
}

// RenewSucceeded records a successful renewal; at is when it happened, as
// read from the same clock the Server was given.
func (m *Metrics) RenewSucceeded(at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if at.After(m.lastRenew) {
		m.lastRenew = at
	}
}

// RenewFailed counts a failed attempt to renew or acquire the Lease.
func (m *Metrics) RenewFailed() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.renewErrors++
}

// Collision counts a detected identity collision.
func (m *Metrics) Collision() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.collisions++
}

// family is one metric: its name, help, type and samples.
type family struct {
	name, help, typ string
	samples         []sample
}

type sample struct {
	labels string // rendered: `{name="demo"}`, or ""
	value  float64
}

func one(name, help, typ string, v float64) family {
	return family{name: name, help: help, typ: typ, samples: []sample{{value: v}}}
}

// leaderFamilies are the election's own metrics, read under the lock.
func (m *Metrics) leaderFamilies() []family {
	dropped := m.logDropped() // an atomic read: outside the lock all the same
	m.mu.Lock()
	defer m.mu.Unlock()
	status := 0.0
	if m.leading {
		status = 1
	}
	last, since := 0.0, math.NaN()
	if !m.lastRenew.IsZero() {
		last = float64(m.lastRenew.UnixNano()) / 1e9
		since = m.clock.Since(m.lastRenew).Seconds()
	}
	fs := []family{
		// Same name, help and label as client-go's (component-base) metric,
		// so dashboards and alerts written for controllers work unchanged.
		{name: "leader_election_master_status", typ: "gauge",
			help:    "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
			samples: []sample{{labels: `{name="` + escapeLabel(m.leaseName) + `"}`, value: status}}},
		one("leader_elector_transitions_total", "Times this replica acquired leadership.", "counter", float64(m.transitions)),
		one("leader_elector_renew_errors_total", "Failed attempts to renew or acquire the Lease.", "counter", float64(m.renewErrors)),
		one("leader_elector_identity_collisions_total", "Writes to the Lease under this replica's identity that this process did not make: another live replica uses the same identity.", "counter", float64(m.collisions)),
		one("leader_elector_last_renew_timestamp_seconds", "Unix time of this replica's last successful renewal of the Lease; 0 if it never renewed.", "gauge", last),
		one("leader_elector_seconds_since_last_renew", "Seconds since this replica's last successful renewal of the Lease; NaN if it never renewed.", "gauge", since),
		one("leader_elector_log_lines_dropped_total", "Log lines dropped because the log's reader fell behind (a stalled container log, a paused terminal): the sidecar queues its log and never waits for it.", "counter", float64(dropped)),
	}
	if m.sharded {
		fs = append(fs, family{name: "leader_election_shards_owned", typ: "gauge",
			help:    "Shards of the group 'name' this replica acts for now (--shards).",
			samples: []sample{{labels: `{name="` + escapeLabel(m.leaseName) + `"}`, value: float64(m.owned)}}})
	}
	return fs
}

// runtimeFamilies are the usual go_* and process_* metrics, with
// client_golang's names and meanings, so the dashboards people already
// have for Go processes work.
func runtimeFamilies() []family {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/sched/gomaxprocs:threads"},
	}
	metrics.Read(samples)
	value := func(i int) float64 {
		switch v := samples[i].Value; v.Kind() {
		case metrics.KindUint64:
			return float64(v.Uint64())
		case metrics.KindFloat64:
			return v.Float64()
		}
		return math.NaN()
	}
	threads, _ := runtime.ThreadCreateProfile(nil)
	fs := []family{
		one("go_goroutines", "Number of goroutines that currently exist.", "gauge", float64(runtime.NumGoroutine())),
		one("go_threads", "Number of OS threads created.", "gauge", float64(threads)),
		one("go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use.", "gauge", value(0)),
		one("go_memstats_sys_bytes", "Number of bytes obtained from system.", "gauge", value(1)),
		one("go_gc_heap_goal_bytes", "Heap size target for the end of the GC cycle.", "gauge", value(2)),
		one("go_gc_cycles_total", "Count of all completed GC cycles.", "counter", value(3)),
		one("go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting.", "gauge", value(4)),
		{name: "go_info", help: "Information about the Go environment.", typ: "gauge",
			samples: []sample{{labels: `{version="` + escapeLabel(runtime.Version()) + `"}`, value: 1}}},
	}
	pid := os.Getpid()
	if cpu, err := procstat.CPUSeconds(pid); err == nil {
		fs = append(fs, one("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", cpu))
	}
	if rss, err := procstat.RSSMiB(pid); err == nil {
		fs = append(fs, one("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", rss*(1<<20)))
	}
	if start, err := procstat.StartTime(pid); err == nil {
		fs = append(fs, one("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", float64(start.UnixNano())/1e9))
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		fs = append(fs, one("process_open_fds", "Number of open file descriptors.", "gauge", float64(len(fds))))
	}
	return fs
}

func (m *Metrics) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		bw := bufio.NewWriter(w)
		for _, f := range append(m.leaderFamilies(), runtimeFamilies()...) {
			writeFamily(bw, f)
		}
		_ = bw.Flush()
	})
}

// writeFamily writes f in the text exposition format (version 0.0.4).
func writeFamily(w *bufio.Writer, f family) {
	w.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
	w.WriteString("# TYPE " + f.name + " " + f.typ + "\n")
	for _, s := range f.samples {
		w.WriteString(f.name + s.labels + " " + formatValue(s.value) + "\n")
	}
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }
