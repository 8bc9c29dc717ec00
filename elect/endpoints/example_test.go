package endpoints_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/leader-elector/leader-elector/elect/endpoints"
)

// A follower's view: GET /leader, the contrib-compatible GET /, and the
// start of the Server-Sent Events stream a client gets from /leader.
func Example() {
	s := endpoints.New(endpoints.Options{LeaseName: "demo"})
	acquired := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	s.Publish(endpoints.LeaderInfo{Leader: "web-0", Identity: "web-1", LeaseTransitions: 2,
		AcquireTime: acquired, RenewTime: acquired.Add(4 * time.Second)})
	s.SetReady(true)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	for _, path := range []string{"/leader", "/", "/readyz"} {
		resp, _ := http.Get(srv.URL + path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("GET %s -> %d %s", path, resp.StatusCode, body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/leader", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, _ := http.DefaultClient.Do(req)
	r := bufio.NewReader(resp.Body)
	line, _ := r.ReadString('\n') // the current state first
	fmt.Print("stream: ", line)
	s.Publish(endpoints.LeaderInfo{Leader: "web-1", Identity: "web-1", IsLeader: true, Term: 1, Token: 4711, LeaseTransitions: 3,
		AcquireTime: acquired.Add(20 * time.Second), RenewTime: acquired.Add(20 * time.Second)})
	r.ReadString('\n') // the blank line ending the first event
	line, _ = r.ReadString('\n')
	fmt.Print("stream: ", line)
	cancel()
	resp.Body.Close()

	// Output:
	// GET /leader -> 200 {"leader":"web-0","identity":"web-1","isLeader":false,"term":0,"token":0,"leaseTransitions":2,"acquireTime":"2026-11-25T13:00:00Z","renewTime":"2026-11-25T13:00:04Z"}
	// GET / -> 200 {"name":"web-0"}
	// GET /readyz -> 200 ok
	// stream: data: {"leader":"web-0","identity":"web-1","isLeader":false,"term":0,"token":0,"leaseTransitions":2,"acquireTime":"2026-11-25T13:00:00Z","renewTime":"2026-11-25T13:00:04Z"}
	// stream: data: {"leader":"web-1","identity":"web-1","isLeader":true,"term":1,"token":4711,"leaseTransitions":3,"acquireTime":"2026-11-25T13:00:20Z","renewTime":"2026-11-25T13:00:20Z"}
}
