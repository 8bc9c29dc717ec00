package endpoints

import (
	"net"
	"sync"
)

// connLimiter is a net.Listener that hands the HTTP server at most cap(slots)
// connections at once. The port is reachable from any pod, so without a cap
// a flood of idle connections costs the sidecar memory until its pod is OOM
// killed, and a SIGKILLed sidecar is exactly the case where a stale status
// file survives. A connection beyond the cap never reaches the server: the
// overflow answers it (health probes served, everything else 503).
type connLimiter struct {
	net.Listener
	slots chan struct{} // one token per connection the server holds
	over  *overflow
}

func newConnLimiter(ln net.Listener, max int, over *overflow) *connLimiter {
	return &connLimiter{Listener: ln, slots: make(chan struct{}, max), over: over}
}

// Accept returns the next connection that fits under the cap, handing every
// other one to the overflow meanwhile.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			l.over.take(c)
		}
	}
}

// slotConn gives its slot back when the server closes it (once: the server
// may close a connection more than once).
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
