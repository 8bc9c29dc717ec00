package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// DefaultQueueBytes bounds the log lines a Queue holds while its writer is
// slow: a few thousand lines, enough for a burst at debug level, and a
// bound on the memory a log nobody reads can take.
const DefaultQueueBytes = 256 << 10

// keepBuffer is the largest buffer kept between bursts; a bigger one (from
// a burst the writer fell behind on) is left to the garbage collector, so
// the sidecar's resident memory returns to its idle size.
const keepBuffer = 32 << 10

// Queue is the process log's writer. Its Write never blocks: it copies the
// line into a queue bounded in bytes, which one goroutine writes to the real
// writer. The log is for people reading; the election must never wait for
// it. A stderr that nobody reads (a stalled container log, a paused
// terminal) fills its pipe, and then a synchronous write blocks, and with it
// whatever logged: the election loop, on its way to removing the status
// file.
//
// When the queue is full a line is dropped and counted. The next line that
// is queued is preceded by a notice of how many were dropped, rendered by
// the notice function in the log's own format, so a JSON reader still parses
// every line and sees where the gap is.
type Queue struct {
	w        io.Writer
	notice   func(dropped uint64) []byte
	maxBytes int

	mu      sync.Mutex
	buf     []byte        // queued lines, whole lines only
	spare   []byte        // the writer goroutine's buffer, swapped with buf
	gap     uint64        // lines dropped since the last line queued
	idle    chan struct{} // closed while nothing is queued or being written
	closed  bool
	wake    chan struct{} // one token: there is something to write, or Close
	done    chan struct{} // closed when the writer goroutine has ended
	dropped atomic.Uint64 // every line dropped, for the metric
}

// NewQueue starts a Queue writing to w. notice renders the line that stands
// for dropped lines; maxBytes bounds the queue (0: DefaultQueueBytes). Call
// Close to write what is queued and end the goroutine.
func NewQueue(w io.Writer, notice func(dropped uint64) []byte, maxBytes int) *Queue {
	if maxBytes <= 0 {
		maxBytes = DefaultQueueBytes
	}
	q := &Queue{
		w:        w,
		notice:   notice,
		maxBytes: maxBytes,
		idle:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	close(q.idle)
	go q.run()
	return q
}

// Write queues a copy of p, which should be one or more whole lines (slog's
// handlers write one record per call), or drops it if the queue has no room
// for it and the notice it owes. It never blocks and never fails: a dropped
// line is counted, not an error, so the caller logs on as before.
func (q *Queue) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.drop()
		return len(p), nil
	}
	var notice []byte
	if q.gap > 0 {
		notice = q.notice(q.gap)
	}
	if len(q.buf)+len(notice)+len(p) > q.maxBytes {
		q.drop()
		return len(p), nil
	}
	q.buf = append(q.buf, notice...)
	q.buf = append(q.buf, p...)
	q.gap = 0
	q.busy()
	return len(p), nil
}

// drop counts one line that will never be written. mu is held.
func (q *Queue) drop() {
	q.gap++
	q.dropped.Add(1)
}

// busy marks the queue as holding lines and wakes the writer. mu is held.
func (q *Queue) busy() {
	select {
	case <-q.idle:
		q.idle = make(chan struct{})
	default:
	}
	select {
	case q.wake <- struct{}{}:
	default: // already woken
	}
}

// setIdle closes idle unless it is closed: a wake-up may find nothing left
// to write. mu is held.
func (q *Queue) setIdle() {
	select {
	case <-q.idle:
	default:
		close(q.idle)
	}
}

// Dropped is how many lines were dropped since the Queue started: for
// leader_elector_log_lines_dropped_total.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

// run writes what is queued, in order, until Close.
func (q *Queue) run() {
	defer close(q.done)
	for range q.wake {
		for {
			q.mu.Lock()
			if len(q.buf) == 0 {
				q.setIdle()
				closed := q.closed
				q.mu.Unlock()
				if closed {
					return
				}
				break
			}
			batch := q.buf
			q.buf, q.spare = q.spare[:0], nil
			q.mu.Unlock()

			n, err := q.w.Write(batch)
			q.mu.Lock()
			if err != nil {
				// Lost, like a dropped line; the notice goes out with the
				// next line, should the writer recover.
				lost := uint64(bytes.Count(batch[min(max(n, 0), len(batch)):], []byte{'\n'}))
				q.gap += lost
				q.dropped.Add(lost)
			}
			if cap(batch) <= keepBuffer {
				q.spare = batch[:0]
			}
			q.mu.Unlock()
		}
	}
}

// Flush waits until every line queued before it is written, or ctx ends.
func (q *Queue) Flush(ctx context.Context) error {
	q.mu.Lock()
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("log lines not written: the log's reader is not reading: %w", ctx.Err())
	}
}

// Close stops taking lines (later ones are dropped and counted), queues the
// notice of lines dropped since the last one queued, and waits until
// everything is written or ctx ends: a process on its way out must not hang
// on a stderr nobody reads. The writer goroutine then ends once its write
// returns, if ever. Close may be called more than once.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		if q.gap > 0 {
			// Past the bound if need be: it is one line, the last.
			q.buf = append(q.buf, q.notice(q.gap)...)
			q.gap = 0
		}
		q.busy()
	}
	q.mu.Unlock()
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("log lines not written on exit: the log's reader is not reading: %w", ctx.Err())
	}
}
