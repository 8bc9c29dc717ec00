package endpoints

import (
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/utils/clock"
)

// Metrics are the sidecar's Prometheus metrics, on a registry of their own:
// nothing here touches prometheus.DefaultRegisterer, so tests and several
// Servers in one process never collide. Methods are safe for concurrent use.
type Metrics struct {
	clock clock.PassiveClock
	reg   *prometheus.Registry

	masterStatus prometheus.Gauge
	transitions  prometheus.Counter
	renewErrors  prometheus.Counter
	collisions   prometheus.Counter

	mu        sync.Mutex
	leading   bool
	lastRenew time.Time
}

func newMetrics(leaseName string, clk clock.PassiveClock) *Metrics {
	m := &Metrics{clock: clk, reg: prometheus.NewRegistry()}
	// Same name, help and label as client-go's (component-base) metric, so
	// dashboards and alerts written for controllers work unchanged.
	m.masterStatus = prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "leader_election_master_status",
		Help:        "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
		ConstLabels: prometheus.Labels{"name": leaseName},
	})
	m.transitions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "leader_elector_transitions_total",
		Help: "Times this replica acquired leadership.",
	})
	m.renewErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "leader_elector_renew_errors_total",
		Help: "Failed attempts to renew or acquire the Lease.",
	})
	m.collisions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "leader_elector_identity_collisions_total",
		Help: "Writes to the Lease under this replica's identity that this process did not make: another live replica uses the same identity.",
	})
	lastRenew := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "leader_elector_last_renew_timestamp_seconds",
		Help: "Unix time of this replica's last successful renewal of the Lease; 0 if it never renewed.",
	}, func() float64 {
		t := m.lastRenewTime()
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixNano()) / 1e9
	})
	sinceRenew := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "leader_elector_seconds_since_last_renew",
		Help: "Seconds since this replica's last successful renewal of the Lease; NaN if it never renewed.",
	}, func() float64 {
		t := m.lastRenewTime()
		if t.IsZero() {
			return math.NaN()
		}
		return m.clock.Since(t).Seconds()
	})
	m.reg.MustRegister(m.masterStatus, m.transitions, m.renewErrors, m.collisions, lastRenew, sinceRenew,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// published follows a state Publish took; the hub calls it in publish
// order. A term that begins (leading after not leading, or a new Term)
// counts one transition.
func (m *Metrics) published(prev, next LeaderInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if next.IsLeader && (!m.leading || next.Term != prev.Term) {
		m.transitions.Inc()
	}
	m.leading = next.IsLeader
	if next.IsLeader {
		m.masterStatus.Set(1)
	} else {
		m.masterStatus.Set(0)
	}
}

// RenewSucceeded records a successful renewal; at is when it happened, as
// read from the same clock the Server was given.
func (m *Metrics) RenewSucceeded(at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if at.After(m.lastRenew) {
		m.lastRenew = at
	}
}

// RenewFailed counts a failed attempt to renew or acquire the Lease.
func (m *Metrics) RenewFailed() { m.renewErrors.Inc() }

// Collision counts a detected identity collision.
func (m *Metrics) Collision() { m.collisions.Inc() }

// Gatherer exposes the registry, for tests that read the metrics directly.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

func (m *Metrics) lastRenewTime() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastRenew
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
