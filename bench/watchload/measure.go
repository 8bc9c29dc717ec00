package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/leader-elector/leader-elector/internal/procstat"
)

// watcherProc is one watcher under measurement; its stdout is counted line
// by line (one line per event for both tools).
type watcherProc struct {
	name          string
	cmd           *exec.Cmd
	syncedMarker  string // a line containing this means the initial list is done
	syncedMarkers int    // this many such lines (one per context; 0 means 1)
	syncedLines   int    // or: this many lines mean it

	lines      atomic.Int64
	synced     chan struct{}
	stderr     bytes.Buffer
	stderrCopy io.Writer // also gets stderr when set
}

func (w *watcherProc) start() error {
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	w.cmd.Stderr = &w.stderr
	if w.stderrCopy != nil {
		w.cmd.Stderr = io.MultiWriter(&w.stderr, w.stderrCopy)
	}
	w.synced = make(chan struct{})
	if err := w.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", w.name, err)
	}
	go w.count(out)
	return nil
}

func (w *watcherProc) count(out io.Reader) {
	r := bufio.NewReaderSize(out, 1<<20)
	done := false
	markers := 0
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 && err != bufio.ErrBufferFull {
			n := w.lines.Add(1)
			if !done && w.syncedMarker != "" && bytes.Contains(line, []byte(w.syncedMarker)) {
				markers++
			}
			if !done && (w.syncedMarker != "" && markers >= max(1, w.syncedMarkers) || w.syncedLines > 0 && n >= int64(w.syncedLines)) {
				done = true
				close(w.synced)
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

func (w *watcherProc) waitSynced(ctx context.Context, timeout time.Duration) error {
	select {
	case <-w.synced:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s did not list the Leases within %s; stderr: %s", w.name, timeout, strings.TrimSpace(w.stderr.String()))
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *watcherProc) stop() {
	if w.cmd.Process != nil {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		_ = w.cmd.Wait()
	}
}

// sample is a process's counters at one instant.
type sample struct {
	cpu      time.Duration
	rssKB    int64
	hwmKB    int64
	anonKB   int64 // of rssKB: heap, stacks, runtime (the rest is file pages: the binary)
	lines    int64
	sampleAt time.Time
}

func (w *watcherProc) sample() sample {
	pid := w.cmd.Process.Pid
	s := sample{cpu: cpuOf(pid), lines: w.lines.Load(), sampleAt: time.Now()}
	s.rssKB, s.hwmKB, s.anonKB = procMem(pid)
	return s
}

// cpuOf is pid's CPU time so far; 0 once it has gone.
func cpuOf(pid int) time.Duration {
	secs, err := procstat.CPUSeconds(pid)
	if err != nil {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

func selfCPU() time.Duration { return cpuOf(os.Getpid()) }

// procMem reads VmRSS, VmHWM (peak RSS) and RssAnon in kB; 0 once pid has
// gone.
func procMem(pid int) (rss, hwm, anon int64) {
	kb := func(mib float64, err error) int64 {
		if err != nil {
			return 0
		}
		return int64(mib * 1024)
	}
	return kb(procstat.RSSMiB(pid)), kb(procstat.PeakRSSMiB(pid)), kb(procstat.AnonMiB(pid))
}

// printTable prints each watcher's figures over the window and, when two
// ran, the second's over the first's, or ours over kubectl's (ratio names
// the line).
func printTable(out io.Writer, ws []*watcherProc, before, after []sample, elapsed time.Duration, ratio string) {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "watcher\tupdates/s\tCPU s/1,000 updates\tCPU % of a core\tRSS MB\tof which anon MB\tpeak RSS MB\t")
	type fig struct{ rate, per1k, pct, rss, anon, hwm float64 }
	figs := make([]fig, len(ws))
	for i, w := range ws {
		lines := float64(after[i].lines - before[i].lines)
		cpu := (after[i].cpu - before[i].cpu).Seconds()
		f := fig{
			rate:  lines / elapsed.Seconds(),
			per1k: 1000 * cpu / max(lines, 1),
			pct:   100 * cpu / elapsed.Seconds(),
			rss:   float64(after[i].rssKB) / 1024,
			hwm:   float64(after[i].hwmKB) / 1024,
			anon:  float64(after[i].anonKB) / 1024,
		}
		figs[i] = f
		fmt.Fprintf(tw, "%s\t%.0f\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", w.name, f.rate, f.per1k, f.pct, f.rss, f.anon, f.hwm)
	}
	if len(ws) == 2 {
		o, k := figs[0], figs[1]
		if strings.Contains(ratio, "contexts") {
			o, k = figs[1], figs[0] // both contexts over one
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n",
			ratio, o.rate/k.rate, o.per1k/k.per1k, o.pct/k.pct, o.rss/k.rss, o.anon/k.anon, o.hwm/k.hwm)
		if strings.Contains(ratio, "kubectl") {
			_ = tw.Flush()
			printGoals(out, o.rss/k.rss, o.pct/k.pct)
			return
		}
	}
	_ = tw.Flush()
}

// Issue 12's goals for the dashboard against kubectl on the same stream.
const (
	goalRSSRatio = 0.7
	goalCPURatio = 0.5
)

// printGoals prints the goals MET or MISSED from ours over kubectl's RSS at
// the end of the window and CPU over it.
func printGoals(out io.Writer, rss, cpu float64) {
	fmt.Fprintln(out, "\ngoals (issue 12):")
	for _, g := range []struct {
		what        string
		ratio, goal float64
	}{{"RSS", rss, goalRSSRatio}, {"CPU", cpu, goalCPURatio}} {
		mark := "MET   "
		if g.ratio > g.goal {
			mark = "MISSED"
		}
		fmt.Fprintf(out, "  %s %s %.2fx kubectl's <= %.1fx\n", mark, g.what, g.ratio, g.goal)
	}
}
