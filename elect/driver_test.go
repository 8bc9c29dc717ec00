package elect

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/elect/leadership"
)

// scriptHost is a host whose tasks run only when a test says, in the order
// it says: the worst interleavings a scheduler can produce, on demand.
type scriptHost struct {
	now     time.Duration
	tasks   []func()
	reports []leadership.Input
}

func (h *scriptHost) mono() time.Duration      { return h.now }
func (h *scriptHost) wall() time.Time          { return simWallEpoch.Add(h.now) }
func (h *scriptHost) spawn(task func())        { h.tasks = append(h.tasks, task) }
func (h *scriptHost) detach(task func())       { h.tasks = append(h.tasks, task) }
func (h *scriptHost) report(in input)          { h.reports = append(h.reports, in.in) }
func (h *scriptHost) sleep(time.Duration) bool { return false }
func (h *scriptHost) setTimer(time.Duration)   {}
func (h *scriptHost) runLastFirst()            { h.run(true) }
func (h *scriptHost) runInOrder()              { h.run(false) }
func (h *scriptHost) run(reverse bool) {
	for len(h.tasks) > 0 {
		batch := h.tasks
		h.tasks = nil
		if reverse {
			slices.Reverse(batch)
		}
		for _, task := range batch {
			task()
		}
	}
}

// worldDisk and worldProcs record what became visible.
type worldDisk struct{ visible, removed int }

func (d *worldDisk) stage(string, []byte) (stagedFile, error) { return diskFile{d}, nil }
func (d *worldDisk) remove(string) error                      { d.removed++; return nil }

type diskFile struct{ d *worldDisk }

func (f diskFile) commit() error { f.d.visible++; return nil }
func (diskFile) discard()        {}
func (diskFile) syncDir()        {}

type worldProcs struct{ started int }

func (p *worldProcs) start([]string, *slog.Logger) (process, error) {
	p.started++
	return stoppedChild{}, nil
}

type stoppedChild struct{}

func (stoppedChild) wait() int                { return 0 }
func (stoppedChild) stop(time.Duration) error { return nil }

type quietSink struct{}

func (quietSink) publish(leadership.Publish)             {}
func (quietSink) count(leadership.MetricName, time.Time) {}
func (quietSink) reachable(error)                        {}
func (quietSink) event(bool, string, string)             {}

// A term that ends before its tasks got to run shows nothing, whatever
// order the scheduler then runs them in: the loop closes the gates the
// moment the machine ends the term, not when the hiding or stopping task
// gets round to it.
func TestEndedTermShowsNothingWhateverTheTaskOrder(t *testing.T) {
	for _, order := range []string{"in order", "last first"} {
		t.Run(order, func(t *testing.T) {
			h := &scriptHost{now: time.Second}
			disk, procs := &worldDisk{}, &worldProcs{}
			cfg := Config{LeaseName: "l", Namespace: "ns", Identity: "me", StatusFile: "/s",
				LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond,
				Grace: 500 * time.Millisecond, Command: []string{"/app"}}
			d := newDriver(cfg, slog.New(slog.DiscardHandler), h, API{}, ports{files: disk, procs: procs, out: quietSink{}})
			for _, e := range []leadership.Effect{
				leadership.ShowFile{Term: 1, Until: 3 * time.Second},
				leadership.StartChild{Term: 1, Until: 3 * time.Second},
				leadership.HideFile{Term: 1},
				leadership.StopChild{Term: 1},
			} {
				d.do(e)
			}
			if order == "in order" {
				h.runInOrder()
			} else {
				h.runLastFirst()
			}
			if disk.visible != 0 || procs.started != 0 {
				t.Fatalf("an ended term showed its file %d times and started its command %d times; reports: %v", disk.visible, procs.started, h.reports)
			}
			want := []leadership.Input{leadership.FileShown{Term: 1, Aborted: true}, leadership.ChildStarted{Term: 1, Aborted: true}}
			for _, w := range want {
				if !slices.Contains(h.reports, w) {
					t.Errorf("no %#v among the reports %v", w, h.reports)
				}
			}
		})
	}
}
