package elect

import "sync"

// serial runs tasks one at a time, in the order given, each on a task of
// the host. Unlike a mutex held across a request, a caller never waits:
// the loop hands work over and goes on.
type serial struct {
	rt      host
	mu      sync.Mutex // held for a few instructions, never across a task
	queue   []func()
	running bool
}

// do queues task behind the ones already queued.
func (s *serial) do(task func()) {
	s.mu.Lock()
	s.queue = append(s.queue, task)
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		s.rt.spawn(s.drain)
	}
}

func (s *serial) drain() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		task := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		task()
	}
}
