package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// Fleet watches several clusters (one Watcher per kubeconfig context) as
// one stream. Each Watcher stamps its events with its context, and a
// context that fails never stops or hides the others.
type Fleet struct {
	watchers []*Watcher
	out      chan Event
}

// NewFleet merges the watchers' streams. Give each its Options.Context.
func NewFleet(watchers ...*Watcher) *Fleet {
	f := &Fleet{watchers: watchers}
	if len(watchers) > 1 {
		f.out = make(chan Event, 256)
	}
	return f
}

// Events is the merged stream: each context's events in their own order,
// interleaved as they come. It is closed when Run returns. With one
// watcher it is that watcher's own stream: no extra hop per event.
func (f *Fleet) Events() <-chan Event {
	if len(f.watchers) == 1 {
		return f.watchers[0].Events()
	}
	return f.out
}

// Run runs every watcher until ctx is done. With one watcher it returns
// that watcher's error, as Watcher.Run does. With several, a watcher that
// fails becomes an error event of its context (ConnStopped, the error as
// message and, when it is a Failure, its Resource and Reason; after the
// events that came before it) and the others go on; Run returns an error
// only when every one failed, naming each context (the exit code is the
// first one's).
func (f *Fleet) Run(ctx context.Context) error {
	if len(f.watchers) == 1 {
		return f.watchers[0].Run(ctx)
	}
	defer close(f.out)
	errs := make([]error, len(f.watchers))
	var wg sync.WaitGroup
	for i, w := range f.watchers {
		runErr := make(chan error, 1)
		go func() { runErr <- w.Run(ctx) }()
		wg.Go(func() {
			// Events is closed once Run has returned and its queue is drained.
			for ev := range w.Events() {
				f.send(ctx, ev)
			}
			errs[i] = <-runErr
			if errs[i] != nil && !errors.Is(errs[i], context.Canceled) {
				ev := Event{Type: EventError, Time: w.clock.Now(), Context: w.opts.Context,
					Connection: ConnStopped, Message: errs[i].Error()}
				if fl, ok := failureOf(errs[i]); ok {
					ev.Resource, ev.Reason = fl.Resource, fl.Reason
				}
				f.send(ctx, ev)
			}
		})
	}
	wg.Wait()
	var failed []error
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			failed = append(failed, ContextError(f.watchers[i].opts.Context, err))
		}
	}
	if len(failed) == len(f.watchers) {
		return errors.Join(failed...)
	}
	return nil
}

// ContextError names the context err happened in and keeps err's exit
// code (1 when it has none), so that errors.Join of several contexts'
// errors ends the process with the first one's code.
func ContextError(context string, err error) error {
	code := exitcode.Runtime
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		code = coded.ExitCode()
	}
	return exitcode.WithCode(code, fmt.Errorf("context %s: %w", context, err))
}

func (f *Fleet) send(ctx context.Context, ev Event) {
	select {
	case f.out <- ev:
	case <-ctx.Done():
	}
}

// Snapshot runs w until its initial list is complete and returns the
// states listed, in namespace/name order, for a one-shot table (watch
// --once). It returns Run's error when the watch fails first, and ctx's
// when ctx ends first.
func (w *Watcher) Snapshot(ctx context.Context) ([]LeaseState, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(ctx) }()
	var states []LeaseState
	index := map[string]int{}
	synced := false
	for ev := range w.Events() {
		if synced {
			continue // draining after cancel
		}
		switch {
		case ev.Type == EventSynced:
			synced = true
			cancel()
		case ev.Type == EventDeleted:
			if i, ok := index[ev.Lease.Key()]; ok {
				states[i] = LeaseState{}
			}
		case ev.Lease.Name != "":
			if i, ok := index[ev.Lease.Key()]; ok {
				states[i] = ev.Lease
			} else {
				index[ev.Lease.Key()] = len(states)
				states = append(states, ev.Lease)
			}
		}
	}
	err := <-runErr
	if !synced {
		if err == nil {
			err = context.Cause(ctx)
		}
		return nil, err
	}
	out := states[:0]
	for _, s := range states {
		if s.Name != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// Context is the kubeconfig context the watcher was given.
func (w *Watcher) Context() string { return w.opts.Context }
