package tui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
	"unsafe"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/watch"
)

// descheduled is what time.Now returns when its thread is descheduled for d
// between its two reads, of the wall clock (at at) and then of the
// monotonic clock: a time whose monotonic reading is d ahead of its wall
// clock. time.Now has no way to ask for one, so the test writes the
// reading into at, which must have one (from time.Now).
func descheduled(t *testing.T, at time.Time, d time.Duration) time.Time {
	t.Helper()
	type layout struct { // time.Time's
		wall uint64
		ext  int64 // the monotonic reading, when the wall's top bit is set
		loc  *time.Location
	}
	late := at
	if unsafe.Sizeof(late) != unsafe.Sizeof(layout{}) {
		t.Fatal("time.Time changed layout: fix descheduled")
	}
	(*layout)(unsafe.Pointer(&late)).ext += int64(d)
	if late.Sub(at) != d || !late.Round(0).Equal(at.Round(0)) {
		t.Fatalf("time.Time changed layout: fix descheduled (monotonic %v, wall %v apart)", late.Sub(at), late.Round(0).Sub(at.Round(0)))
	}
	return late
}

// TestLiveThroughTeeEqualsReplay is the fidelity check of e2e/tuie2e
// (TestReplayFidelity) without an API server, on the race it once lost:
// two contexts renew at about the same instant and the eu watcher's
// time.Now is descheduled between its two clock reads, so its renewal is
// 1 ms before the us one by the wall clock, which the recording holds, and
// 4 ms after it by the monotonic clock, by which Go compares two times
// from time.Now. The live clock then stayed at the eu renewal after the us
// one was applied, and the replay seeked there had not applied the us
// renewal yet ("0.3s ago" against "0.0s ago"). A live screen fed through
// Tee must be, at every frame, what the replay shows when seeked to that
// frame's clock.
func TestLiveThroughTeeEqualsReplay(t *testing.T) {
	base := time.Now()
	lease := func(holder string, renewed time.Time) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "scheduler"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To[int32](3),
				AcquireTime: &metav1.MicroTime{Time: base.Add(-time.Minute)}, RenewTime: &metav1.MicroTime{Time: renewed}},
		}
	}
	in := make(chan watch.Event, 16)
	send := func(ctx string, evs ...watch.Event) {
		for _, ev := range evs {
			ev.Context = ctx
			in <- ev
		}
	}
	eu, us := watch.NewModel(0, 0, 0), watch.NewModel(0, 0, 0)
	send("eu", eu.Replace(nil, []*coordinationv1.Lease{lease("eu-a", base.Add(-time.Second))}, base)...)
	send("eu", watch.Event{Type: watch.EventSynced, Time: base})
	send("us", us.Replace(nil, []*coordinationv1.Lease{lease("us-a", base.Add(-time.Second))}, base.Add(time.Millisecond))...)
	send("us", watch.Event{Type: watch.EventSynced, Time: base.Add(time.Millisecond)})
	send("eu", eu.Apply(nil, lease("eu-a", base.Add(300*time.Millisecond)), descheduled(t, base.Add(299*time.Millisecond), 5*time.Millisecond))...)
	send("us", us.Apply(nil, lease("us-a", base.Add(300*time.Millisecond)), base.Add(300*time.Millisecond))...)
	close(in)

	var file bytes.Buffer
	w, err := watch.NewRecorder(&file, watch.RecordingHeader{Version: "test", Contexts: []string{"eu", "us"}, Namespace: "default", Start: base.Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := w.Tee(context.Background(), in)
	opts := func(replay *Replay) Options {
		return Options{Namespace: "default", Contexts: []string{"eu", "us"}, Replay: replay,
			Clock: clocktesting.NewFakePassiveClock(base.Round(0).Add(-time.Hour))}
	}
	body := func(view string) string { // without the status line and footer
		lines := strings.Split(view, "\n")
		return strings.Join(lines[1:len(lines)-1], "\n")
	}
	live := NewScreen(nil, opts(nil), 140, 30)
	type frame struct {
		at      time.Time
		applied int
		body    string
	}
	var frames []frame
	for ev := range out { // one event per frame: every instant is drawn
		live.Apply(ev)
		frames = append(frames, frame{live.Now(), len(frames) + 1, body(live.View())})
	}
	rec, err := watch.ReadRecording(&file)
	if err != nil || rec.Damage != nil || len(rec.Events) != len(frames) {
		t.Fatalf("read back %d events of %d: %v %v", len(rec.Events), len(frames), err, rec.Damage)
	}
	compared := 0
	for _, f := range frames {
		if f.applied < len(rec.Events) && !rec.Events[f.applied].Time.After(f.at) {
			continue // the next event is of this instant too: the replay shows it at once
		}
		replay := NewScreen(nil, opts(&Replay{Events: rec.Events, Start: rec.Header.Start, Speed: 1}), 140, 30)
		replay.Seek(f.at)
		if got := body(replay.View()); got != f.body {
			t.Errorf("at %s (%d events) the replay shows:\n%s\nlive showed:\n%s", f.at.Format(time.StampMicro), f.applied, got, f.body)
		}
		compared++
	}
	if compared < 3 {
		t.Errorf("only %d of %d frames compared", compared, len(frames))
	}
}
