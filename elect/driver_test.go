package elect

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/leader-elector/leader-elector/elect/leadership"
)

// scriptHost is a host whose tasks run only when a test says, in the order
// it says: the worst interleavings a scheduler can produce, on demand.
type scriptHost struct {
	now     time.Duration
	tasks   []func()
	reports []leadership.Input
}

func (h *scriptHost) mono() time.Duration        { return h.now }
func (h *scriptHost) wall() time.Time            { return simWallEpoch.Add(h.now) }
func (h *scriptHost) spawn(task func())          { h.tasks = append(h.tasks, task) }
func (h *scriptHost) report(in leadership.Input) { h.reports = append(h.reports, in) }
func (h *scriptHost) setTimer(time.Duration)     {}
func (h *scriptHost) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
func (h *scriptHost) runLastFirst() { h.run(true) }
func (h *scriptHost) runInOrder()   { h.run(false) }

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

type worldProcs struct {
	started int
	env     [][]string // each start's added environment
}

func (p *worldProcs) start(_, env []string, _ *slog.Logger) (process, error) {
	p.started++
	p.env = append(p.env, env)
	return stoppedChild{}, nil
}

type stoppedChild struct{}

func (stoppedChild) wait() (int, bool)        { return 0, true }
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

// The command of a term gets the term's fencing token in its environment,
// and only that on top of the sidecar's own.
func TestChildGetsTheTermsToken(t *testing.T) {
	h := &scriptHost{now: time.Second}
	procs := &worldProcs{}
	cfg := Config{LeaseName: "l", Namespace: "ns", Identity: "me", StatusFile: "/s",
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond,
		Grace: 500 * time.Millisecond, Command: []string{"/app"}}
	d := newDriver(cfg, slog.New(slog.DiscardHandler), h, API{}, ports{files: &worldDisk{}, procs: procs, out: quietSink{}})
	d.do(leadership.StartChild{Term: 1, Until: 3 * time.Second, Token: 18446744073709551615})
	h.runInOrder()
	want := [][]string{{"LEADER_ELECTOR_TOKEN=18446744073709551615"}}
	if !slices.EqualFunc(procs.env, want, slices.Equal) {
		t.Errorf("the command was started with the added environment %q, want %q", procs.env, want)
	}
}

// podsOnRecord is a Pod client that keeps the labelled Pods and records
// every patch.
type podsOnRecord struct {
	labelled map[string]bool
	patches  []string
}

func (p *podsOnRecord) Get(context.Context, string, metav1.GetOptions, ...string) (*metav1.PartialObjectMetadata, error) {
	return nil, errors.New("not used")
}

func (p *podsOnRecord) List(context.Context, metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
	l := &metav1.PartialObjectMetadataList{}
	for name := range p.labelled {
		l.Items = append(l.Items, metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	return l, nil
}

func (p *podsOnRecord) Patch(_ context.Context, name string, _ types.PatchType, data []byte, _ metav1.PatchOptions, _ ...string) (*metav1.PartialObjectMetadata, error) {
	p.patches = append(p.patches, name+" "+string(data))
	if string(data) == string(labelPatch("role", nil)) {
		delete(p.labelled, name)
	} else {
		p.labelled[name] = true
	}
	return &metav1.PartialObjectMetadata{}, nil
}

func labelDriver(h *scriptHost, pods *podsOnRecord) *driver {
	cfg := Config{LeaseName: "l", Namespace: "ns", Identity: "me", PodName: "me", StatusFile: "/s", LeaderLabel: "role=leader",
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond}
	return newDriver(cfg, slog.New(slog.DiscardHandler), h, API{Pods: pods}, ports{files: &worldDisk{}, procs: &worldProcs{}, out: quietSink{}})
}

// A term that ends before its labelling ran never labels: the loop closes
// the label's gate at once.
func TestEndedTermNeverLabels(t *testing.T) {
	h := &scriptHost{now: time.Second}
	pods := &podsOnRecord{labelled: map[string]bool{}}
	d := labelDriver(h, pods)
	d.do(leadership.LabelPod{Term: 1, Until: 3 * time.Second})
	d.do(leadership.UnlabelPod{Term: 1})
	h.runInOrder()
	for _, p := range pods.patches {
		if strings.Contains(p, `"leader"`) {
			t.Fatalf("an ended term put the label on its Pod: %v", pods.patches)
		}
	}
}

// An ended term's removal that comes after a later term asked for the label
// (a retry the machine asked for just before that term began) leaves the
// label on: the later term owns it.
func TestLateUnlabelLeavesALaterTermsLabel(t *testing.T) {
	h := &scriptHost{now: time.Second}
	pods := &podsOnRecord{labelled: map[string]bool{}}
	d := labelDriver(h, pods)
	d.do(leadership.LabelPod{Term: 2, Until: 3 * time.Second})
	d.do(leadership.UnlabelPod{Term: 1})
	h.runInOrder()
	if !pods.labelled["me"] {
		t.Fatalf("term 1's removal took term 2's label off; patches: %v", pods.patches)
	}
}
