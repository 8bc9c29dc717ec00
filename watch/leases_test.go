package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwatch "k8s.io/apimachinery/pkg/watch"
)

// The Lease loop's contract with the API server, driven by a scripted
// client (the loop's decisions are pure logic; e2e/watche2e runs it against
// a real API server, restarts included).

// reply is one scripted answer to a List or a Stream call.
type reply struct {
	err    error
	items  []*coordinationv1.Lease // List
	rv     string                  // List
	events []apiwatch.Event        // Stream: then end
	end    error                   // Stream: how it ends (nil: io.EOF, the server's timeout)
}

// scriptedLeases answers List and Stream calls from its scripts in order;
// once a script is used up, a call waits for the test to end.
type scriptedLeases struct {
	mu             sync.Mutex
	lists, streams []reply
	calls          []string // "list rv=0", "stream rv=10", in order
	idle           chan struct{}
}

func (s *scriptedLeases) next(ctx context.Context, call string, script *[]reply) (reply, error) {
	s.mu.Lock()
	s.calls = append(s.calls, call)
	if len(*script) == 0 {
		s.mu.Unlock()
		select {
		case s.idle <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return reply{}, ctx.Err()
	}
	r := (*script)[0]
	*script = (*script)[1:]
	s.mu.Unlock()
	return r, r.err
}

func (s *scriptedLeases) List(ctx context.Context, o metav1.ListOptions) (*coordinationv1.LeaseList, error) {
	r, err := s.next(ctx, "list rv="+o.ResourceVersion, &s.lists)
	if err != nil {
		return nil, err
	}
	list := &coordinationv1.LeaseList{ListMeta: metav1.ListMeta{ResourceVersion: r.rv}}
	for _, l := range r.items {
		list.Items = append(list.Items, *l)
	}
	return list, nil
}

func (s *scriptedLeases) Stream(ctx context.Context, o metav1.ListOptions) (EventStream, error) {
	if !o.AllowWatchBookmarks || o.TimeoutSeconds == nil || *o.TimeoutSeconds < 300 || *o.TimeoutSeconds > 600 {
		return nil, fmt.Errorf("watch options %+v: want bookmarks and a 300-600 s timeout", o)
	}
	r, err := s.next(ctx, "stream rv="+o.ResourceVersion, &s.streams)
	if err != nil {
		return nil, err
	}
	return &scriptedStream{events: r.events, end: r.end}, nil
}

type scriptedStream struct {
	events []apiwatch.Event
	end    error
	closed bool
}

func (s *scriptedStream) Decode() (apiwatch.EventType, runtime.Object, error) {
	if len(s.events) > 0 {
		ev := s.events[0]
		s.events = s.events[1:]
		return ev.Type, ev.Object, nil
	}
	if s.end != nil {
		return "", nil, s.end
	}
	return "", nil, io.EOF
}

func (s *scriptedStream) Close() error {
	s.closed = true
	return nil
}

type allowAll struct{}

func (allowAll) Create(_ context.Context, r *authorizationv1.SelfSubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error) {
	r.Status.Allowed = true
	return r, nil
}

type servesNothing struct{}

func (servesNothing) Serves(context.Context, schema.GroupVersion, string) (bool, error) {
	return false, nil
}

func TestLeaseLoop(t *testing.T) {
	now := time.Now()
	held := func(name, holder, rv string, renewed time.Duration) *coordinationv1.Lease {
		l := lease("ns", name, holder, now, now.Add(renewed), 3600)
		l.ResourceVersion = rv
		return l
	}
	bookmark := func(rv string) apiwatch.Event {
		return apiwatch.Event{Type: apiwatch.Bookmark, Object: &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv}}}
	}
	modified := func(l *coordinationv1.Lease) apiwatch.Event {
		return apiwatch.Event{Type: apiwatch.Modified, Object: l}
	}
	expiredStatus := &apierrors.NewResourceExpired("too old resource version: 10 (15)").ErrStatus
	refused := errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")

	tests := []struct {
		name          string
		lists         []reply
		streams       []reply
		wantCalls     string
		wantEvents    string
		wantInMessage string
	}{{
		name:       "an expired version mid-stream lists again, consistently, and deletes what is gone",
		lists:      []reply{{items: []*coordinationv1.Lease{held("a", "x", "5", 0), held("b", "y", "6", 0)}, rv: "10"}, {items: []*coordinationv1.Lease{held("a", "x", "12", time.Second)}, rv: "20"}},
		streams:    []reply{{events: []apiwatch.Event{modified(held("a", "x", "11", time.Second)), {Type: apiwatch.Error, Object: expiredStatus}}}},
		wantCalls:  "list rv=0, stream rv=10, list rv=, stream rv=20",
		wantEvents: "added a, added b, synced, renewed a, deleted b",
	}, {
		name:       "a watch refused as expired lists again",
		lists:      []reply{{items: []*coordinationv1.Lease{held("a", "x", "5", 0)}, rv: "10"}, {items: []*coordinationv1.Lease{held("a", "z", "30", time.Second)}, rv: "30"}},
		streams:    []reply{{err: apierrors.NewResourceExpired("too old resource version")}},
		wantCalls:  "list rv=0, stream rv=10, list rv=, stream rv=30",
		wantEvents: "added a, synced, transition a",
	}, {
		name:       "the server's timeout ends the stream: watch again from the last bookmark, without a list",
		lists:      []reply{{items: []*coordinationv1.Lease{held("a", "x", "5", 0)}, rv: "10"}},
		streams:    []reply{{events: []apiwatch.Event{modified(held("a", "x", "11", time.Second)), bookmark("15")}}, {events: []apiwatch.Event{modified(held("a", "x", "16", 2*time.Second))}}},
		wantCalls:  "list rv=0, stream rv=10, stream rv=15, stream rv=16",
		wantEvents: "added a, synced, renewed a, renewed a",
	}, {
		name:          "a broken stream is reported at once, and its return too",
		lists:         []reply{{items: []*coordinationv1.Lease{held("a", "x", "5", 0)}, rv: "10"}},
		streams:       []reply{{events: []apiwatch.Event{modified(held("a", "x", "11", time.Second))}, end: io.ErrUnexpectedEOF}, {events: []apiwatch.Event{modified(held("a", "x", "12", 2*time.Second))}}},
		wantCalls:     "list rv=0, stream rv=10, stream rv=11, stream rv=12",
		wantEvents:    "added a, synced, renewed a, error lost, connected connected, renewed a",
		wantInMessage: "unexpected EOF",
	}, {
		name:          "an unreachable server: the list is retried, the failure shown and the recovery",
		lists:         []reply{{err: refused}, {items: []*coordinationv1.Lease{held("a", "x", "5", 0)}, rv: "10"}},
		streams:       []reply{{err: refused}, {events: []apiwatch.Event{modified(held("a", "x", "11", time.Second))}}},
		wantCalls:     "list rv=0, list rv=0, stream rv=10, stream rv=10, stream rv=11",
		wantEvents:    "error lost, connected connected, added a, synced, error lost, connected connected, renewed a",
		wantInMessage: "connection refused",
	}, {
		name:       "a stream that ends at once without an event is not asked again in a tight loop",
		lists:      []reply{{items: []*coordinationv1.Lease{held("a", "x", "5", 0)}, rv: "10"}},
		streams:    []reply{{end: io.EOF}, {end: io.EOF}, {events: []apiwatch.Event{modified(held("a", "x", "11", time.Second))}}},
		wantCalls:  "list rv=0, stream rv=10, stream rv=10, stream rv=10, stream rv=11",
		wantEvents: "added a, synced, renewed a",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			leases := &scriptedLeases{lists: tt.lists, streams: tt.streams, idle: make(chan struct{}, 1)}
			w := New(API{Leases: leases, Reviews: allowAll{}, Discovery: servesNothing{}}, Options{Namespace: "ns"})
			w.retryWait = 10 * time.Millisecond
			began := time.Now()
			runErr := make(chan error, 1)
			go func() { runErr <- w.Run(ctx) }()
			select {
			case <-leases.idle: // both scripts used up
			case <-time.After(10 * time.Second):
				t.Fatalf("the scripts were not used up; calls: %v", leases.calls)
			}
			took := time.Since(began)
			cancel()
			if err := <-runErr; err != nil {
				t.Fatalf("Run: %v", err)
			}
			var got []string
			var messages string
			for ev := range w.Events() {
				s := string(ev.Type) + " " + ev.Lease.Name
				if ev.Lease.Name == "" {
					s = string(ev.Type) + " " + string(ev.Connection)
				}
				got = append(got, strings.TrimSpace(s))
				messages += ev.Message + "\n"
			}
			if g := strings.Join(got, ", "); g != tt.wantEvents {
				t.Errorf("events: %s\nwant:   %s", g, tt.wantEvents)
			}
			if g := strings.Join(leases.calls, ", "); g != tt.wantCalls {
				t.Errorf("calls: %s\nwant:  %s", g, tt.wantCalls)
			}
			if !strings.Contains(messages, tt.wantInMessage) {
				t.Errorf("messages %q do not say %q", messages, tt.wantInMessage)
			}
			if strings.Contains(tt.name, "tight loop") && took < 2*w.retryWait {
				t.Errorf("two empty streams were asked again within %s, want a wait of at least %s each", took, w.retryWait)
			}
		})
	}
}
