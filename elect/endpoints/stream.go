package endpoints

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// streamWriteTimeout drops a client whose connection accepts nothing for this
// long, so a dead peer does not pin a goroutine forever.
const streamWriteTimeout = 30 * time.Second

// streamLeader pushes the current LeaderInfo, then every change, as
// Server-Sent Events ("data: {...}\n\n"), with a comment line every
// heartbeat so idle proxies keep the connection open.
func (s *Server) streamLeader(w http.ResponseWriter, r *http.Request) {
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		// Plain GET /leader still answers: only the long-lived streams,
		// which hold a connection and a goroutine each, are capped.
		w.Header().Set("Retry-After", "5")
		plain(w, http.StatusServiceUnavailable, "busy: too many event streams, retry later or GET /leader without Accept: text/event-stream")
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)

	sub, unsubscribe := s.hub.subscribe()
	defer unsubscribe()
	s.log.Debug("leader event stream opened", "remote", r.RemoteAddr)
	defer s.log.Debug("leader event stream closed", "remote", r.RemoteAddr)

	ticker := time.NewTicker(s.heartbeat)
	defer ticker.Stop()
	for {
		var frame []byte
		select {
		case info := <-sub.ch:
			b, err := json.Marshal(info)
			if err != nil {
				s.log.Error("encoding leader event", "err", err)
				return
			}
			frame = fmt.Appendf(nil, "data: %s\n\n", b)
		case <-ticker.C:
			frame = []byte(": heartbeat\n\n")
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
		// SetWriteDeadline fails on writers without deadlines (httptest's
		// recorder); the stream still works there, only without the timeout.
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(frame); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
