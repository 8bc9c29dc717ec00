package endpoints

import "sync"

// streamBuffer bounds how many unread states one event-stream client may
// queue. A client that falls further behind loses its oldest unread states
// and keeps the newest: for "who leads now" the latest state is the one that
// matters, and memory per client stays fixed.
const streamBuffer = 16

// hub holds the latest LeaderInfo and fans each change out to the open
// event streams without ever waiting for one of them.
type hub struct {
	mu     sync.Mutex
	latest LeaderInfo
	// changed is called with mu held for each state taken, so whatever it
	// feeds (the master_status metric) sees states in the streams' order.
	changed func(prev, next LeaderInfo)
	seq     uint64 // number of changes published, for tests and logs
	subs    map[*subscriber]struct{}
}

type subscriber struct {
	ch      chan LeaderInfo
	dropped uint64 // states discarded because the client was slow; guarded by hub.mu
}

func newHub(changed func(prev, next LeaderInfo)) *hub {
	if changed == nil {
		changed = func(LeaderInfo, LeaderInfo) {}
	}
	return &hub{subs: make(map[*subscriber]struct{}), changed: changed}
}

func (h *hub) current() (LeaderInfo, uint64, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latest, h.seq, len(h.subs)
}

// publish takes info unless it is stale or unchanged (see Server.Publish)
// and reports whether it did.
func (h *hub) publish(info LeaderInfo) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if stale(info, h.latest) {
		return false
	}
	if info.equal(h.latest) {
		return true
	}
	prev := h.latest
	h.latest = info
	h.seq++
	h.changed(prev, info)
	for sub := range h.subs {
		sub.offer(info)
	}
	return true
}

// offer queues info without blocking. When the client's buffer is full it
// drops the oldest unread state, so a slow client still reads states in
// order and always ends with the newest. offer is only called with hub.mu
// held, so it is the only sender: after it took one state out, its send
// cannot block (the reader can only make more room).
func (s *subscriber) offer(info LeaderInfo) {
	select {
	case s.ch <- info:
		return
	default:
	}
	select {
	case <-s.ch:
		s.dropped++
	default:
	}
	s.ch <- info
}

// subscribe registers a stream whose first state is the current one, so a
// client never has to make a second request to learn where things stand.
func (h *hub) subscribe() (*subscriber, func()) {
	sub := &subscriber{ch: make(chan LeaderInfo, streamBuffer)}
	h.mu.Lock()
	sub.ch <- h.latest
	h.subs[sub] = struct{}{}
	h.mu.Unlock()
	return sub, func() {
		h.mu.Lock()
		delete(h.subs, sub)
		h.mu.Unlock()
	}
}
