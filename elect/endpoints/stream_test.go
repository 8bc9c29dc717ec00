package endpoints

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// sseReader reads Server-Sent Events frames from a live response.
type sseReader struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

func openStream(t *testing.T, url string) *sseReader {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url+"/leader", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("opening the event stream: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream answered %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &sseReader{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// frame returns the next frame's lines (without the blank line ending it).
func (s *sseReader) frame() ([]string, error) {
	var lines []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return lines, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return lines, nil
		}
		lines = append(lines, line)
	}
}

// next returns the next data event, skipping heartbeats.
func (s *sseReader) next() LeaderInfo {
	s.t.Helper()
	for {
		lines, err := s.frame()
		if err != nil {
			s.t.Fatalf("reading the event stream: %v (partial frame %q)", err, lines)
		}
		if len(lines) == 1 && strings.HasPrefix(lines[0], ":") {
			continue
		}
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "data: ") {
			s.t.Fatalf("frame %q: want one data line", lines)
		}
		var li LeaderInfo
		if err := json.Unmarshal([]byte(strings.TrimPrefix(lines[0], "data: ")), &li); err != nil {
			s.t.Fatalf("decoding %q: %v", lines[0], err)
		}
		return li
	}
}

func TestStreamSendsInitialStateThenEachChangeInOrder(t *testing.T) {
	s := New(Options{})
	initial := LeaderInfo{Leader: "pod-a", Identity: "pod-b", LeaseTransitions: 1, AcquireTime: t0, RenewTime: t0}
	s.Publish(initial)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close) // after openStream's cleanup has closed the stream
	st := openStream(t, srv.URL)

	if got := st.next(); !got.equal(initial) {
		t.Fatalf("first event %+v, want the current state %+v", got, initial)
	}
	changes := []LeaderInfo{
		{Leader: "pod-a", Identity: "pod-b", LeaseTransitions: 1, AcquireTime: t0, RenewTime: t1},
		{Leader: "", Identity: "pod-b", LeaseTransitions: 1, AcquireTime: t0, RenewTime: t1},
		{Leader: "pod-b", Identity: "pod-b", IsLeader: true, LeaseTransitions: 2, AcquireTime: t1, RenewTime: t1},
	}
	// Published all at once (within the per-client buffer) to check order,
	// not just "eventually the latest".
	for _, c := range changes {
		s.Publish(c)
	}
	s.Publish(changes[2]) // unchanged: must not produce an event
	final := LeaderInfo{Leader: "pod-b", Identity: "pod-b", IsLeader: true, LeaseTransitions: 2, AcquireTime: t1, RenewTime: t1.Add(2 * time.Second)}
	s.Publish(final)
	for i, want := range append(changes, final) {
		if got := st.next(); !got.equal(want) {
			t.Fatalf("event %d: %+v, want %+v", i+1, got, want)
		}
	}
}

func TestStreamHeartbeat(t *testing.T) {
	s := New(Options{Heartbeat: 20 * time.Millisecond})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close) // after openStream's cleanup has closed the stream
	st := openStream(t, srv.URL)
	st.next() // the initial state
	lines, err := st.frame()
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != ": heartbeat" {
		t.Fatalf("idle stream sent %q, want a heartbeat comment", lines)
	}
}

// A client that stops reading must neither block Publish nor make the
// server hold more than a bounded backlog for it; when it reads again it
// gets states in order and ends with the newest one.
func TestSlowStreamClientDoesNotBlockPublish(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)         // after openStream's cleanup has closed the stream
	st := openStream(t, srv.URL) // not read until all is published

	// Wait until the stream is registered, so every Publish below reaches it.
	for _, _, n := s.hub.current(); n == 0; _, _, n = s.hub.current() {
		time.Sleep(time.Millisecond)
	}
	// Each state is ~200 bytes: 100000 of them are far more than the socket
	// buffers hold, so the handler's writes block while Publish goes on.
	const n = 100000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ {
			s.Publish(LeaderInfo{Leader: fmt.Sprintf("pod-%d", i), Identity: "me", LeaseTransitions: int32(i), AcquireTime: t0, RenewTime: t1})
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Publish blocked on a client that does not read")
	}
	s.hub.mu.Lock()
	for sub := range s.hub.subs {
		if len(sub.ch) > streamBuffer {
			t.Errorf("client backlog %d states, bound is %d", len(sub.ch), streamBuffer)
		}
		if sub.dropped == 0 {
			t.Errorf("no state was dropped for a client that read nothing of %d", n)
		}
	}
	s.hub.mu.Unlock()

	first := st.next()
	if first.LeaseTransitions != 0 {
		t.Fatalf("first event %+v, want the initial (empty) state", first)
	}
	prev := int32(0)
	for prev != n {
		got := st.next()
		if got.LeaseTransitions <= prev {
			t.Fatalf("event with transitions %d after %d: out of order", got.LeaseTransitions, prev)
		}
		prev = got.LeaseTransitions
	}
}

func TestSubscriberBacklogIsBounded(t *testing.T) {
	h := newHub(nil)
	sub, unsubscribe := h.subscribe()
	defer unsubscribe()
	for i := 1; i <= 1000; i++ {
		h.publish(LeaderInfo{Leader: "x", LeaseTransitions: int32(i)})
	}
	if len(sub.ch) > streamBuffer {
		t.Fatalf("backlog %d, bound %d", len(sub.ch), streamBuffer)
	}
	var last LeaderInfo
	for len(sub.ch) > 0 {
		last = <-sub.ch
	}
	if last.LeaseTransitions != 1000 {
		t.Fatalf("last queued state has transitions %d, want the newest (1000)", last.LeaseTransitions)
	}
}

func TestServeEndsStreamsAndShutsDown(t *testing.T) {
	s := New(Options{})
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.ServeListener(ctx, ln) }()
	url := "http://" + ln.Addr().String()

	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != 503 {
		t.Fatalf("readyz %d %q before SetReady", resp.StatusCode, body)
	}
	st := openStream(t, url)
	st.next()

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(shutdownGrace - time.Second):
		t.Fatal("Serve waited on the open event stream instead of ending it")
	}
	if lines, err := st.frame(); err == nil {
		t.Fatalf("stream still open after shutdown, read %q", lines)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}
