package watch_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/watch"
)

var t0 = time.Date(2026, 11, 25, 3, 12, 0, 0, time.UTC)

func sample() []watch.Event {
	l := watch.LeaseState{Namespace: "kube-system", Name: "kube-scheduler", Holder: "cp-1", LeaseDurationSeconds: 15, Status: watch.StatusHeld,
		RenewTime: t0, Observed: t0, ExpiresAt: t0.Add(15 * time.Second)}
	renewed := l
	renewed.RenewTime, renewed.Observed, renewed.ExpiresAt = t0.Add(2*time.Second), t0.Add(2*time.Second), t0.Add(17*time.Second)
	moved := renewed
	moved.Holder = "cp-2"
	return []watch.Event{
		{Type: watch.EventAdded, Time: t0, Context: "prod-eu", Lease: l},
		{Type: watch.EventSynced, Time: t0, Context: "prod-eu"},
		{Type: watch.EventError, Time: t0.Add(time.Second), Context: "prod-us", Connection: watch.ConnLost, Message: "cannot reach the API server"},
		{Type: watch.EventRenewed, Time: t0.Add(2 * time.Second), Context: "prod-eu", Lease: renewed},
		{Type: watch.EventTransition, Time: t0.Add(3 * time.Second), Context: "prod-eu", Lease: moved, From: "cp-1", To: "cp-2", Gap: time.Second, GapFrom: watch.GapFromRenewal},
	}
}

func lines(evs []watch.Event) string {
	var b strings.Builder
	for i := range evs {
		b.Write(evs[i].AppendJSON(nil))
		b.WriteByte('\n')
	}
	return b.String()
}

func recording(t *testing.T, evs []watch.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := watch.NewRecorder(&buf, watch.RecordingHeader{Version: "v1.2.3", Contexts: []string{"prod-eu", "prod-us"}, Namespace: "kube-system", Start: t0.Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadWhatWasWritten(t *testing.T) {
	evs := sample()
	data := recording(t, evs)
	first, _, _ := strings.Cut(string(data), "\n")
	for _, want := range []string{`"type":"header"`, `"format":1`, `"version":"v1.2.3"`, `"contexts":["prod-eu","prod-us"]`, `"namespace":"kube-system"`, `"start":"2026-11-25T03:11:59Z"`} {
		if !strings.Contains(first, want) {
			t.Errorf("header %s lacks %s", first, want)
		}
	}
	rec, err := watch.ReadRecording(bytes.NewReader(data))
	if err != nil || rec.Damage != nil {
		t.Fatalf("Read: %v, damage %v", err, rec.Damage)
	}
	if !rec.HasHeader || rec.Header.Version != "v1.2.3" || !rec.Header.Start.Equal(t0.Add(-time.Second)) {
		t.Errorf("header %+v", rec.Header)
	}
	if got := strings.Join(rec.Contexts(), ","); got != "prod-eu,prod-us" {
		t.Errorf("contexts %s", got)
	}
	if got, want := lines(rec.Events), lines(evs); got != want {
		t.Errorf("events read back:\n%s\nwant:\n%s", got, want)
	}
	// The transition starts the heartbeat over; the renewal before it beat.
	if n := len(rec.Events[3].Lease.Renewals); n != 1 {
		t.Errorf("renewed event has %d renewals, want 1", n)
	}
}

func TestReadDamaged(t *testing.T) {
	data := string(recording(t, sample())) // header + 5 lines
	all := strings.SplitAfter(data, "\n")
	tests := []struct {
		name       string
		data       string
		events     int
		damageLine int
		damageText string
		header     bool
	}{
		{"whole", data, 5, 0, "", true},
		{"cut short in the last line (the recorder was killed)", data[:len(data)-30], 4, 6, "cut short", true},
		{"a corrupt line in the middle", all[0] + all[1] + all[2] + "{\"type\":\"renewed\",\x00garbage\n" + all[4] + all[5], 2, 4, "line 4", true},
		{"a line that is JSON but no event", all[0] + all[1] + "{\"hello\":1}\n" + all[3], 1, 3, "no type or time", true},
		{"plain -o json output, no header", strings.Join(all[1:], ""), 5, 0, "", false},
		{"not a recording at all", "hello world\n", 0, 1, "line 1", false},
		{"a header newer than this reader", strings.Replace(all[0], `"format":1`, `"format":9`, 1) + all[1], 0, 1, "newer", false},
		{"empty", "", 0, 0, "", false},
		{"a header spaced as any JSON may be", strings.Replace(all[0], `"type":"header"`, `"type": "header"`, 1) + all[1], 1, 0, "", true},
		{"a first event that mentions a header is no header", `{"type":"added","time":"2026-11-25T03:12:00Z","lease":{"name":"\"type\":\"header\""}}` + "\n", 1, 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := watch.ReadRecording(strings.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Events) != tc.events || rec.HasHeader != tc.header {
				t.Errorf("%d events, header %v; want %d, %v", len(rec.Events), rec.HasHeader, tc.events, tc.header)
			}
			switch {
			case tc.damageLine == 0 && rec.Damage != nil:
				t.Errorf("damage %v, want none", rec.Damage)
			case tc.damageLine != 0 && (rec.Damage == nil || rec.Damage.Line != tc.damageLine || !strings.Contains(rec.Damage.Error(), tc.damageText)):
				t.Errorf("damage %v, want line %d mentioning %q", rec.Damage, tc.damageLine, tc.damageText)
			}
		})
	}
}

// tee records evs to buf (a recording of prod-eu from start) through Tee
// and returns what Tee passed on, once the last line is flushed.
func tee(t *testing.T, buf *bytes.Buffer, start time.Time, evs []watch.Event) []watch.Event {
	t.Helper()
	in := make(chan watch.Event, len(evs))
	for _, ev := range evs {
		in <- ev
	}
	close(in)
	w, err := watch.NewRecorder(buf, watch.RecordingHeader{Contexts: []string{"prod-eu"}, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	out, errc := w.Tee(context.Background(), in)
	var passed []watch.Event
	for ev := range out {
		passed = append(passed, ev)
	}
	for err := range errc { // closed once the last line is flushed
		t.Fatal(err)
	}
	return passed
}

func TestTeeRecordsWhatItPasses(t *testing.T) {
	evs := sample()
	var buf bytes.Buffer
	passed := tee(t, &buf, t0, evs)
	if lines(passed) != lines(evs) {
		t.Errorf("passed on:\n%s\nwant:\n%s", lines(passed), lines(evs))
	}
	_, body, _ := strings.Cut(buf.String(), "\n")
	if body != lines(evs) {
		t.Errorf("recorded:\n%s\nwant:\n%s", body, lines(evs))
	}
}

// TestTeePassesWhatReadsBack: the consumer of Tee gets every time exactly
// as a replay of the recording will have it. Events stamped by the real
// clock, as a Watcher stamps them, carry a monotonic clock reading that the
// recording cannot hold; Go compares two such times by that reading, a
// replay by the wall clock, and the two can disagree (a thread descheduled
// between time.Now's two clock reads), so the live dashboard would order
// events, and pick its clock, in a way its replay cannot reproduce.
func TestTeePassesWhatReadsBack(t *testing.T) {
	now := time.Now() // with a monotonic reading, in the local zone
	l := watch.LeaseState{Namespace: "kube-system", Name: "kube-scheduler", Holder: "cp-1", LeaseDurationSeconds: 15,
		Status: watch.StatusHeld, RenewTime: now.Add(-time.Second).UTC(), Observed: now, ExpiresAt: now.Add(15 * time.Second),
		Renewals:   []time.Time{now.Add(-2 * time.Second), now},
		Candidates: []watch.Candidate{{Name: "cp-1", RenewTime: now, PingTime: now.Add(-time.Second)}}}
	added := l
	added.Renewals = nil    // none yet, as the Model emits it
	shared := l.Renewals[0] // Renewals and Candidates are shared with other copies: never changed in place
	evs := []watch.Event{
		{Type: watch.EventAdded, Time: now, Context: "prod-eu", Lease: added},
		{Type: watch.EventSynced, Time: now, Context: "prod-eu"},
		{Type: watch.EventRenewed, Time: now.Add(2 * time.Second), Context: "prod-eu", Lease: l, Coalesced: 1},
	}
	var buf bytes.Buffer
	passed := tee(t, &buf, now, evs)
	rec, err := watch.ReadRecording(&buf)
	if err != nil || rec.Damage != nil || len(rec.Events) != len(passed) {
		t.Fatalf("read back %d events (%v %v), passed on %d", len(rec.Events), err, rec.Damage, len(passed))
	}
	for i := range passed {
		p, r := &passed[i], &rec.Events[i]
		// == on time.Time: the same wall clock, monotonic reading and zone.
		same := p.Time == r.Time && p.Lease.RenewTime == r.Lease.RenewTime &&
			p.Lease.Observed == r.Lease.Observed && p.Lease.ExpiresAt == r.Lease.ExpiresAt &&
			len(p.Lease.Renewals) == len(r.Lease.Renewals) && len(p.Lease.Candidates) == len(r.Lease.Candidates)
		for j := 0; same && j < len(p.Lease.Renewals); j++ {
			same = p.Lease.Renewals[j] == r.Lease.Renewals[j]
		}
		for j := 0; same && j < len(p.Lease.Candidates); j++ {
			same = p.Lease.Candidates[j].RenewTime == r.Lease.Candidates[j].RenewTime && p.Lease.Candidates[j].PingTime == r.Lease.Candidates[j].PingTime
		}
		if !same {
			t.Errorf("event %d (%s) passed on as %#v\nreads back as %#v", i, p.Type, *p, *r)
		}
	}
	if l.Renewals[0] != shared || l.Candidates[0].RenewTime != now {
		t.Errorf("Tee changed times shared with the sender's copies")
	}
}

func TestPlayAsFastAsPossible(t *testing.T) {
	evs := sample()
	var got []watch.Event
	for ev := range watch.Play(context.Background(), evs, 0) {
		got = append(got, ev)
	}
	if lines(got) != lines(evs) {
		t.Errorf("played:\n%s\nwant:\n%s", lines(got), lines(evs))
	}
	// Paced: a recording spanning hours at speed 1 stops with ctx.
	ctx, cancel := context.WithCancel(context.Background())
	long := []watch.Event{evs[0], evs[1]}
	long[1].Time = t0.Add(3 * time.Hour)
	ch := watch.Play(ctx, long, 1)
	if ev := <-ch; ev.Type != watch.EventAdded {
		t.Fatalf("first event %s", ev.Type)
	}
	cancel()
	for range ch {
		t.Error("an event 3 hours later was sent at speed 1")
	}
}
