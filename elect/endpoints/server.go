// Package endpoints serves the elect sidecar's HTTP endpoints: health,
// readiness, the current leader (JSON or a Server-Sent Events push), the
// retired contrib election sidecar's "GET /" and Prometheus metrics.
//
// The package knows nothing about Leases or client-go: elect feeds it state
// (Publish, SetReady, the Metrics methods) and it only renders that state.
package endpoints

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// DefaultHeartbeat is how often an idle event stream gets a comment line, so
// proxies and load balancers with idle timeouts (often 30-60 s) keep it open.
const DefaultHeartbeat = 15 * time.Second

// Defaults for the caps in Options. The endpoints serve probes, a metrics
// scraper and a few apps watching /leader: these leave room for that many
// times over, and keep a flood of connections (the port is reachable from
// every pod) to a few MB. See docs/design.md.
const (
	DefaultMaxConns      = 200
	DefaultMaxStreams    = 100
	DefaultOverflowConns = 256
)

// Options configures a Server. Every field is optional.
type Options struct {
	// Healthz reports whether the elector is wedged; a non-nil error makes
	// /healthz answer 500 with the error. elect passes its driver's check:
	// the election loop has been stuck in one step for over 10 s.
	Healthz func() error
	// Logger receives one line per served stream and per listener event.
	Logger *slog.Logger
	// Identity is this replica's identity, shown by /leader before the
	// first Publish.
	Identity string
	// LeaseName labels leader_election_master_status{name=...}, as client-go
	// labels its own metric of that name.
	LeaseName string
	// Clock judges "seconds since last renew"; tests pass a fake clock.
	Clock clock.PassiveClock
	// Heartbeat overrides DefaultHeartbeat for event streams (tests).
	Heartbeat time.Duration
	// MaxConns caps the connections the HTTP server holds at once, event
	// streams included; 0 means DefaultMaxConns. A connection beyond it is
	// answered by the overflow: 503 with Retry-After, except the health
	// probes, which are served there too.
	MaxConns int
	// MaxStreams caps the open /leader event streams; 0 means
	// DefaultMaxStreams. One more gets 503 with Retry-After. Keep it below
	// MaxConns so plain requests keep room.
	MaxStreams int
	// LogDropped, if set, counts the lines the process's log dropped
	// because its reader fell behind: leader_elector_log_lines_dropped_total.
	// Unset, the metric stays 0.
	LogDropped func() uint64
	// OverflowConns caps the connections beyond MaxConns held at once while
	// they send their request (at most a second each); 0 means
	// DefaultOverflowConns. A newer one evicts the oldest.
	OverflowConns int
}

// Server holds the state the endpoints render. Its methods are safe for
// concurrent use.
type Server struct {
	healthz   func() error
	log       *slog.Logger
	heartbeat time.Duration
	metrics   *Metrics
	hub       *hub
	closing   chan struct{} // closed when Serve's context ends: ends streams
	closeOnce sync.Once
	handler   http.Handler

	maxConns, overflowConns int
	streams                 chan struct{} // one token per open event stream

	mu          sync.Mutex
	ready       bool
	notReadyWhy string
}

// New returns a Server that is not ready and knows no leader yet.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	opts.MaxConns = orDefault(opts.MaxConns, DefaultMaxConns)
	opts.MaxStreams = orDefault(opts.MaxStreams, DefaultMaxStreams)
	opts.OverflowConns = orDefault(opts.OverflowConns, DefaultOverflowConns)
	metrics := newMetrics(opts.LeaseName, opts.Clock, opts.LogDropped)
	s := &Server{
		healthz:   opts.Healthz,
		log:       opts.Logger,
		heartbeat: opts.Heartbeat,
		metrics:   metrics,
		hub:       newHub(metrics.published),
		closing:   make(chan struct{}),

		maxConns:      opts.MaxConns,
		overflowConns: opts.OverflowConns,
		streams:       make(chan struct{}, opts.MaxStreams),
		notReadyWhy:   "starting: configuration not validated or API server not reached yet",
	}
	s.hub.latest.Identity = opts.Identity
	s.handler = s.routes()
	return s
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Metrics returns the counters and gauges elect updates.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Handler returns the endpoints' handler, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// routes maps the endpoints. Method-qualified patterns make ServeMux answer
// 405 (with an Allow header) for a wrong method and 404 for an unknown path.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveName)
	mux.HandleFunc("GET /healthz", s.serveHealthz)
	mux.HandleFunc("GET /readyz", s.serveReadyz)
	mux.HandleFunc("GET /leader", s.serveLeader)
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}
