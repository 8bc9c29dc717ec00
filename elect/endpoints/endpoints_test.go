package endpoints

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var (
	t0 = time.Date(2026, 11, 25, 13, 0, 0, 123456000, time.UTC)
	t1 = t0.Add(7 * time.Second)
)

func TestEndpoints(t *testing.T) {
	leading := LeaderInfo{Leader: "pod-a", Identity: "pod-a", IsLeader: true, Term: 1, Token: 812, LeaseTransitions: 3, AcquireTime: t0, RenewTime: t1}
	following := LeaderInfo{Leader: "pod-a", Identity: "pod-b", LeaseTransitions: 3, AcquireTime: t0, RenewTime: t1}
	tests := []struct {
		name     string
		setup    func(*Server)
		healthz  func() error
		method   string
		path     string
		accept   string
		wantCode int
		wantBody string // exact
		wantType string
	}{
		{name: "contrib root before any leader", method: "GET", path: "/",
			wantCode: 200, wantBody: `{"name":""}` + "\n", wantType: "application/json"},
		{name: "contrib root names the leader", setup: func(s *Server) { s.Publish(following) }, method: "GET", path: "/",
			wantCode: 200, wantBody: `{"name":"pod-a"}` + "\n", wantType: "application/json"},
		{name: "leader as the leader", setup: func(s *Server) { s.Publish(leading) }, method: "GET", path: "/leader",
			wantCode: 200, wantType: "application/json",
			wantBody: `{"leader":"pod-a","identity":"pod-a","isLeader":true,"term":1,"token":812,"leaseTransitions":3,"acquireTime":"2026-11-25T13:00:00.123456Z","renewTime":"2026-11-25T13:00:07.123456Z"}` + "\n"},
		{name: "leader as a follower", setup: func(s *Server) { s.Publish(following) }, method: "GET", path: "/leader",
			wantCode: 200, wantType: "application/json",
			wantBody: `{"leader":"pod-a","identity":"pod-b","isLeader":false,"term":0,"token":0,"leaseTransitions":3,"acquireTime":"2026-11-25T13:00:00.123456Z","renewTime":"2026-11-25T13:00:07.123456Z"}` + "\n"},
		{name: "leader unknown has null times", setup: func(s *Server) { s.Publish(LeaderInfo{Identity: "pod-b"}) }, method: "GET", path: "/leader",
			wantCode: 200, wantType: "application/json",
			wantBody: `{"leader":"","identity":"pod-b","isLeader":false,"term":0,"token":0,"leaseTransitions":0,"acquireTime":null,"renewTime":null}` + "\n"},
		{name: "leader before any Publish names us", method: "GET", path: "/leader",
			wantCode: 200, wantType: "application/json",
			wantBody: `{"leader":"","identity":"me","isLeader":false,"term":0,"token":0,"leaseTransitions":0,"acquireTime":null,"renewTime":null}` + "\n"},
		{name: "head leader asking for a stream", method: "HEAD", path: "/leader", accept: "text/event-stream",
			wantCode: 200, wantType: "application/json"},
		{name: "healthz ok", method: "GET", path: "/healthz", healthz: func() error { return nil },
			wantCode: 200, wantBody: "ok\n"},
		{name: "healthz without a check", method: "GET", path: "/healthz",
			wantCode: 200, wantBody: "ok\n"},
		{name: "healthz wedged", method: "GET", path: "/healthz",
			healthz:  func() error { return errors.New("failed election to renew leadership on lease demo") },
			wantCode: 500, wantBody: "unhealthy: failed election to renew leadership on lease demo\n"},
		{name: "readyz before ready", method: "GET", path: "/readyz",
			wantCode: 503, wantBody: "starting: configuration not validated or API server not reached yet\n"},
		{name: "readyz ready as follower", setup: func(s *Server) { s.Publish(following); s.SetReady(true) }, method: "GET", path: "/readyz",
			wantCode: 200, wantBody: "ok\n"},
		{name: "readyz ready as leader", setup: func(s *Server) { s.Publish(leading); s.SetReady(true) }, method: "GET", path: "/readyz",
			wantCode: 200, wantBody: "ok\n"},
		{name: "readyz lost the API", setup: func(s *Server) { s.SetReady(true); s.SetReady(false) }, method: "GET", path: "/readyz",
			wantCode: 503, wantBody: "not ready: API server not reachable\n"},
		{name: "readyz with a reason", setup: func(s *Server) { s.SetNotReady("waiting for the API server: connection refused") }, method: "GET", path: "/readyz",
			wantCode: 503, wantBody: "waiting for the API server: connection refused\n"},
		{name: "head healthz", method: "HEAD", path: "/healthz", wantCode: 200},
		{name: "unknown path", method: "GET", path: "/nope", wantCode: 404},
		{name: "below leader", method: "GET", path: "/leader/x", wantCode: 404},
		{name: "post leader", method: "POST", path: "/leader", wantCode: 405},
		{name: "delete root", method: "DELETE", path: "/", wantCode: 405},
		{name: "put metrics", method: "PUT", path: "/metrics", wantCode: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Healthz: tt.healthz, LeaseName: "demo", Identity: "me"})
			if tt.setup != nil {
				tt.setup(s)
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("%s %s: status %d, want %d (body %q)", tt.method, tt.path, rec.Code, tt.wantCode, rec.Body.String())
			}
			if tt.wantBody != "" {
				if got := rec.Body.String(); got != tt.wantBody {
					t.Errorf("%s %s: body\n got %s\nwant %s", tt.method, tt.path, got, tt.wantBody)
				}
			}
			if tt.wantType != "" {
				if got := rec.Header().Get("Content-Type"); got != tt.wantType {
					t.Errorf("Content-Type %q, want %q", got, tt.wantType)
				}
			}
			if tt.wantCode == 405 && rec.Header().Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}

// The token is a JSON number, always present: 0 while not leading, so a
// jq filter never meets a missing key. A token that differs is a change
// that streams see.
func TestLeaderInfoToken(t *testing.T) {
	tests := []struct {
		info LeaderInfo
		want string
	}{
		{LeaderInfo{Identity: "me"}, `"token":0`},
		{LeaderInfo{Identity: "me", IsLeader: true, Term: 2, Token: 81234}, `"token":81234`},
		{LeaderInfo{Identity: "me", IsLeader: true, Term: 2, Token: 18446744073709551615}, `"token":18446744073709551615`},
	}
	for _, tt := range tests {
		b, err := tt.info.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tt.want) {
			t.Errorf("%+v encodes as %s, want %s in it", tt.info, b, tt.want)
		}
	}
	a := LeaderInfo{IsLeader: true, Term: 1, Token: 10}
	b := a
	b.Token = 11
	if a.equal(b) {
		t.Errorf("states that differ only in their token compare equal: a new token would not be pushed")
	}
}

// With --shards, "shards" lists the shards acted for: always a list,
// empty rather than null, and absent without --shards. A change of shards
// alone is a change that streams see.
func TestLeaderInfoShards(t *testing.T) {
	for _, tt := range []struct {
		info      LeaderInfo
		want, not string
	}{
		{LeaderInfo{Identity: "me"}, `"identity":"me"`, `"shards"`},
		{LeaderInfo{Identity: "me", Sharded: true}, `"shards":[]`, `"shards":null`},
		{LeaderInfo{Identity: "me", Sharded: true, IsLeader: true, Shards: []int{3, 7}}, `"shards":[3,7]`, `"shards":null`},
	} {
		b, err := tt.info.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tt.want) || strings.Contains(string(b), tt.not) {
			t.Errorf("%+v encodes as %s, want %s and no %s", tt.info, b, tt.want, tt.not)
		}
	}
	a := LeaderInfo{IsLeader: true, Term: 3, Sharded: true, Shards: []int{3, 7}}
	b := a
	b.Shards = []int{3}
	if a.equal(b) {
		t.Errorf("states that differ only in their shards compare equal: a lost shard would not be pushed")
	}
}

func TestLeaderInfoJSONRoundTrip(t *testing.T) {
	local := time.FixedZone("CET", 3600)
	tests := []LeaderInfo{
		{},
		{Leader: "a", Identity: "b", IsLeader: false, LeaseTransitions: 9, AcquireTime: t0, RenewTime: t1},
		{Leader: "a", Identity: "a", IsLeader: true, Term: 7, Token: 1<<63 + 5, AcquireTime: t0.In(local)},
		{Identity: "a", IsLeader: true, Term: 2, Sharded: true, Shards: []int{0, 5}},
		{Identity: "a", Sharded: true, Shards: []int{}},
	}
	for _, in := range tests {
		b, err := in.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var out LeaderInfo
		if err := out.UnmarshalJSON(b); err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
		if !out.equal(in) {
			t.Errorf("round trip of %+v through %s gave %+v", in, b, out)
		}
		if strings.Contains(string(b), "+01:00") {
			t.Errorf("times must be written in UTC: %s", b)
		}
	}
}

func TestWantsEventStream(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"application/json"}, false},
		{[]string{"text/event-stream"}, true},
		{[]string{"Text/Event-Stream; charset=utf-8"}, true},
		{[]string{"application/json, text/event-stream;q=0.9"}, true},
		{[]string{"application/json", "text/event-stream"}, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/leader", nil)
		for _, a := range tt.accept {
			r.Header.Add("Accept", a)
		}
		if got := wantsEventStream(r); got != tt.want {
			t.Errorf("Accept %q: event stream %v, want %v", tt.accept, got, tt.want)
		}
	}
}

// readAll is a helper for bodies of plain responses from a live server.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// get makes one request on a fresh connection, as a kubelet probe does.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, readAll(t, resp)
}
