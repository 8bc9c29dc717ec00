package endpoints

import (
	"bufio"
	"bytes"
	"container/list"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	// overflowDeadline bounds how long a connection beyond the cap may take
	// to send its request. A kubelet probe sends it at once.
	overflowDeadline = time.Second
	// overflowHeadBytes bounds what is read of such a request: a request
	// line and a few headers, which is all a probe sends.
	overflowHeadBytes = 2048
)

// overflow answers connections beyond the server's cap, each on a small
// goroutine of its own that reads at most overflowHeadBytes: GET or HEAD of
// /healthz or /readyz is served (so probes keep answering while other
// clients flood the port and the kubelet does not restart a healthy
// sidecar), anything else gets 503 with Retry-After.
//
// At most max such connections are held. A new one evicts the oldest, so
// a flood of idle connections cannot lock a probe out: a probe sends its
// request within milliseconds of connecting, long before max newer
// connections have pushed it out, unless the flood opens more than max
// connections in that time.
type overflow struct {
	probe http.Handler
	max   int

	mu    sync.Mutex
	conns *list.List // of net.Conn, oldest first
}

func newOverflow(max int, probe http.Handler) *overflow {
	return &overflow{probe: probe, max: max, conns: list.New()}
}

func (o *overflow) take(c net.Conn) {
	o.mu.Lock()
	if o.conns.Len() >= o.max {
		oldest := o.conns.Remove(o.conns.Front()).(net.Conn)
		oldest.Close() // its goroutine's read fails at once and it ends
	}
	e := o.conns.PushBack(c)
	o.mu.Unlock()
	go o.serve(c, e)
}

func (o *overflow) serve(c net.Conn, e *list.Element) {
	defer func() {
		o.mu.Lock()
		o.conns.Remove(e) // no-op if it was evicted
		o.mu.Unlock()
		c.Close()
	}()
	c.SetDeadline(time.Now().Add(overflowDeadline))
	req, err := http.ReadRequest(bufio.NewReaderSize(io.LimitReader(c, overflowHeadBytes), overflowHeadBytes/2))
	if err != nil {
		return // evicted, idle past the deadline, or not HTTP: nothing to answer
	}
	var resp response
	if isProbe(req) {
		o.probe.ServeHTTP(&resp, req)
	} else {
		resp.Header().Set("Retry-After", "1")
		plain(&resp, http.StatusServiceUnavailable, "busy: too many connections, retry later")
	}
	c.Write(resp.bytes(req.Method == http.MethodHead))
}

func isProbe(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(r.URL.Path == "/healthz" || r.URL.Path == "/readyz")
}

// response is the least http.ResponseWriter that lets the overflow reuse
// the real handlers; it is written whole, with Connection: close.
type response struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *response) Header() http.Header {
	if r.h == nil {
		r.h = make(http.Header)
	}
	return r.h
}

func (r *response) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *response) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

func (r *response) bytes(head bool) []byte {
	r.WriteHeader(http.StatusOK)
	h := r.Header()
	h.Set("Content-Length", strconv.Itoa(r.body.Len()))
	h.Set("Connection", "close")
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", r.code, http.StatusText(r.code))
	h.Write(&b)
	b.WriteString("\r\n")
	if !head {
		b.Write(r.body.Bytes())
	}
	return b.Bytes()
}
