package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/leader-elector/leader-elector/watch"
)

// countingModel counts frames (View calls) of the real model.
type countingModel struct {
	*model
	frames *atomic.Int64
}

func (c countingModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := c.model.Update(msg)
	return c, cmd
}

func (c countingModel) View() string {
	c.frames.Add(1)
	return c.model.View()
}

// BenchmarkDashboardStream is the harness for the goal: the real
// program (channel reader, pacing, Bubble Tea's renderer writing frames)
// on 5,000 Leases renewed 500 times a second for 10 s, at 160x48. It
// reports the process's CPU per second of stream and per 1,000 updates, the
// frames drawn and the RSS, next to a baseline in the same run that only
// prints each event's name (what `kubectl get lease -w -o name` does with
// an update once decoded). Both exclude the watch (informer, decoding),
// measured by watch's own harness. Run it with
//
//	go test ./tui -run '^$' -bench DashboardStream -benchtime 1x
func BenchmarkDashboardStream(b *testing.B) {
	const (
		leases   = 5000
		rate     = 500 // updates per second
		duration = 10 * time.Second
	)
	ls := benchLeases(leases)
	feed := func(ctx context.Context, ch chan<- watch.Event) int {
		for i := range ls {
			ch <- added(ls[i])
		}
		ch <- watch.Event{Type: watch.EventSynced, Time: time.Now()}
		tick := time.NewTicker(10 * time.Millisecond) // 5 renewals per 10 ms
		defer tick.Stop()
		sent := 0
		end := time.Now().Add(duration)
		for time.Now().Before(end) {
			<-tick.C
			for range rate / 100 {
				l := &ls[sent%leases]
				now := time.Now()
				l.RenewTime, l.Observed, l.ExpiresAt = now, now, now.Add(15*time.Second)
				l.Renewals = append(l.Renewals[len(l.Renewals)-6:], now)
				ch <- watch.Event{Type: watch.EventRenewed, Time: now, Lease: *l}
				sent++
			}
		}
		return sent
	}
	measure := func(name string, run func(ctx context.Context, ch chan watch.Event) func() int64) {
		ch := make(chan watch.Event, 1024)
		ctx, cancel := context.WithCancel(context.Background())
		stop := run(ctx, ch)
		before := cpuTime()
		start := time.Now()
		sent := feed(ctx, ch)
		elapsed := time.Since(start)
		cpu := cpuTime() - before
		frames := stop()
		cancel()
		b.ReportMetric(float64(cpu.Milliseconds())/elapsed.Seconds()/10, name+"-cpu-%core")
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(sent)*1000, name+"-cpu-ms/1000upd")
		if frames >= 0 {
			b.ReportMetric(float64(frames)/elapsed.Seconds(), name+"-frames/s")
		}
	}
	for b.Loop() {
		measure("baseline", func(ctx context.Context, ch chan watch.Event) func() int64 {
			done := make(chan struct{})
			go func() {
				defer close(done)
				w := io.Discard
				for {
					select {
					case ev := <-ch:
						fmt.Fprintf(w, "lease.coordination.k8s.io/%s\n", ev.Lease.Name)
					case <-ctx.Done():
						return
					}
				}
			}()
			return func() int64 { return -1 }
		})
		measure("dashboard", func(ctx context.Context, ch chan watch.Event) func() int64 {
			frames := &atomic.Int64{}
			out := &discardCounter{}
			r := lipgloss.NewRenderer(io.Discard)
			r.SetColorProfile(termenv.ANSI256) // draw in colour, as on a terminal
			m := newModel(newSource(ch), Options{AllNamespaces: true}, r)
			p := tea.NewProgram(countingModel{m, frames}, append(programOptions(ctx, out), tea.WithInput(nil))...)
			done := make(chan struct{})
			go func() { defer close(done); _, _ = p.Run() }()
			p.Send(tea.WindowSizeMsg{Width: 160, Height: 48})
			return func() int64 {
				p.Quit()
				<-done
				b.ReportMetric(float64(out.n.Load())/1024/duration.Seconds(), "dashboard-KiB-written/s")
				return frames.Load()
			}
		})
	}
	b.ReportMetric(rssMB(), "rss-MB")
}

// discardCounter drops what the renderer writes, counting the bytes a
// terminal would have had to draw.
type discardCounter struct{ n atomic.Int64 }

func (d *discardCounter) Write(p []byte) (int, error) {
	d.n.Add(int64(len(p)))
	return len(p), nil
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMB is the process's resident set, from /proc/self/status.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
