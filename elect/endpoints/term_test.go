package endpoints

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// Publishes race (defect 6 of issue 11): a term's isLeader:true may arrive
// after its isLeader:false. Whatever the order, /leader, the stream and
// leader_election_master_status must end at the latest state.
func TestPublishDropsStatesOfAnEarlierMoment(t *testing.T) {
	lead := func(term uint64) LeaderInfo {
		return LeaderInfo{Leader: "me", Identity: "me", IsLeader: true, Term: term}
	}
	ended := func(term uint64, leader string) LeaderInfo {
		return LeaderInfo{Leader: leader, Identity: "me", Term: term}
	}
	tests := []struct {
		name        string
		publish     []LeaderInfo
		want        LeaderInfo
		dropped     int // how many Publish calls report false
		transitions float64
	}{
		{"a late true of an ended term",
			[]LeaderInfo{lead(1), ended(1, ""), lead(1)}, ended(1, ""), 1, 1},
		{"a lower term after a higher one",
			[]LeaderInfo{lead(2), ended(1, "other")}, lead(2), 1, 1},
		{"a late end of an old term during a new one",
			[]LeaderInfo{lead(1), ended(1, ""), lead(2), ended(1, "other")}, lead(2), 1, 2},
		{"renewals within a term",
			[]LeaderInfo{lead(1), {Leader: "me", Identity: "me", IsLeader: true, Term: 1, RenewTime: t1}},
			LeaderInfo{Leader: "me", Identity: "me", IsLeader: true, Term: 1, RenewTime: t1}, 0, 1},
		{"a follower sees the leader change before it ever led",
			[]LeaderInfo{ended(0, "a"), ended(0, "b")}, ended(0, "b"), 0, 0},
		{"a follower sees the leader change after its term",
			[]LeaderInfo{lead(1), ended(1, "a"), ended(1, "b")}, ended(1, "b"), 0, 1},
		{"term 0 after a term is older",
			[]LeaderInfo{lead(1), ended(1, "a"), ended(0, "b")}, ended(1, "a"), 1, 1},
		{"callers that never number terms are not ordered",
			[]LeaderInfo{lead(0), ended(0, ""), lead(0)}, lead(0), 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{LeaseName: "demo", Identity: "me"})
			sub, unsubscribe := s.hub.subscribe()
			defer unsubscribe()
			dropped := 0
			for _, info := range tt.publish {
				if !s.Publish(info) {
					dropped++
				}
			}
			if dropped != tt.dropped {
				t.Errorf("%d states dropped, want %d", dropped, tt.dropped)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/leader", nil))
			var got LeaderInfo
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !got.equal(tt.want) {
				t.Errorf("/leader says %+v, want %+v", got, tt.want)
			}
			if !strings.Contains(rec.Body.String(), `"term":`) {
				t.Errorf("/leader has no term: %s", rec.Body.String())
			}
			var last LeaderInfo
			for len(sub.ch) > 0 {
				last = <-sub.ch
			}
			if !last.equal(tt.want) {
				t.Errorf("the stream's last event %+v, want %+v", last, tt.want)
			}
			wantStatus := 0.0
			if tt.want.IsLeader {
				wantStatus = 1
			}
			want := fmt.Sprintf("leader_election_master_status{name=\"demo\"} %v\nleader_elector_transitions_total %v", wantStatus, tt.transitions)
			if got := scrape(t, s, []string{"leader_election_master_status", "leader_elector_transitions_total"}); got != want {
				t.Errorf("metrics\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// The driver flips readiness as the API server comes and goes: /readyz must
// follow every flip, not just the first SetReady. (This passed before too:
// the "ready once" of issue 11 was in elect's calls, which the driver now
// makes; the test pins the contract the driver relies on.)
func TestReadyzFollowsEveryFlip(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	steps := []struct {
		set      func()
		wantCode int
		wantBody string
	}{
		{func() { s.SetReady(true) }, 200, "ok\n"},
		{func() { s.SetNotReady("API server unreachable: connection refused") }, 503, "API server unreachable: connection refused\n"},
		{func() { s.SetReady(true) }, 200, "ok\n"},
		{func() { s.SetReady(false) }, 503, "not ready: API server not reachable\n"},
		{func() { s.SetReady(false) }, 503, "not ready: API server not reachable\n"},
		{func() { s.SetReady(true) }, 200, "ok\n"},
		{func() { s.SetReady(true) }, 200, "ok\n"},
		{func() { s.SetNotReady("timeout") }, 503, "timeout\n"},
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || body != "starting: configuration not validated or API server not reached yet\n" {
		t.Fatalf("/readyz before any SetReady: %d %q", code, body)
	}
	for round := range 50 { // many times over, as a flapping API server does
		for i, st := range steps {
			st.set()
			resp, err := srv.Client().Get(srv.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, resp); resp.StatusCode != st.wantCode || body != st.wantBody {
				t.Fatalf("round %d step %d: /readyz %d %q, want %d %q", round, i, resp.StatusCode, body, st.wantCode, st.wantBody)
			}
		}
	}
}
