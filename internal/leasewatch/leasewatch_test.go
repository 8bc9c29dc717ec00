package leasewatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/clock"
)

// The loop's rules, each case against a scripted API server. Every call,
// wait and callback goes into one transcript, so a case reads as the
// conversation it expects. The clock is virtual (a wait passes at once and
// is written down) and the jitter is exactly half of its range, so the
// numbers are exact. internal/leasewatch/realapi_test.go runs the loop
// against a real API server.

// reply is one scripted answer to a List or a Stream call.
type reply struct {
	err    error
	items  []string      // List: "name@rv"
	rv     string        // List
	events []watch.Event // Stream: then end
	end    error         // Stream: how it ends (nil: io.EOF, the server's timeout)
	lasts  time.Duration // Stream: how long it is open
}

type script struct {
	mu             sync.Mutex
	lists, streams []reply
	log            []string
	final          int
	now            time.Time
	idle           chan struct{}
}

func (s *script) add(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, fmt.Sprintf(format, args...))
}

func (s *script) next(ctx context.Context, script *[]reply) (reply, error) {
	s.mu.Lock()
	if len(*script) == 0 {
		s.final = len(s.log) // what comes after is the test's end
		s.mu.Unlock()
		s.idle <- struct{}{}
		<-ctx.Done()
		return reply{}, ctx.Err()
	}
	r := (*script)[0]
	*script = (*script)[1:]
	s.mu.Unlock()
	return r, r.err
}

func lease(nameRV string) *coordinationv1.Lease {
	name, rv, _ := strings.Cut(nameRV, "@")
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
}

func (s *script) List(ctx context.Context, o metav1.ListOptions) (*coordinationv1.LeaseList, error) {
	s.add("list rv=%q", o.ResourceVersion)
	r, err := s.next(ctx, &s.lists)
	if err != nil {
		return nil, err
	}
	list := &coordinationv1.LeaseList{ListMeta: metav1.ListMeta{ResourceVersion: r.rv}}
	for _, it := range r.items {
		list.Items = append(list.Items, *lease(it))
	}
	return list, nil
}

func (s *script) Stream(ctx context.Context, o metav1.ListOptions) (Stream, error) {
	if !o.AllowWatchBookmarks || o.TimeoutSeconds == nil {
		return nil, fmt.Errorf("watch options %+v: want bookmarks and a timeout", o)
	}
	s.add("watch rv=%s timeout=%ds", o.ResourceVersion, *o.TimeoutSeconds)
	r, err := s.next(ctx, &s.streams)
	if err != nil {
		return nil, err
	}
	return &stream{s: s, r: r}, nil
}

type stream struct {
	s      *script
	r      reply
	closed bool
}

func (st *stream) Decode() (watch.EventType, runtime.Object, error) {
	if len(st.r.events) > 0 {
		ev := st.r.events[0]
		st.r.events = st.r.events[1:]
		return ev.Type, ev.Object, nil
	}
	st.s.mu.Lock()
	st.s.now = st.s.now.Add(st.r.lasts)
	st.s.mu.Unlock()
	if st.r.end != nil {
		return "", nil, st.r.end
	}
	return "", nil, io.EOF
}

func (st *stream) Close() error {
	if st.closed {
		st.s.add("closed twice")
	}
	st.closed = true
	return nil
}

// The handler's side of the transcript.
func (s *script) Replace(leases []*coordinationv1.Lease, rv string) {
	var names []string
	for _, l := range leases {
		names = append(names, l.Name+"@"+l.ResourceVersion)
	}
	s.add("replace [%s] rv=%s", strings.Join(names, " "), rv)
}

func (s *script) Apply(typ watch.EventType, l *coordinationv1.Lease) {
	s.add("%s %s@%s", strings.ToLower(string(typ)), l.Name, l.ResourceVersion)
}

func (s *script) Connection(err error) {
	if err != nil {
		s.add("failed: %v", err)
		return
	}
	s.add("answered")
}

// The virtual clock: a wait is written down and passes at once.
func (s *script) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *script) Since(t time.Time) time.Duration { return s.Now().Sub(t) }

func (s *script) After(d time.Duration) <-chan time.Time {
	s.add("wait %s", d)
	s.mu.Lock()
	s.now = s.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- s.now
	s.mu.Unlock()
	return ch
}

func (s *script) NewTimer(time.Duration) clock.Timer          { panic("not used") }
func (s *script) Sleep(time.Duration)                         { panic("not used") }
func (s *script) Tick(time.Duration) <-chan time.Time         { panic("not used") }
func (s *script) AfterFunc(time.Duration, func()) clock.Timer { panic("not used") }

// half makes every jitter exactly half its range.
func half(d time.Duration) time.Duration { return d / 2 }

func TestLoop(t *testing.T) {
	mod := func(nameRV string) watch.Event { return watch.Event{Type: watch.Modified, Object: lease(nameRV)} }
	del := func(nameRV string) watch.Event { return watch.Event{Type: watch.Deleted, Object: lease(nameRV)} }
	bookmark := func(rv string) watch.Event {
		return watch.Event{Type: watch.Bookmark, Object: &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv}}}
	}
	gone := watch.Event{Type: watch.Error, Object: &apierrors.NewResourceExpired("too old resource version: 10 (15)").ErrStatus}
	tooLarge := apierrors.NewTimeoutError("Too large resource version", 1)
	tooLarge.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeResourceVersionTooLarge, Message: "Too large resource version"}}
	refused := errors.New("connect: connection refused")
	internal := watch.Event{Type: watch.Error, Object: &apierrors.NewInternalError(errors.New("etcd is down")).ErrStatus}
	long := 10 * time.Minute

	tests := []struct {
		name    string
		cached  bool
		lists   []reply
		streams []reply
		want    string
	}{{
		name:    "the first list from the watch cache, then a watch from its version with bookmarks and a jittered timeout",
		cached:  true,
		lists:   []reply{{items: []string{"a@5"}, rv: "10"}},
		streams: []reply{{events: []watch.Event{mod("a@11"), del("a@12")}, lasts: long}},
		want: `list rv="0"; answered; replace [a@5] rv=10; watch rv=10 timeout=450s; answered; modified a@11; deleted a@12;
			watch rv=12 timeout=450s`,
	}, {
		name:    "without the cache the first list is consistent",
		lists:   []reply{{rv: "10"}},
		streams: []reply{},
		want:    `list rv=""; answered; replace [] rv=10; watch rv=10 timeout=450s`,
	}, {
		name:    "the server's timeout ends the stream: watch again from the last bookmark, without a list",
		lists:   []reply{{items: []string{"a@5"}, rv: "10"}},
		streams: []reply{{events: []watch.Event{mod("a@11"), bookmark("15")}, lasts: long}, {events: []watch.Event{mod("a@16")}, lasts: long}},
		want: `list rv=""; answered; replace [a@5] rv=10; watch rv=10 timeout=450s; answered; modified a@11;
			watch rv=15 timeout=450s; answered; modified a@16; watch rv=16 timeout=450s`,
	}, {
		name:   "an expired version mid-stream: a consistent list at once, not reported as a failure; its Replace drops what vanished",
		cached: true,
		lists:  []reply{{items: []string{"a@5", "b@6"}, rv: "10"}, {items: []string{"a@12"}, rv: "20"}},
		streams: []reply{{events: []watch.Event{mod("a@11"), gone}, lasts: long},
			{events: []watch.Event{mod("a@21")}, lasts: long}},
		want: `list rv="0"; answered; replace [a@5 b@6] rv=10; watch rv=10 timeout=450s; answered; modified a@11;
			list rv=""; answered; replace [a@12] rv=20; watch rv=20 timeout=450s; answered; modified a@21; watch rv=21 timeout=450s`,
	}, {
		name:  "a resumed watch refused as expired lists again at once",
		lists: []reply{{rv: "10"}, {rv: "30"}},
		streams: []reply{{events: []watch.Event{bookmark("15")}, lasts: long},
			{err: apierrors.NewResourceExpired("too old resource version")}},
		want: `list rv=""; answered; replace [] rv=10; watch rv=10 timeout=450s; answered;
			watch rv=15 timeout=450s; list rv=""; answered; replace [] rv=30; watch rv=30 timeout=450s`,
	}, {
		name:    "a watch from a list's own version refused as expired or too large: wait before listing again",
		lists:   []reply{{rv: "10"}, {rv: "11"}, {rv: "12"}},
		streams: []reply{{err: apierrors.NewGone("gone")}, {err: tooLarge}},
		want: `list rv=""; answered; replace [] rv=10; watch rv=10 timeout=450s; wait 1.5s;
			list rv=""; answered; replace [] rv=11; watch rv=11 timeout=450s; wait 3s;
			list rv=""; answered; replace [] rv=12; watch rv=12 timeout=450s`,
	}, {
		name:   "a cached list refused as too old: a consistent list at once",
		cached: true,
		lists:  []reply{{err: apierrors.NewResourceExpired("too old")}, {rv: "10"}},
		want:   `list rv="0"; list rv=""; answered; replace [] rv=10; watch rv=10 timeout=450s`,
	}, {
		name:  "an unreachable server: waits double, jittered, and start over once a watch opens",
		lists: []reply{{err: refused}, {err: refused}, {err: refused}, {rv: "10"}},
		streams: []reply{{err: refused}, {events: []watch.Event{mod("a@11")}, end: io.ErrUnexpectedEOF},
			{err: refused}},
		want: `list rv=""; failed: connect: connection refused; wait 1.5s; list rv=""; failed: connect: connection refused; wait 3s;
			list rv=""; failed: connect: connection refused; wait 6s; list rv=""; answered; replace [] rv=10;
			watch rv=10 timeout=450s; failed: connect: connection refused; wait 12s;
			watch rv=10 timeout=450s; answered; modified a@11; failed: reading the lease watch: unexpected EOF;
			watch rv=11 timeout=450s; failed: connect: connection refused; wait 1.5s; watch rv=11 timeout=450s`,
	}, {
		name:  "the wait stops doubling at 30 s (45 s with the jitter)",
		lists: []reply{{err: refused}, {err: refused}, {err: refused}, {err: refused}, {err: refused}, {err: refused}, {err: refused}},
		want: `list rv=""; failed: connect: connection refused; wait 1.5s; list rv=""; failed: connect: connection refused; wait 3s;
			list rv=""; failed: connect: connection refused; wait 6s; list rv=""; failed: connect: connection refused; wait 12s;
			list rv=""; failed: connect: connection refused; wait 24s; list rv=""; failed: connect: connection refused; wait 45s;
			list rv=""; failed: connect: connection refused; wait 45s; list rv=""`,
	}, {
		name:    "a stream that breaks before any event waits before the next",
		lists:   []reply{{rv: "10"}},
		streams: []reply{{end: io.ErrUnexpectedEOF, lasts: long}},
		want: `list rv=""; answered; replace [] rv=10; watch rv=10 timeout=450s; answered;
			failed: reading the lease watch: unexpected EOF; wait 1.5s; watch rv=10 timeout=450s`,
	}, {
		name:    "a stream that ends at once without an event is not asked again in a tight loop; one that lasted is",
		lists:   []reply{{rv: "10"}},
		streams: []reply{{}, {lasts: QuickEnd}},
		want: `list rv=""; answered; replace [] rv=10; watch rv=10 timeout=450s; answered; wait 1.5s;
			watch rv=10 timeout=450s; answered; watch rv=10 timeout=450s`,
	}, {
		name:  "watches that open and fail at once: the waits still double",
		lists: []reply{{rv: "10"}},
		streams: []reply{{events: []watch.Event{internal}}, {events: []watch.Event{internal}}, {events: []watch.Event{internal}},
			{events: []watch.Event{mod("a@11")}, end: io.ErrUnexpectedEOF}, {events: []watch.Event{internal}}},
		want: `list rv=""; answered; replace [] rv=10; watch rv=10 timeout=450s; answered; failed: Internal error occurred: etcd is down; wait 1.5s;
			watch rv=10 timeout=450s; answered; failed: Internal error occurred: etcd is down; wait 3s;
			watch rv=10 timeout=450s; answered; failed: Internal error occurred: etcd is down; wait 6s;
			watch rv=10 timeout=450s; answered; modified a@11; failed: reading the lease watch: unexpected EOF;
			watch rv=11 timeout=450s; answered; failed: Internal error occurred: etcd is down; wait 1.5s; watch rv=11 timeout=450s`,
	}, {
		name:    "an event that is not a Lease breaks the stream",
		lists:   []reply{{rv: "10"}},
		streams: []reply{{events: []watch.Event{{Type: watch.Added, Object: &metav1.Status{}}}}},
		want: `list rv=""; answered; replace [] rv=10; watch rv=10 timeout=450s; answered;
			failed: reading the lease watch: ADDED event of *v1.Status, not a Lease; wait 1.5s; watch rv=10 timeout=450s`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{lists: tt.lists, streams: tt.streams, idle: make(chan struct{}, 1), now: time.Unix(1000, 0)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				Run(ctx, s, s, Options{CachedFirstList: tt.cached, RetryWait: time.Second, Clock: s, Rand: half})
			}()
			select {
			case <-s.idle: // a script used up
			case <-time.After(10 * time.Second):
				t.Fatalf("the scripts were not used up; transcript:\n%s", strings.Join(s.log, "\n"))
			}
			cancel()
			<-done
			want := strings.Join(strings.Fields(tt.want), " ")
			if got := strings.Join(s.log[:s.final], "; "); got != want {
				t.Errorf("transcript:\n%s\nwant:\n%s", strings.ReplaceAll(got, "; ", "\n"), strings.ReplaceAll(want, "; ", "\n"))
			}
		})
	}
}
