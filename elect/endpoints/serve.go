package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// Timeouts and sizes of the HTTP server. Every client of a sidecar is
// local or a probe and sends its request at once, so a connection that has
// not sent its headers within seconds is not a client worth its memory.
const (
	readHeaderTimeout = 3 * time.Second
	// idleTimeout closes a keep-alive connection between requests; a
	// scraper or a poller reconnecting costs less than idle sockets.
	idleTimeout = 5 * time.Second
	// maxHeaderBytes keeps each connection's header buffer small (net/http
	// allows 1 MB by default); our requests carry a few short headers.
	maxHeaderBytes = 4 << 10
)

// shutdownGrace bounds how long Serve waits for in-flight requests once its
// context ends; event streams are ended at once, so only plain requests wait.
const shutdownGrace = 5 * time.Second

// Listen binds addr for the endpoints. A failure is a configuration error
// (exit 2): the fix is another --http-addr, not a restart. elect calls it
// before touching the Lease, so a busy port fails fast.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, exitcode.Configf("cannot listen on %s: %w; pass --http-addr with a free port or empty to disable", addr, listenCause(err))
	}
	return ln, nil
}

// listenCause strips "listen tcp :4040: bind:" to the reason a user can act
// on ("address already in use"), since Listen's message already names addr.
func listenCause(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

// Serve listens on addr and serves until ctx ends; see Listen and
// ServeListener.
func (s *Server) Serve(ctx context.Context, addr string) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves the endpoints on ln until ctx ends, then ends the
// event streams and shuts down gracefully. It returns nil after a clean
// shutdown. It closes ln. At most Options.MaxConns connections are served
// at once; see overflow for the others.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln = newConnLimiter(ln, s.maxConns, newOverflow(s.overflowConns, s.handler))
	s.log.Info("serving endpoints", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serving endpoints on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	// Streams never go idle on their own: end them first, or Shutdown would
	// wait out its whole grace for them.
	s.closeOnce.Do(func() { close(s.closing) })
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutting down endpoints on %s: %w", ln.Addr(), err)
	}
	<-errc // http.ErrServerClosed
	return nil
}
