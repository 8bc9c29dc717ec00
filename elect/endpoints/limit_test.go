package endpoints

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// With the one connection the server may hold taken by an idle client, and
// the overflow full of idle clients too, each request is answered by the
// overflow: probes served, everything else 503 with Retry-After.
func TestBeyondTheCapOnlyProbesAreServed(t *testing.T) {
	s := New(Options{MaxConns: 1, OverflowConns: 2})
	s.SetReady(true)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go s.ServeListener(ctx, ln)
	addr := ln.Addr().String()
	for range 5 { // 1 served, 2 in the overflow, 2 evicted
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	tests := []struct {
		method, path string
		want         int
		retryAfter   string
	}{
		{"GET", "/healthz", 200, ""},
		{"GET", "/readyz", 200, ""},
		{"HEAD", "/healthz", 200, ""},
		{"GET", "/leader", 503, "1"},
		{"GET", "/metrics", 503, "1"},
		{"POST", "/healthz", 503, "1"},
	}
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, "http://"+addr+tt.path, nil)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != tt.want || resp.Header.Get("Retry-After") != tt.retryAfter {
			t.Errorf("%s %s beyond the cap: %d Retry-After %q %q, want %d Retry-After %q",
				tt.method, tt.path, resp.StatusCode, resp.Header.Get("Retry-After"), body, tt.want, tt.retryAfter)
		}
	}
}
