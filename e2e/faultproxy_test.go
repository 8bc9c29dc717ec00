package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// faultProxy forwards TCP connections from its own loopback port to one
// target and injects network faults on command. The control plane serves TLS,
// so faults act on bytes, below TLS: a candidate reaches the API server only
// through its proxy (its kubeconfig's server is the proxy's address, which the
// serving certificate covers because it names 127.0.0.1).
//
// Faults:
//   - SetDelay: every chunk is delivered delay after it arrived, in order, in
//     both directions (a latency spike; throughput is not limited).
//   - BlackHole: bytes are read and dropped in both directions and new
//     connections are accepted but never reach the target (a partition:
//     requests time out, nothing is refused). Heal ends it and resets every
//     connection that lost bytes, as their TLS streams cannot recover.
//   - Cut: closes every open connection (the peer reads EOF).
//   - Reset: aborts every open connection with a TCP RST.
type faultProxy struct {
	target string
	ln     net.Listener

	mu        sync.Mutex
	delay     time.Duration
	blackhole bool
	conns     map[*proxiedConn]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// proxiedConn is one client connection and, unless it arrived during a black
// hole, its connection to the target.
type proxiedConn struct {
	client net.Conn
	holed  bool // lost bytes to a black hole: reset on Heal (guarded by the proxy's mu)

	mu     sync.Mutex
	server net.Conn // nil until dialled, and for ever when accepted during a black hole
}

// chunk is data in flight and the time it may be written.
type chunk struct {
	data []byte
	due  time.Time
}

// newFaultProxy listens on a free 127.0.0.1 port and forwards to target.
func newFaultProxy(target string) (*faultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the fault proxy to %s: %w", target, err)
	}
	p := &faultProxy{target: target, ln: ln, conns: map[*proxiedConn]struct{}{}}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *faultProxy) Addr() string { return p.ln.Addr().String() }

// SetDelay sets the one-way latency added to every byte from now on; 0 ends a
// spike. Bytes already queued keep the delay they were given.
func (p *faultProxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// BlackHole starts a partition: see the type's documentation.
func (p *faultProxy) BlackHole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = true
}

// Heal ends a black hole and a delay, resetting the connections that lost
// bytes so their clients reconnect at once.
func (p *faultProxy) Heal() {
	p.mu.Lock()
	p.blackhole = false
	p.delay = 0
	var holed []*proxiedConn
	for c := range p.conns {
		if c.holed {
			holed = append(holed, c)
		}
	}
	p.mu.Unlock()
	for _, c := range holed {
		c.abort()
	}
}

// Cut closes every open connection; new ones are accepted as usual.
func (p *faultProxy) Cut() {
	for _, c := range p.snapshot() {
		c.close()
	}
}

// Reset aborts every open connection with a RST; new ones are accepted.
func (p *faultProxy) Reset() {
	for _, c := range p.snapshot() {
		c.abort()
	}
}

// Close stops accepting, closes every connection and waits for the
// forwarding goroutines to end.
func (p *faultProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *faultProxy) snapshot() []*proxiedConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*proxiedConn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
	}
	return out
}

func (p *faultProxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// serve forwards one connection until either side ends it.
func (p *faultProxy) serve(client net.Conn) {
	defer p.wg.Done()
	c := &proxiedConn{client: client}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		client.Close()
		return
	}
	holed := p.blackhole
	c.holed = holed
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		c.close()
	}()

	if holed {
		// Accepted into a partition: swallow everything until Heal or the
		// client gives up; the client never learns the target exists.
		_, _ = io.Copy(io.Discard, client)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.abort() // the target is down (an API server restart): refuse, as it would
		return
	}
	c.mu.Lock()
	c.server = server
	c.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(c, client, server) }()
	go func() { defer wg.Done(); p.pipe(c, server, client) }()
	wg.Wait()
}

// pipe copies src to dst through a queue so a delay shifts bytes in time
// without slowing the stream, and drops bytes while black-holed.
func (p *faultProxy) pipe(c *proxiedConn, src, dst net.Conn) {
	queue := make(chan chunk, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ch := range queue {
			if d := time.Until(ch.due); d > 0 {
				time.Sleep(d)
			}
			if _, err := dst.Write(ch.data); err != nil {
				c.close()
				for range queue { // drain so the reader never blocks
				}
				return
			}
		}
		// The source ended: pass the half-close on, as a real path would.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			hole, delay := p.blackhole, p.delay
			if hole {
				c.holed = true
			}
			p.mu.Unlock()
			if !hole {
				queue <- chunk{data: append([]byte(nil), buf[:n]...), due: time.Now().Add(delay)}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.close()
			}
			break
		}
	}
	close(queue)
	<-done
}

// close ends both sides with a FIN.
func (c *proxiedConn) close() {
	for _, conn := range c.sides() {
		conn.Close()
	}
}

// abort ends both sides with a RST (SO_LINGER 0).
func (c *proxiedConn) abort() {
	for _, conn := range c.sides() {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		conn.Close()
	}
}

func (c *proxiedConn) sides() []net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.server == nil {
		return []net.Conn{c.client}
	}
	return []net.Conn{c.client, c.server}
}

// echoServer echoes every connection back and counts the connections it got.
type echoServer struct {
	ln       net.Listener
	mu       sync.Mutex
	accepted int
}

func newEchoServer(t testing.TB) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening for the echo server: %v", err)
	}
	s := &echoServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.accepted++
			s.mu.Unlock()
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *echoServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// roundTrip writes msg and reads the echo, giving up after wait.
func roundTrip(c net.Conn, msg string, wait time.Duration) (string, error) {
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", fmt.Errorf("writing: %w", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, len(msg))
	n, err := io.ReadFull(c, buf)
	return string(buf[:n]), err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestFaultProxy checks each fault as a client of the proxy sees it. The
// timings are lower bounds (a delay makes a round trip at least that slow; a
// black hole lets nothing through in a window), so a slow machine cannot make
// them fail.
func TestFaultProxy(t *testing.T) {
	const hole = 300 * time.Millisecond
	tests := []struct {
		name string
		// fault runs on an established connection that has echoed once.
		fault func(p *faultProxy)
		// check inspects what the established connection sees next.
		check func(t *testing.T, c net.Conn)
	}{
		{
			name:  "no fault forwards bytes both ways",
			fault: func(p *faultProxy) {},
			check: func(t *testing.T, c net.Conn) {
				if got, err := roundTrip(c, "hello", 5*time.Second); err != nil || got != "hello" {
					t.Fatalf("echo = %q, %v; want hello", got, err)
				}
			},
		},
		{
			name:  "delay holds each direction back",
			fault: func(p *faultProxy) { p.SetDelay(200 * time.Millisecond) },
			check: func(t *testing.T, c net.Conn) {
				start := time.Now()
				if got, err := roundTrip(c, "slow", 10*time.Second); err != nil || got != "slow" {
					t.Fatalf("echo = %q, %v; want slow", got, err)
				}
				if rtt := time.Since(start); rtt < 400*time.Millisecond {
					t.Fatalf("round trip took %v; want at least two one-way delays (400ms)", rtt)
				}
			},
		},
		{
			name:  "black hole lets nothing through",
			fault: func(p *faultProxy) { p.BlackHole() },
			check: func(t *testing.T, c net.Conn) {
				if got, err := roundTrip(c, "lost", hole); !isTimeout(err) {
					t.Fatalf("read through a black hole = %q, %v; want a timeout", got, err)
				}
			},
		},
		{
			name:  "cut closes with EOF",
			fault: func(p *faultProxy) { p.Cut() },
			check: func(t *testing.T, c net.Conn) {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
					t.Fatalf("read after cut: %v; want EOF", err)
				}
			},
		},
		{
			name:  "reset aborts with RST",
			fault: func(p *faultProxy) { p.Reset() },
			check: func(t *testing.T, c net.Conn) {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("read after reset: %v; want ECONNRESET", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			echo := newEchoServer(t)
			p, err := newFaultProxy(echo.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatalf("dialling the proxy: %v", err)
			}
			defer c.Close()
			if got, err := roundTrip(c, "warm", 5*time.Second); err != nil || got != "warm" {
				t.Fatalf("first echo = %q, %v", got, err)
			}
			tt.fault(p)
			tt.check(t, c)
		})
	}
}

// TestFaultProxyPartitionHeals checks a whole partition: connections opened
// during it never reach the target, and Heal resets the damaged connections
// and lets new ones through.
func TestFaultProxyPartitionHeals(t *testing.T) {
	echo := newEchoServer(t)
	p, err := newFaultProxy(echo.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	old, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dialling the proxy: %v", err)
	}
	defer old.Close()
	if _, err := roundTrip(old, "warm", 5*time.Second); err != nil {
		t.Fatalf("first echo: %v", err)
	}

	p.BlackHole()
	during, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("a partition must accept, not refuse: %v", err)
	}
	defer during.Close()
	if got, err := roundTrip(during, "void", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("read on a connection opened in the partition = %q, %v; want a timeout", got, err)
	}
	if got, err := roundTrip(old, "void", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("read on an old connection in the partition = %q, %v; want a timeout", got, err)
	}
	if n := echo.count(); n != 1 {
		t.Fatalf("the target got %d connections; want only the one from before the partition", n)
	}

	p.Heal()
	for name, c := range map[string]net.Conn{"old": old, "during": during} {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Fatalf("the %s connection after Heal: %v; want it reset", name, err)
		}
	}
	fresh, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dialling after Heal: %v", err)
	}
	defer fresh.Close()
	if got, err := roundTrip(fresh, "back", 5*time.Second); err != nil || got != "back" {
		t.Fatalf("echo after Heal = %q, %v; want back", got, err)
	}
}

// TestFaultProxyTargetDown: while the target is down (an API server
// restart), a client is refused at once rather than left hanging.
func TestFaultProxyTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := newFaultProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ln.Close() // nothing listens there now (closed after the proxy took its own port)
	// The proxy aborts as soon as its own dial fails, which on loopback can
	// be before our connect has returned: either way the client sees a reset.
	c, err := net.Dial("tcp", p.Addr())
	if err == nil {
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connecting with the target down: %v; want ECONNRESET", err)
	}
}
