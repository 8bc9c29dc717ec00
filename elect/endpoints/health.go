package endpoints

import (
	"fmt"
	"net/http"
)

// SetReady marks the sidecar ready (its configuration is valid and the API
// server answered) or not ready for a generic reason.
//
// Readiness deliberately never depends on leadership: a Deployment's rolling
// update waits for new pods to become ready before it stops old ones, so if
// only the leader were ready, the new pods (all followers while the old
// leader holds the Lease) would never become ready, the old leader would
// never be stopped, and the rollout would deadlock. A Service that must reach
// only the leader should ask /leader instead.
func (s *Server) SetReady(ready bool) {
	if ready {
		s.setReadiness(true, "")
		return
	}
	s.setReadiness(false, "not ready: API server not reachable")
}

// SetNotReady marks the sidecar not ready and says why; /readyz shows the
// reason so `kubectl describe pod` explains the failing probe.
func (s *Server) SetNotReady(reason string) { s.setReadiness(false, reason) }

func (s *Server) setReadiness(ready bool, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready, s.notReadyWhy = ready, why
}

func (s *Server) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	ready, why := s.ready, s.notReadyWhy
	s.mu.Unlock()
	if !ready {
		plain(w, http.StatusServiceUnavailable, why)
		return
	}
	plain(w, http.StatusOK, "ok")
}

// serveHealthz answers 500 only when the elector is wedged, so the kubelet
// restarts a sidecar that holds the Lease but can no longer renew it.
func (s *Server) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	if s.healthz != nil {
		if err := s.healthz(); err != nil {
			plain(w, http.StatusInternalServerError, "unhealthy: "+err.Error())
			return
		}
	}
	plain(w, http.StatusOK, "ok")
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, body)
}
