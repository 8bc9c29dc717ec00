package watch

import (
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/internal/leaseann"
)

// t0 is our clock at the start of every case; the cluster's clock is t0 +
// the case's skew.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func lease(ns, name, holder string, acquire, renew time.Time, dur int32) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if holder != "" {
		l.Spec.HolderIdentity = &holder
	} else {
		empty := ""
		l.Spec.HolderIdentity = &empty
	}
	if !acquire.IsZero() {
		l.Spec.AcquireTime = &metav1.MicroTime{Time: acquire}
	}
	if !renew.IsZero() {
		l.Spec.RenewTime = &metav1.MicroTime{Time: renew}
	}
	if dur != 0 {
		l.Spec.LeaseDurationSeconds = &dur
	}
	return l
}

// step is one input: a Lease update, a deletion or a timer check, at our
// clock t0+at.
type step struct {
	at     time.Duration
	lease  *coordinationv1.Lease
	delete bool
	expire bool
}

// summary renders an event as the tests compare it.
func summary(ev Event) string {
	s := fmt.Sprintf("%s %s", ev.Type, ev.Lease.Status)
	switch ev.Type {
	case EventTransition:
		s += fmt.Sprintf(" %s->%s", ev.From, ev.To)
		if ev.GapFrom != "" {
			s += fmt.Sprintf(" gap=%s/%s", ev.Gap, ev.GapFrom)
		}
	case EventReleased:
		s += " from=" + ev.From
	case EventFlapping:
		s += fmt.Sprintf(" flapping=%v", ev.Lease.Flapping)
	case EventOrphan:
		s += fmt.Sprintf(" orphan=%v", ev.Lease.Orphan)
	}
	if !ev.Lease.ExpiresAt.IsZero() {
		s += fmt.Sprintf(" expires=+%s", ev.Lease.ExpiresAt.Sub(t0))
	}
	return s
}

func TestModel(t *testing.T) {
	c := func(d time.Duration) time.Time { return t0.Add(d) } // cluster time, no skew
	hour := time.Hour
	tests := []struct {
		name  string
		skew  time.Duration
		flap  int
		steps []step
		want  []string
	}{{
		name:  "a held Lease is added, held for its duration from now",
		steps: []step{{at: 0, lease: lease("ns", "a", "pod-a", c(-1*time.Second), c(-1*time.Second), 10)}},
		want:  []string{"added held expires=+9s"},
	}, {
		name:  "a Lease stale by the cluster's clock at start is expired at once",
		steps: []step{{at: 0, lease: lease("ns", "a", "pod-a", c(-60*time.Second), c(-30*time.Second), 10)}},
		want:  []string{"added expired expires=+-20s"},
	}, {
		name: "the skew estimate translates renewTime to our clock",
		skew: hour, // the cluster runs an hour ahead of us
		steps: []step{
			{at: 0, lease: lease("ns", "a", "pod-a", c(hour-2*time.Second), c(hour-2*time.Second), 10)},
			{at: 0, lease: lease("ns", "b", "pod-b", c(hour-20*time.Second), c(hour-20*time.Second), 10)},
		},
		want: []string{"added held expires=+8s", "added expired expires=+-10s"},
	}, {
		name: "without the skew an hour-ahead renewTime would look fresh: clamp to a duration from now",
		skew: 0,
		steps: []step{
			{at: 0, lease: lease("ns", "a", "pod-a", c(hour), c(hour), 10)},
		},
		want: []string{"added held expires=+10s"},
	}, {
		name: "renewals push the expiry and the timer expires it after the duration",
		steps: []step{
			{at: 0, lease: lease("ns", "a", "pod-a", c(0), c(0), 10)},
			{at: 2 * time.Second, lease: lease("ns", "a", "pod-a", c(0), c(2*time.Second), 10)},
			{at: 11 * time.Second, expire: true},
			{at: 12 * time.Second, expire: true},
			{at: 13 * time.Second, expire: true},
		},
		want: []string{"added held expires=+10s", "renewed held expires=+12s", "expired expired expires=+12s"},
	}, {
		name: "a takeover after expiry measures the gap from the last renewal",
		steps: []step{
			{at: 0, lease: lease("ns", "a", "pod-a", c(0), c(0), 10)},
			{at: 10 * time.Second, expire: true},
			{at: 15 * time.Second, lease: lease("ns", "a", "pod-b", c(15*time.Second), c(15*time.Second), 10)},
		},
		want: []string{"added held expires=+10s", "expired expired expires=+10s", "transition held pod-a->pod-b gap=15s/renewal expires=+25s"},
	}, {
		name: "a release then an acquisition measures the gap from the release",
		steps: []step{
			{at: 0, lease: lease("ns", "a", "pod-a", c(0), c(0), 10)},
			{at: 3 * time.Second, lease: lease("ns", "a", "", c(3*time.Second), c(3*time.Second), 1)},
			{at: 4500 * time.Millisecond, lease: lease("ns", "a", "pod-b", c(4500*time.Millisecond), c(4500*time.Millisecond), 10)},
		},
		want: []string{"added held expires=+10s", "released released from=pod-a", "transition held pod-a->pod-b gap=1.5s/release expires=+14.5s"},
	}, {
		name: "a Lease never held is none; its first holder has no known gap",
		steps: []step{
			{at: 0, lease: lease("ns", "a", "", time.Time{}, time.Time{}, 10)},
			{at: time.Second, lease: lease("ns", "a", "pod-a", c(time.Second), c(time.Second), 10)},
		},
		want: []string{"added none", "transition held ->pod-a expires=+11s"},
	}, {
		name: "delete ends the Lease and its timer",
		steps: []step{
			{at: 0, lease: lease("ns", "a", "pod-a", c(0), c(0), 10)},
			{at: time.Second, delete: true},
			{at: 20 * time.Second, expire: true},
		},
		want: []string{"added held expires=+10s", "deleted held expires=+10s"},
	}, {
		name: "more transitions than the threshold within the window flap, until the window passes",
		flap: 2,
		steps: []step{
			{at: 0, lease: lease("ns", "a", "p1", c(0), c(0), 100)},
			{at: 1 * time.Second, lease: lease("ns", "a", "p2", c(1*time.Second), c(1*time.Second), 100)},
			{at: 2 * time.Second, lease: lease("ns", "a", "p1", c(2*time.Second), c(2*time.Second), 100)},
			{at: 3 * time.Second, lease: lease("ns", "a", "p2", c(3*time.Second), c(3*time.Second), 100)},
			{at: 60 * time.Second, expire: true}, // window of a minute from the 1s transition: not yet
			{at: 61 * time.Second, expire: true},
		},
		want: []string{
			"added held expires=+1m40s",
			"transition held p1->p2 gap=1s/renewal expires=+1m41s",
			"transition held p2->p1 gap=1s/renewal expires=+1m42s",
			"transition held p1->p2 gap=1s/renewal expires=+1m43s",
			"flapping held flapping=true expires=+1m43s",
			"flapping held flapping=false expires=+1m43s",
		},
	}, {
		name: "a label change is an updated event; an unchanged resync is nothing",
		steps: []step{
			{at: 0, lease: lease("ns", "a", "pod-a", c(0), c(0), 10)},
			{at: time.Second, lease: lease("ns", "a", "pod-a", c(0), c(0), 10)},
			{at: time.Second, lease: func() *coordinationv1.Lease {
				l := lease("ns", "a", "pod-a", c(0), c(0), 10)
				l.Labels = map[string]string{"app": "x"}
				return l
			}()},
		},
		want: []string{"added held expires=+10s", "updated held expires=+10s"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModel(tc.skew, tc.flap, time.Minute)
			var got []string
			var evs []Event
			for _, s := range tc.steps {
				now := t0.Add(s.at)
				switch {
				case s.expire:
					evs = m.Expire(evs[:0], now)
				case s.delete:
					evs = m.Delete(evs[:0], "ns", "a", now)
				default:
					evs = m.Apply(evs[:0], s.lease, now)
				}
				for _, ev := range evs {
					if !ev.Time.Equal(now) {
						t.Errorf("%s event stamped %s, want our clock %s", ev.Type, ev.Time, now)
					}
					got = append(got, summary(ev))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestModelRenewIntervalAndHeartbeat(t *testing.T) {
	m := NewModel(0, 0, 0)
	var evs []Event
	for i := range 40 {
		at := time.Duration(i) * 2 * time.Second
		evs = m.Apply(evs[:0], lease("ns", "a", "pod-a", t0, t0.Add(at), 10), t0.Add(at+100*time.Millisecond))
	}
	st := evs[len(evs)-1].Lease
	if st.RenewInterval != 2*time.Second {
		t.Errorf("RenewInterval = %s, want 2s (the cluster's renewTime step)", st.RenewInterval)
	}
	if len(st.Renewals) != maxRenewals {
		t.Fatalf("len(Renewals) = %d, want the bound %d", len(st.Renewals), maxRenewals)
	}
	if last := st.Renewals[len(st.Renewals)-1]; !last.Equal(t0.Add(78*time.Second + 100*time.Millisecond)) {
		t.Errorf("last renewal at %s, want our time of the last update", last)
	}
}

// Events hand out states whose Renewals share a backing array; a later
// renewal must not change what an earlier event shows.
func TestModelEventsKeepTheirRenewals(t *testing.T) {
	m := NewModel(0, 0, 0)
	var kept []Event
	for i := range 100 {
		at := time.Duration(i) * time.Second
		kept = append(kept, m.Apply(nil, lease("ns", "a", "pod-a", t0, t0.Add(at), 10), t0.Add(at))...)
	}
	for i, ev := range kept[1:] { // the added event observed no renewal yet
		i++
		r := ev.Lease.Renewals
		if got, want := r[len(r)-1], t0.Add(time.Duration(i)*time.Second); !got.Equal(want) {
			t.Fatalf("event %d: last renewal %s, want %s (overwritten by a later one)", i, got, want)
		}
	}
}

func TestModelOrphans(t *testing.T) {
	pods := map[string]bool{"ns/pod-a": true}
	exists := func(ns, name string) bool { return pods[ns+"/"+name] }
	m := NewModel(0, 0, 0)
	var got []string
	add := func(evs []Event) {
		for _, ev := range evs {
			got = append(got, fmt.Sprintf("%s %s orphan=%v", ev.Type, ev.Lease.Key(), ev.Lease.Orphan))
		}
	}
	add(m.Apply(nil, lease("ns", "a", "pod-a", t0, t0, 10), t0))
	add(m.Apply(nil, lease("ns", "b", "gone", t0, t0, 10), t0))
	add(m.Apply(nil, lease("ns", "c", "host_1234-uuid", t0, t0, 10), t0))   // client-go's default identity
	add(m.Apply(nil, lease("ns", "d", "apiserver-x7f2", t0, t0, 10), t0))   // the API server's own
	add(m.Apply(nil, lease("kube-node-lease", "n1", "n1", t0, t0, 40), t0)) // a node
	add(m.SetPods(nil, exists, t0))                                         // judged once Pods are known
	delete(pods, "ns/pod-a")
	add(m.PodChanged(nil, "ns", "pod-a", t0))
	add(m.Apply(nil, lease("ns", "e", "late", t0, t0, 10), t0)) // judged on arrival
	// A renewal keeps the verdict; a new holder is judged afresh, also
	// one that could not be judged before.
	pods["ns/pod-new"] = true
	add(m.Apply(nil, lease("ns", "a", "pod-a", t0, t0.Add(time.Second), 10), t0.Add(time.Second)))
	add(m.Apply(nil, lease("ns", "a", "pod-new", t0.Add(2*time.Second), t0.Add(2*time.Second), 10), t0.Add(2*time.Second)))
	add(m.Apply(nil, lease("ns", "c", "pod-c", t0.Add(2*time.Second), t0.Add(2*time.Second), 10), t0.Add(2*time.Second)))
	want := []string{
		"added ns/a orphan=false", "added ns/b orphan=false", "added ns/c orphan=false",
		"added ns/d orphan=false", "added kube-node-lease/n1 orphan=false",
		"orphan ns/b orphan=true",
		"orphan ns/a orphan=true",
		"added ns/e orphan=true",
		"renewed ns/a orphan=true",
		"transition ns/a orphan=false", "orphan ns/a orphan=false",
		"transition ns/c orphan=true", "orphan ns/c orphan=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestModelCandidates(t *testing.T) {
	m := NewModel(0, 0, 0)
	evs := m.SetCandidate(nil, "ns", "a", Candidate{Name: "c1", BinaryVersion: "1.37.2"}, t0)
	if len(evs) != 0 {
		t.Fatalf("candidate of an unknown Lease emitted %v", evs)
	}
	evs = m.Apply(nil, lease("ns", "a", "pod-a", t0, t0, 10), t0)
	if got := evs[0].Lease.Candidates; len(got) != 1 || got[0].Name != "c1" {
		t.Fatalf("added Lease carries candidates %v, want c1 (seen before it)", got)
	}
	evs = m.SetCandidate(nil, "ns", "a", Candidate{Name: "c0"}, t0)
	if len(evs) != 1 || evs[0].Type != EventCandidates || len(evs[0].Lease.Candidates) != 2 || evs[0].Lease.Candidates[0].Name != "c0" {
		t.Fatalf("second candidate: %+v", evs)
	}
	first := evs[0].Lease.Candidates
	evs = m.DeleteCandidate(nil, "ns", "a", "c0", t0)
	if len(evs[0].Lease.Candidates) != 1 || len(first) != 2 || first[0].Name != "c0" {
		t.Fatalf("delete changed an earlier event's candidates: now %v, before %v", evs[0].Lease.Candidates, first)
	}
}

// A full list (the reflector's relist after a long disconnect) changes only
// what changed and deletes what is gone.
func TestModelReplace(t *testing.T) {
	m := NewModel(0, 0, 0)
	var got []string
	add := func(evs []Event) {
		for _, ev := range evs {
			got = append(got, string(ev.Type)+" "+ev.Lease.Name)
		}
	}
	add(m.Replace(nil, []*coordinationv1.Lease{
		lease("ns", "a", "p", t0, t0, 10), lease("ns", "b", "p", t0, t0, 10), lease("ns", "c", "p", t0, t0, 10),
	}, t0))
	add(m.Replace(nil, []*coordinationv1.Lease{ // any order in, name order out
		lease("ns", "d", "p", t0, t0, 10), lease("ns", "c", "p", t0, t0, 10), lease("ns", "b", "p", t0, t0.Add(time.Second), 10),
	}, t0.Add(time.Second)))
	want := []string{"added a", "added b", "added c", "renewed b", "added d", "deleted a"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("events %s, want %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	if m.Len() != 3 {
		t.Errorf("%d Leases known, want 3", m.Len())
	}
}

// A planned hand-over asked on the Lease and the holder's priority show in
// its state, and asking or withdrawing one is an update event, so
// `watch -o json` and the dashboard see it as it happens.
func TestModelHandoverAndPriority(t *testing.T) {
	annotated := func(ann map[string]string) *coordinationv1.Lease {
		l := lease("ns", "a", "pod-a", t0, t0, 10)
		l.Annotations = ann
		return l
	}
	tests := []struct {
		name       string
		ann        map[string]string
		handoverTo string
		priority   int32
	}{
		{"nothing asked", nil, "", 0},
		{"to a named replica", map[string]string{leaseann.HandoverAnnotation: leaseann.HandoverRequest{ID: "op-1", To: "pod-b"}.Encode()}, "pod-b", 0},
		{"to anyone", map[string]string{leaseann.HandoverAnnotation: leaseann.HandoverRequest{ID: "op-1"}.Encode()}, "*", 0},
		{"an annotation that is not a request", map[string]string{leaseann.HandoverAnnotation: "please"}, "", 0},
		{"the holder's priority", map[string]string{leaseann.PriorityAnnotation: "3"}, "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewModel(0, 0, 0)
			m.Apply(nil, annotated(nil), t0)
			evs := m.Apply(nil, annotated(tt.ann), t0.Add(time.Second))
			changed := tt.handoverTo != "" || tt.priority != 0
			if changed != (len(evs) == 1 && evs[0].Type == EventUpdated) {
				t.Fatalf("events %v, want an update: %v", evs, changed)
			}
			st := m.Apply(nil, annotated(tt.ann), t0.Add(2*time.Second))
			if len(st) != 0 {
				t.Fatalf("the same state again gave events %v", st)
			}
			if !changed {
				return
			}
			if got := evs[0].Lease; got.HandoverTo != tt.handoverTo || got.Priority != tt.priority {
				t.Errorf("handoverTo %q priority %d, want %q %d", got.HandoverTo, got.Priority, tt.handoverTo, tt.priority)
			}
			var back Event
			if err := back.UnmarshalJSON(evs[0].AppendJSON(nil)); err != nil || back.Lease.HandoverTo != tt.handoverTo || back.Lease.Priority != tt.priority {
				t.Errorf("through JSON: %+v (%v), want handoverTo %q priority %d", back.Lease, err, tt.handoverTo, tt.priority)
			}
		})
	}
}
