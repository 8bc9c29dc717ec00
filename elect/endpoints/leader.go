package endpoints

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// LeaderInfo is what /leader reports: who leads the Lease, who we are, and
// the Lease's bookkeeping. Its JSON keys are part of the user contract.
type LeaderInfo struct {
	Leader   string // the Lease's holderIdentity; empty when nobody holds it
	Identity string // this replica's identity
	IsLeader bool   // whether this replica leads now
	// Term numbers this replica's periods of leadership, counting up from
	// 1: while leading, the current term; afterwards, the last term this
	// replica led; 0 if it never led. Publish uses it to drop states that
	// arrive late (see Publish). It is local to this replica, not a fencing
	// token shared by the fleet.
	Term uint64
	// Token is the fencing token of the current term while IsLeader, else
	// 0: the resourceVersion of the Lease write that started the term,
	// greater than every earlier term's token on this Lease
	// (docs/fencing.md). 0 also when the resourceVersion is not a number.
	Token            uint64
	LeaseTransitions int32     // the Lease's spec.leaseTransitions
	AcquireTime      time.Time // zero when unknown (JSON null)
	RenewTime        time.Time // zero when unknown (JSON null)
	// Sharded says this replica is one of a shard group's (--shards):
	// Shards are then the shards it acts for now, in order, and IsLeader
	// says it acts for at least one; Leader and the Lease's bookkeeping
	// are empty, each shard having its own.
	Sharded bool
	Shards  []int
}

// leaderJSON fixes the wire form: times are RFC 3339 in UTC or null, so the
// set of keys never changes and a jq filter never meets a missing key.
type leaderJSON struct {
	Leader           string     `json:"leader"`
	Identity         string     `json:"identity"`
	IsLeader         bool       `json:"isLeader"`
	Term             uint64     `json:"term"`
	Token            uint64     `json:"token"`
	LeaseTransitions int32      `json:"leaseTransitions"`
	AcquireTime      *time.Time `json:"acquireTime"`
	RenewTime        *time.Time `json:"renewTime"`
	Shards           *[]int     `json:"shards,omitempty"` // only with --shards, then never null
}

// MarshalJSON writes the documented wire form.
func (li LeaderInfo) MarshalJSON() ([]byte, error) {
	var shards *[]int
	if li.Sharded {
		owned := append([]int{}, li.Shards...)
		shards = &owned
	}
	return json.Marshal(leaderJSON{
		Shards:           shards,
		Leader:           li.Leader,
		Identity:         li.Identity,
		IsLeader:         li.IsLeader,
		Term:             li.Term,
		Token:            li.Token,
		LeaseTransitions: li.LeaseTransitions,
		AcquireTime:      timeOrNil(li.AcquireTime),
		RenewTime:        timeOrNil(li.RenewTime),
	})
}

// UnmarshalJSON reads the wire form back (for clients written in Go).
func (li *LeaderInfo) UnmarshalJSON(b []byte) error {
	var j leaderJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*li = LeaderInfo{Leader: j.Leader, Identity: j.Identity, IsLeader: j.IsLeader, Term: j.Term, Token: j.Token, LeaseTransitions: j.LeaseTransitions}
	if j.AcquireTime != nil {
		li.AcquireTime = *j.AcquireTime
	}
	if j.RenewTime != nil {
		li.RenewTime = *j.RenewTime
	}
	if j.Shards != nil {
		li.Sharded, li.Shards = true, *j.Shards
	}
	return nil
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// equal compares by instant, so a Publish of the same times in another
// location is not a change.
func (li LeaderInfo) equal(o LeaderInfo) bool {
	return li.Leader == o.Leader && li.Identity == o.Identity && li.IsLeader == o.IsLeader &&
		li.Term == o.Term && li.Token == o.Token && li.LeaseTransitions == o.LeaseTransitions &&
		li.AcquireTime.Equal(o.AcquireTime) && li.RenewTime.Equal(o.RenewTime) &&
		li.Sharded == o.Sharded && slices.Equal(li.Shards, o.Shards)
}

// Publish records the current leader state. /leader, every open event
// stream and leader_election_master_status all follow it, in one order,
// unless it equals the last state. It never blocks on a client.
//
// States can be published from several goroutines and arrive out of order,
// so Publish drops a state that belongs to an earlier moment than the last
// one published (defect 6 of issue 11: a late isLeader:true after the term
// ended). A state is dropped when
//   - its Term is lower than the last published Term, or
//   - it says IsLeader:true for the Term whose end (IsLeader:false with
//     the same Term) was already published: a term never resumes.
//
// Term 0 with every state (a caller that does not number terms) orders
// nothing. Publish reports whether the state was taken.
func (s *Server) Publish(info LeaderInfo) bool { return s.hub.publish(info) }

// stale reports whether info belongs to an earlier moment than latest.
func stale(info, latest LeaderInfo) bool {
	switch {
	case info.Term < latest.Term:
		return true
	case info.Term == latest.Term && info.Term != 0:
		return info.IsLeader && !latest.IsLeader // the term already ended
	default:
		return false
	}
}

// serveLeader answers with the current state, or streams every change when
// the client asks for text/event-stream.
func (s *Server) serveLeader(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && wantsEventStream(r) {
		s.streamLeader(w, r)
		return
	}
	info, _, _ := s.hub.current()
	writeJSON(w, info)
}

// serveName is the retired Kubernetes contrib election sidecar's response
// (it served {"name":"<leader>"} on :4040), kept so its users can switch by
// changing only the image.
func (s *Server) serveName(w http.ResponseWriter, _ *http.Request) {
	info, _, _ := s.hub.current()
	writeJSON(w, struct {
		Name string `json:"name"`
	}{info.Leader})
}

func wantsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
				return true
			}
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for our fixed types; say so rather than send half a body
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache") // leadership changes: never serve a stored answer
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}
