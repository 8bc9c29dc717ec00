package watch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func sampleEvent() Event {
	return Event{
		Type: EventTransition,
		Time: t0.Add(1500 * time.Millisecond),
		Lease: LeaseState{
			Namespace: "ns", Name: "lock", Holder: "pod-b",
			AcquireTime: t0.Add(time.Second), RenewTime: t0.Add(time.Second),
			LeaseDurationSeconds: 15, Transitions: 3,
			Labels:   map[string]string{"b": "2", "a": "1"},
			Observed: t0.Add(1500 * time.Millisecond), ExpiresAt: t0.Add(16500 * time.Millisecond),
			RenewInterval: 2500 * time.Millisecond, Status: StatusHeld, Flapping: true,
			Candidates:      []Candidate{{Name: "c1", BinaryVersion: "1.37.2", PingTime: t0}},
			ResourceVersion: "42",
		},
		From: "pod-a", To: "pod-b", Gap: 1250 * time.Millisecond, GapFrom: GapFromRenewal,
	}
}

// The documented field names and units, read back as a script would.
func TestJSONFields(t *testing.T) {
	ev := sampleEvent()
	var got map[string]any
	if err := json.Unmarshal(ev.AppendJSON(nil), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, ev.AppendJSON(nil))
	}
	lease := got["lease"].(map[string]any)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"type", got["type"], "transition"},
		{"time", got["time"], "2026-11-25T12:00:01.5Z"},
		{"from", got["from"], "pod-a"},
		{"to", got["to"], "pod-b"},
		{"gapSeconds", got["gapSeconds"], 1.25},
		{"gapFrom", got["gapFrom"], "renewal"},
		{"lease.namespace", lease["namespace"], "ns"},
		{"lease.name", lease["name"], "lock"},
		{"lease.holder", lease["holder"], "pod-b"},
		{"lease.acquireTime", lease["acquireTime"], "2026-11-25T12:00:01Z"},
		{"lease.renewTime", lease["renewTime"], "2026-11-25T12:00:01Z"},
		{"lease.leaseDurationSeconds", lease["leaseDurationSeconds"], 15.0},
		{"lease.leaseTransitions", lease["leaseTransitions"], 3.0},
		{"lease.observed", lease["observed"], "2026-11-25T12:00:01.5Z"},
		{"lease.expiresAt", lease["expiresAt"], "2026-11-25T12:00:16.5Z"},
		{"lease.renewIntervalSeconds", lease["renewIntervalSeconds"], 2.5},
		{"lease.status", lease["status"], "held"},
		{"lease.flapping", lease["flapping"], true},
		{"lease.resourceVersion", lease["resourceVersion"], "42"},
		{"lease.labels.a", lease["labels"].(map[string]any)["a"], "1"},
		{"lease.candidates[0].name", lease["candidates"].([]any)[0].(map[string]any)["name"], "c1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if _, ok := lease["orphan"]; ok {
		t.Errorf("orphan present while false: %v", lease)
	}
	// encoding/json gives the same bytes (MarshalJSON delegates).
	viaStd, _ := json.Marshal(ev)
	if !bytes.Equal(viaStd, ev.AppendJSON(nil)) {
		t.Errorf("json.Marshal differs:\n%s\n%s", viaStd, ev.AppendJSON(nil))
	}
	// A zero gap is still printed when its origin is known.
	ev.Gap = 0
	if !strings.Contains(string(ev.AppendJSON(nil)), `"gapSeconds":0,"gapFrom":"renewal"`) {
		t.Errorf("zero gap dropped: %s", ev.AppendJSON(nil))
	}
	// Events about the watch itself carry no lease.
	sync := Event{Type: EventSynced, Time: t0}
	if got := string(sync.AppendJSON(nil)); got != `{"type":"synced","time":"2026-11-25T12:00:00Z"}` {
		t.Errorf("synced = %s", got)
	}
}

// Hostile strings from the API come out inert and decode back to the raw
// value.
func TestJSONStringsAreInert(t *testing.T) {
	tests := []struct {
		name, raw, wantEscaped string
	}{
		{"clear screen", "\x1b[2J", `\u001b[2J`},
		{"C1 CSI", "a\u009b31mb", `a\u009b31mb`},
		{"bell and DEL", "\a\x7f", `\u0007\u007f`},
		{"newline", "x\ny", `x\ny`},
		{"quotes", `"\`, `\"\\`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"plain unicode", "pod-é-日本", "pod-é-日本"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := Event{Type: EventError, Time: t0, Message: tc.raw}
			line := ev.AppendJSON(nil)
			for _, c := range line {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("control byte %#x in output %q", c, line)
				}
			}
			if bytes.Contains(line, []byte("\u009b")) {
				t.Fatalf("C1 control in output %q", line)
			}
			if !bytes.Contains(line, []byte(tc.wantEscaped)) {
				t.Errorf("output %s lacks %s", line, tc.wantEscaped)
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			if m["message"] != tc.raw {
				t.Errorf("decoded %q, want the raw %q", m["message"], tc.raw)
			}
		})
	}
	// Invalid UTF-8 becomes U+FFFD rather than passing raw bytes.
	ev := Event{Type: EventError, Time: t0, Message: "a\xffb"}
	if !strings.Contains(string(ev.AppendJSON(nil)), `a\ufffdb`) {
		t.Errorf("invalid UTF-8: %s", ev.AppendJSON(nil))
	}
}

// lineRecorder keeps each write, so the test can see each line leave at once.
type lineRecorder struct {
	mu     sync.Mutex
	writes []string
}

func (r *lineRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *lineRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.writes)
}

func TestWriteJSONLinesFlushesEachLine(t *testing.T) {
	events := make(chan Event)
	rec := &lineRecorder{}
	done := make(chan error)
	go func() { done <- WriteJSONLines(context.Background(), rec, events) }()
	for i, typ := range []EventType{EventAdded, EventSynced, EventRenewed} {
		events <- Event{Type: typ, Time: t0, Lease: LeaseState{Namespace: "ns", Name: "a", Status: StatusHeld}}
		// The writer is now blocked on the next receive: the line must be out.
		events <- Event{Type: EventRenewed, Time: t0, Lease: LeaseState{Namespace: "ns", Name: "b", Status: StatusHeld}}
		if n := rec.count(); n < 2*i+1 {
			t.Fatalf("after event %d only %d writes: a line stayed buffered", 2*i, n)
		}
	}
	close(events)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	all := strings.Join(rec.writes, "")
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 6:\n%s", len(lines), all)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("line %q: %v", l, err)
		}
	}
}

func TestQueueCoalescesRenewalsOnly(t *testing.T) {
	q := newQueue("", nil)
	ev := func(typ EventType, name string, rv string) Event {
		return Event{Type: typ, Lease: LeaseState{Namespace: "ns", Name: name, ResourceVersion: rv}}
	}
	q.push(ev(EventRenewed, "a", "1"), ev(EventRenewed, "b", "2"), ev(EventRenewed, "a", "3"))
	q.push(ev(EventTransition, "a", "4"), ev(EventRenewed, "a", "5"), ev(EventRenewed, "a", "6"))
	var got []string
	for _, e := range q.take() {
		got = append(got, string(e.Type)+" "+e.Lease.Name+" rv="+e.Lease.ResourceVersion+" merged="+string(rune('0'+e.Coalesced)))
	}
	want := []string{
		"renewed a rv=3 merged=1", // the newest state in the oldest place
		"renewed b rv=2 merged=0",
		"transition a rv=4 merged=0", // never merged, and renewals after it stay after it
		"renewed a rv=6 merged=1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("queue:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	q.push(ev(EventRenewed, "a", "7"))
	if b := q.take(); len(b) != 1 || b[0].Coalesced != 0 {
		t.Errorf("after take, a renewal starts a new entry: %+v", b)
	}
}

func TestSkewRecorderNarrowsToTheTruth(t *testing.T) {
	const truth = 1234 * time.Millisecond // the cluster is ahead by this
	r := &SkewRecorder{}
	for i := range 20 {
		sent := t0.Add(time.Duration(i) * 370 * time.Millisecond)
		received := sent.Add(20 * time.Millisecond)
		server := sent.Add(10 * time.Millisecond).Add(truth)
		r.Observe(server.Truncate(time.Second), sent, received) // Date has whole seconds
	}
	if got := r.Estimate(); got < truth-60*time.Millisecond || got > truth+60*time.Millisecond {
		t.Errorf("estimate %s, want %s within 60ms after 20 samples", got, truth)
	}
}

// While the receiver keeps up, events go straight into the channel; once
// it is full they wait in the queue (renewals coalescing) and everything
// arrives in the order pushed, with nothing lost.
func TestQueueDeliversInOrder(t *testing.T) {
	out := make(chan Event, 2)
	q := newQueue("prod", out)
	ev := func(typ EventType, name string) Event {
		return Event{Type: typ, Lease: LeaseState{Namespace: "ns", Name: name}}
	}
	q.push(ev(EventAdded, "a"), ev(EventAdded, "b"), ev(EventRenewed, "c"), ev(EventRenewed, "c"), ev(EventAdded, "d"))
	if len(out) != 2 {
		t.Fatalf("%d events in the channel, want the 2 it has room for", len(out))
	}
	for _, want := range []string{"a", "b"} {
		if got := <-out; got.Lease.Name != want || got.Context != "prod" {
			t.Errorf("straight out: %s in context %q, want %s in prod", got.Lease.Name, got.Context, want)
		}
	}
	// Room now, but c and d wait: e must not jump ahead of them.
	q.push(ev(EventAdded, "e"))
	if len(out) != 0 {
		t.Errorf("e went ahead of the waiting events")
	}
	var got []string
	for _, e := range q.take() {
		got = append(got, fmt.Sprintf("%s %s +%d", e.Type, e.Lease.Name, e.Coalesced))
	}
	if want := "renewed c +1, added d +0, added e +0"; strings.Join(got, ", ") != want {
		t.Errorf("waiting: %s, want %s", strings.Join(got, ", "), want)
	}

	// With the forwarder running and a receiver that falls behind now and
	// then, every pushed event arrives once, in order.
	out = make(chan Event, 4)
	q = newQueue("", out)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go q.forward(ctx, done)
	const n = 20000
	go func() {
		for i := range n {
			q.push(ev(EventAdded, strconv.Itoa(i)))
		}
		close(done)
	}()
	next := 0
	for e := range out {
		if e.Lease.Name != strconv.Itoa(next) {
			t.Fatalf("event %s arrived when %d was due", e.Lease.Name, next)
		}
		next++
		if next%1000 == 0 {
			time.Sleep(time.Millisecond) // fall behind
		}
	}
	if next != n {
		t.Errorf("%d of %d events arrived", next, n)
	}
}
