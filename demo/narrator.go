package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// narrator prints what the demo does, one timestamped line each. While the
// dashboard owns the terminal nothing else may write there, so lines are
// held and printed when it closes.
type narrator struct {
	mu      sync.Mutex
	w       io.Writer
	held    bool
	pending []string
	start   time.Time
}

func newNarrator(w io.Writer) *narrator { return &narrator{w: w, start: time.Now()} }

func (n *narrator) printf(format string, args ...any) {
	line := fmt.Sprintf("demo %6.1fs: %s\n", time.Since(n.start).Seconds(), fmt.Sprintf(format, args...))
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.held {
		n.pending = append(n.pending, line)
		return
	}
	io.WriteString(n.w, line)
}

// hold keeps lines back until resume.
func (n *narrator) hold() {
	n.mu.Lock()
	n.held = true
	n.mu.Unlock()
}

// resume prints the held lines and prints live again.
func (n *narrator) resume() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range n.pending {
		io.WriteString(n.w, l)
	}
	n.pending, n.held = nil, false
}
