package watch

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// eventJSON is an event as AppendJSON writes it.
type eventJSON struct {
	Type       EventType  `json:"type"`
	Time       time.Time  `json:"time"`
	Context    string     `json:"context"`
	Lease      *leaseJSON `json:"lease"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	Gap        *float64   `json:"gapSeconds"`
	GapFrom    string     `json:"gapFrom"`
	Coalesced  int        `json:"coalesced"`
	Message    string     `json:"message"`
	Connection ConnState  `json:"connection"`
	Resource   Resource   `json:"resource"`
	Reason     Reason     `json:"reason"`
}

// leaseJSON is a state as AppendJSON writes it (durations in seconds).
type leaseJSON struct {
	Namespace            string            `json:"namespace"`
	Name                 string            `json:"name"`
	Group                string            `json:"group"`
	Member               bool              `json:"member"`
	Shard                int32             `json:"shard"`
	Shards               int32             `json:"shards"`
	Holder               string            `json:"holder"`
	AcquireTime          time.Time         `json:"acquireTime"`
	RenewTime            time.Time         `json:"renewTime"`
	LeaseDurationSeconds int32             `json:"leaseDurationSeconds"`
	Transitions          int32             `json:"leaseTransitions"`
	Labels               map[string]string `json:"labels"`
	PreferredHolder      string            `json:"preferredHolder"`
	Strategy             string            `json:"strategy"`
	HandoverTo           string            `json:"handoverTo"`
	Priority             int32             `json:"priority"`
	Observed             time.Time         `json:"observed"`
	ExpiresAt            time.Time         `json:"expiresAt"`
	RenewInterval        float64           `json:"renewIntervalSeconds"`
	Status               Status            `json:"status"`
	Flapping             bool              `json:"flapping"`
	Orphan               bool              `json:"orphan"`
	Candidates           []Candidate       `json:"candidates"`
	ResourceVersion      string            `json:"resourceVersion"`
	Renewals             []time.Time       `json:"renewals"`
}

// UnmarshalJSON reads an event back from the line AppendJSON wrote, so a
// recording (or any `watch -o json` output) can be replayed. A line must
// at least name its type and time. Strings come back raw; renderers make
// them inert again.
func (ev *Event) UnmarshalJSON(b []byte) error {
	var a eventJSON
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if a.Type == "" || a.Time.IsZero() {
		return fmt.Errorf("not a watch event: no type or time")
	}
	*ev = Event{
		Type: a.Type, Time: a.Time, Context: a.Context,
		From: a.From, To: a.To, GapFrom: a.GapFrom,
		Coalesced: a.Coalesced, Message: a.Message, Connection: a.Connection,
		Resource: a.Resource, Reason: a.Reason,
	}
	if a.Gap != nil {
		ev.Gap = seconds(*a.Gap)
	}
	if l := a.Lease; l != nil {
		ev.Lease = LeaseState{
			Namespace: l.Namespace, Name: l.Name, Holder: l.Holder,
			Group: l.Group, Member: l.Member, Shard: l.Shard, Shards: l.Shards,
			AcquireTime: l.AcquireTime, RenewTime: l.RenewTime,
			LeaseDurationSeconds: l.LeaseDurationSeconds, Transitions: l.Transitions,
			Labels: l.Labels, PreferredHolder: l.PreferredHolder, Strategy: l.Strategy,
			HandoverTo: l.HandoverTo, Priority: l.Priority,
			Observed: l.Observed, ExpiresAt: l.ExpiresAt, RenewInterval: seconds(l.RenewInterval),
			Status: l.Status, Flapping: l.Flapping, Orphan: l.Orphan,
			Candidates: l.Candidates, ResourceVersion: l.ResourceVersion, Renewals: l.Renewals,
		}
	}
	return nil
}

// seconds turns JSON's float seconds back into the duration AppendJSON
// printed (exact: the shortest float that round-trips is printed).
func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s * float64(time.Second)))
}

// RenewalTracker rebuilds LeaseState.Renewals for events read back from
// JSON, by the Model's own rule: an added Lease has none, a transition
// starts over with its own time, a renewed event adds its time (bounded as
// the Model bounds them), and a coalesced renewed event carries them all.
// Events must be given in stream order.
type RenewalTracker struct {
	beats map[string][]time.Time // context + "/" + ns/name
}

// Fill sets ev.Lease.Renewals to what the Model had when it emitted ev.
func (r *RenewalTracker) Fill(ev *Event) {
	if ev.Lease.Name == "" {
		return
	}
	if r.beats == nil {
		r.beats = make(map[string][]time.Time)
	}
	key := ev.Context + "/" + ev.Lease.Key()
	cur := r.beats[key]
	switch ev.Type {
	case EventAdded:
		cur = nil
	case EventTransition:
		cur = []time.Time{ev.Time}
	case EventRenewed:
		if len(ev.Lease.Renewals) > 0 {
			cur = ev.Lease.Renewals // coalesced: the line holds them
		} else {
			next := make([]time.Time, 0, min(len(cur)+1, maxRenewals))
			if len(cur) == maxRenewals {
				cur = cur[1:]
			}
			cur = append(append(next, cur...), ev.Time)
		}
	}
	if ev.Type == EventDeleted {
		delete(r.beats, key)
	} else {
		r.beats[key] = cur
	}
	// Each event owns its slice, as the Model's copies do.
	ev.Lease.Renewals = nil
	if len(cur) > 0 {
		ev.Lease.Renewals = append([]time.Time(nil), cur...)
	}
}
