package watch

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestJSONRoundTrip: every event the Model emits, written as a JSON line
// and read back (with the renewals rebuilt by RenewalTracker), is the event
// the Model emitted, down to the heartbeat, also when renewals were
// coalesced on the way. This is what makes a recording replay exactly.
func TestJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		coalesce bool // pass the events through a queue nobody reads meanwhile
	}{{"every event delivered", false}, {"renewals coalesced by a slow reader", true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModel(0, 2, time.Minute)
			at := func(d time.Duration) time.Time { return t0.Add(d).Add(123456 * time.Nanosecond) }
			var evs []Event
			evs = m.Replace(evs, nil, at(0))
			l := lease("ns", "a", "pod-1", t0, t0, 15)
			l.Labels = map[string]string{"app": "a", "tier": "\x1b[2J"}
			evs = m.Apply(evs, l, at(0))
			// 20 renewals (more than the heartbeat keeps), a transition,
			// renewals, a release, a new holder, an expiry, a deletion.
			for i := 1; i <= 20; i++ {
				evs = m.Apply(evs, lease("ns", "a", "pod-1", t0, t0.Add(time.Duration(i)*2*time.Second), 15), at(time.Duration(i)*2*time.Second+time.Millisecond))
			}
			evs = m.Apply(evs, lease("ns", "a", "pod-2", t0.Add(45*time.Second), t0.Add(45*time.Second), 15), at(46*time.Second))
			for i := 1; i <= 3; i++ {
				evs = m.Apply(evs, lease("ns", "a", "pod-2", t0.Add(45*time.Second), t0.Add(45*time.Second+time.Duration(i)*1500*time.Millisecond), 15), at(46*time.Second+time.Duration(i)*1500*time.Millisecond))
			}
			evs = m.Apply(evs, lease("ns", "a", "", t0.Add(45*time.Second), t0.Add(52*time.Second), 15), at(52*time.Second))
			evs = m.Apply(evs, lease("ns", "a", "pod-3\u009b", t0.Add(53*time.Second), t0.Add(53*time.Second), 15), at(53*time.Second))
			evs = m.Expire(evs, at(70*time.Second))
			evs = m.Delete(evs, "ns", "a", at(71*time.Second))
			if tc.coalesce {
				q := newQueue("prod-eu", nil)
				q.push(evs...)
				evs = append([]Event(nil), q.take()...)
				coalesced := 0
				for i := range evs {
					evs[i].Context = "prod-eu" // as forward stamps them
					coalesced += evs[i].Coalesced
				}
				if coalesced == 0 {
					t.Fatal("nothing was coalesced: the case tests nothing")
				}
			}
			var tracker RenewalTracker
			for i, want := range evs {
				line := want.AppendJSON(nil)
				var got Event
				if err := got.UnmarshalJSON(line); err != nil {
					t.Fatalf("event %d: %v\n%s", i, err, line)
				}
				tracker.Fill(&got)
				if !reflect.DeepEqual(norm(got), norm(want)) {
					t.Errorf("event %d (%s) read back differs:\n got %+v\nwant %+v\nline %s", i, want.Type, got, want, line)
				}
				if again := got.AppendJSON(nil); string(again) != string(line) {
					t.Errorf("event %d written again differs:\n%s\n%s", i, again, line)
				}
			}
		})
	}
}

// norm makes times comparable with DeepEqual (locations and monotonic
// readings differ; instants must not) and the empty and nil slices equal.
func norm(ev Event) string {
	l := ev.Lease
	var beats []string
	for _, b := range l.Renewals {
		beats = append(beats, b.UTC().Format(time.RFC3339Nano))
	}
	l.Renewals = nil
	u := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	return fmt.Sprintf("%s %s %s %q %q %v %s %d %q %q %s/%s/%s/%s/%s/%v/%v/%v/%q/%d/%d/%s/%q %v",
		ev.Type, u(ev.Time), ev.Context, ev.From, ev.To, ev.Gap, ev.GapFrom, ev.Coalesced, ev.Message, ev.Connection,
		l.Key(), l.Holder, u(l.AcquireTime), u(l.RenewTime), u(l.Observed), u(l.ExpiresAt), l.RenewInterval, l.Status,
		l.Labels, l.LeaseDurationSeconds, l.Transitions, fmt.Sprint(l.Flapping, l.Orphan), l.ResourceVersion, beats)
}

func TestUnmarshalRejectsWhatIsNoEvent(t *testing.T) {
	for _, line := range []string{`{}`, `{"type":"added"}`, `[1,2]`, `{"type":"added","time":"yesterday"}`, `{"type":"renewed","time":"2026-11-25T12:00:00Z","lease":`} {
		var ev Event
		if err := ev.UnmarshalJSON([]byte(line)); err == nil {
			t.Errorf("%s: read as %+v, want an error", line, ev)
		}
	}
}

func TestLeaseJSONInContext(t *testing.T) {
	s := sampleEvent().Lease
	got := string(s.AppendJSONIn(nil, "prod-eu"))
	want := `{"context":"prod-eu",` + string(s.AppendJSON(nil))[1:]
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if string(s.AppendJSONIn(nil, "")) != string(s.AppendJSON(nil)) {
		t.Error("an empty context must leave the object as AppendJSON writes it")
	}
}
