package tuie2e

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/tui"
	"github.com/leader-elector/leader-elector/watch"
)

// body is a frame without its status line and footer, the two lines in
// which a replay differs on purpose (its clock; its keys).
func body(view string) string {
	lines := strings.Split(view, "\n")
	return strings.Join(lines[1:len(lines)-1], "\n")
}

// TestReplayFidelity watches two real control planes at once into the
// dashboard while recording, as `watch --record` does, with renewals and a
// handover in each cluster. Then it replays the recording and, at every
// instant a live frame was drawn, seeks the replay there: the frames must
// be the same. An instant at which an event was already recorded but not
// yet on the live screen (in flight) cannot be compared and is skipped;
// most are compared.
func TestReplayFidelity(t *testing.T) {
	sctx, cancelStart := context.WithTimeout(context.Background(), 2*time.Minute)
	cp2, err := controlplane.Start(sctx, controlplane.Options{})
	cancelStart()
	if err != nil {
		t.Fatalf("starting the second control plane: %v", err)
	}
	defer cp2.Stop()
	ns := cp.Namespace(t)
	eu, us := cp.Client(t, cp.Admin), cp2.Client(t, cp2.Admin)
	if _, err := us.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A holder renewing every 300 ms, and a rival taking over once.
	var wg sync.WaitGroup
	defer wg.Wait()
	renew := func(cs kubernetes.Interface, name string, holders ...string) {
		leases := cs.CoordinationV1().Leases(ns)
		now := metav1.NewMicroTime(time.Now())
		l, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holders[0]), LeaseDurationSeconds: ptr.To[int32](3),
				AcquireTime: &now, RenewTime: &now, LeaseTransitions: ptr.To[int32](0)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating lease %s: %v", name, err)
		}
		wg.Go(func() {
			for i := 1; i <= 16 && ctx.Err() == nil; i++ {
				time.Sleep(300 * time.Millisecond)
				now := metav1.NewMicroTime(time.Now())
				if i == 8 { // a handover with a gap
					l.Spec.HolderIdentity, l.Spec.AcquireTime = ptr.To(holders[1]), &now
					l.Spec.LeaseTransitions = ptr.To[int32](1)
				}
				l.Spec.RenewTime = &now
				if l, err = leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
					t.Errorf("renewing lease %s: %v", name, err)
					return
				}
			}
		})
	}

	fleet := watch.NewFleet(
		watch.New(watchAPI(t, cp.Admin, ns), watch.Options{Context: "eu", Namespace: ns}),
		watch.New(watchAPI(t, cp2.Admin, ns), watch.Options{Context: "us", Namespace: ns}))
	go func() { _ = fleet.Run(ctx) }()
	var file bytes.Buffer
	w, err := watch.NewRecorder(&file, watch.RecordingHeader{Version: "test", Contexts: []string{"eu", "us"}, Namespace: ns, Start: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	recorded, _ := w.Tee(ctx, fleet.Events())
	// The renewals start once both contexts are synced: noted on the way
	// to the live screen, which reads its channel as Run does.
	var synced sync.Map
	events := make(chan watch.Event)
	go func() {
		defer close(events)
		for ev := range recorded {
			if ev.Type == watch.EventSynced {
				synced.Store(ev.Context, true)
			}
			events <- ev
		}
	}()
	bothSynced := func() bool {
		_, eu := synced.Load("eu")
		_, us := synced.Load("us")
		return eu && us
	}

	// Both screens on the same fixed clock: only the events move them.
	opts := func(replay *tui.Replay) tui.Options {
		return tui.Options{Namespace: ns, Contexts: []string{"eu", "us"}, Replay: replay,
			Clock: clocktesting.NewFakePassiveClock(time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC))}
	}
	live := tui.NewScreen(events, opts(nil), 140, 30)
	type frame struct {
		at      time.Time
		applied int // events on screen
		body    string
	}
	var frames []frame
	applied := 0
	started := false
	for {
		n, open := live.Next()
		if n > 0 {
			applied += n
			frames = append(frames, frame{live.Now(), applied, body(live.View())})
		}
		if !started && bothSynced() {
			started = true
			renew(eu, "scheduler", "eu-sched-a", "eu-sched-b")
			renew(us, "scheduler", "us-sched-a", "us-sched-b")
			go func() { wg.Wait(); time.Sleep(500 * time.Millisecond); cancel() }()
		}
		if !open {
			break
		}
	}
	last := frames[len(frames)-1].body
	for _, want := range []string{"eu-sched-a -> eu-sched-b", "us-sched-a -> us-sched-b", "TRANSITIONS (newest first)  2\n"} {
		if !strings.Contains(last, want) {
			t.Fatalf("the live screen lacks %q, want one handover per cluster:\n%s", want, last)
		}
	}

	rec, err := watch.ReadRecording(&file)
	if err != nil || rec.Damage != nil {
		t.Fatalf("reading the recording: %v %v", err, rec.Damage)
	}
	compared := 0
	for _, f := range frames {
		if f.applied < len(rec.Events) && !rec.Events[f.applied].Time.After(f.at) {
			continue // an event of this instant was still in flight to the live screen
		}
		replay := tui.NewScreen(nil, opts(&tui.Replay{Events: rec.Events, Start: rec.Header.Start, Speed: 1}), 140, 30)
		replay.Seek(f.at)
		if got := body(replay.View()); got != f.body {
			t.Errorf("at %s (%d events) the replay shows:\n%s\nlive showed:\n%s", f.at.Format(time.StampMicro), f.applied, got, f.body)
			break
		}
		compared++
	}
	t.Logf("%d of %d live frames compared with the replay (%d events recorded)", compared, len(frames), len(rec.Events))
	if compared < len(frames)/2 || compared < 10 {
		t.Errorf("only %d of %d frames could be compared", compared, len(frames))
	}
}
