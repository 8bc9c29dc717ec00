package leaselock

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
)

type getResult struct {
	rec *rl.LeaderElectionRecord
	raw []byte
	err error
	at  time.Time
}

func getAsync(ctx context.Context, l *Lock) <-chan getResult {
	ch := make(chan getResult, 1)
	go func() {
		rec, raw, err := l.Get(ctx)
		ch <- getResult{rec, raw, err, time.Now()}
	}()
	return ch
}

// A holder that keeps renewing never lets a follower's Get return; once it
// stops, Get returns only after the lease ran out counted from its last
// renewal, with the holder cleared and the bytes the caller saw before, and
// the follower's Update then wins.
func TestGetWaitsOutHiddenRenewals(t *testing.T) {
	ns, admin := cp.Namespace(t), cp.Client(t, cp.Admin)
	putLease(t, admin, ns, "l", "other", 2)
	api := &apiLog{}
	l := newLock(t, ns, "l", "me", api)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	first, firstRaw, err := l.Get(ctx)
	if err != nil || first.HolderIdentity != "other" {
		t.Fatalf("first Get = %+v, %v; want holder other at once", first, err)
	}
	res := getAsync(ctx, l)
	var lastRenew time.Time
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
		lastRenew = time.Now()
		putLease(t, admin, ns, "l", "other", 2)
		select {
		case r := <-res:
			t.Fatalf("Get returned %+v, %v while the holder was renewing", r.rec, r.err)
		default:
		}
	}
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.rec.HolderIdentity != "" {
		t.Errorf("Get at expiry returned holder %q, want it cleared", r.rec.HolderIdentity)
	}
	if !bytes.Equal(r.raw, firstRaw) {
		t.Errorf("Get at expiry returned raw %s, want the bytes the caller saw before: %s", r.raw, firstRaw)
	}
	if earliest := lastRenew.Add(2 * time.Second); r.at.Before(earliest) {
		t.Errorf("Get returned at %s, before the lease ran out at %s (last renewal sent + 2s)", r.at.Format(time.StampMicro), earliest.Format(time.StampMicro))
	}
	now := metav1.Now()
	if err := l.Update(ctx, rl.LeaderElectionRecord{HolderIdentity: "me", LeaseDurationSeconds: 2, AcquireTime: now, RenewTime: now, LeaderTransitions: r.rec.LeaderTransitions + 1}); err != nil {
		t.Fatalf("taking the expired lease: %v", err)
	}
	if gets := api.since(time.Time{}, "get"); len(gets) != 1 {
		t.Errorf("follower made %d GETs, want 1 (the first Get)", len(gets))
	}
}

// After a failed write the next Get reads the API exactly once; the one
// after that is served from the watch again and blocks; ending its context
// unblocks it with the context's error, not a NotFound that would make the
// elector create the Lease.
func TestConflictReadsOnceThenWatches(t *testing.T) {
	ns, admin := cp.Namespace(t), cp.Client(t, cp.Admin)
	putLease(t, admin, ns, "l", "other", 3600)
	api := &apiLog{}
	l := newLock(t, ns, "l", "me", api)
	ctx := context.Background()
	if _, _, err := l.Get(ctx); err != nil {
		t.Fatal(err)
	}
	renewed := putLease(t, admin, ns, "l", "other", 3600)

	now := metav1.Now()
	err := l.Update(ctx, rl.LeaderElectionRecord{HolderIdentity: "me", LeaseDurationSeconds: 4, AcquireTime: now, RenewTime: now})
	if !apierrors.IsConflict(err) {
		t.Fatalf("Update over a stale copy = %v, want a conflict", err)
	}
	rec, _, err := l.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.RenewTime.Time.Equal(renewed.Spec.RenewTime.Time.Truncate(time.Second)) && !rec.RenewTime.Time.Equal(renewed.Spec.RenewTime.Time) {
		t.Errorf("Get after the conflict returned renewTime %s, want the renewal %s", rec.RenewTime, renewed.Spec.RenewTime)
	}
	if gets := api.since(time.Time{}, "get"); len(gets) != 2 {
		t.Fatalf("GETs after one conflict = %d, want 2 (first Get, one read after the conflict)", len(gets))
	}

	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, time.Second) }, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			c, cancel := context.WithCancel(ctx)
			time.AfterFunc(300*time.Millisecond, cancel)
			return c, cancel
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, cancel := tc.ctx()
			defer cancel()
			_, _, err := l.Get(c)
			if !errors.Is(err, tc.want) || apierrors.IsNotFound(err) {
				t.Errorf("blocked Get ended with %v, want %v", err, tc.want)
			}
		})
	}
	if gets := api.since(time.Time{}, "get"); len(gets) != 2 {
		t.Errorf("GETs after blocked Gets = %d, want still 2", len(gets))
	}
}

// A watch broken by an API server restart relists without waking a blocked
// follower; a change after it still wakes it.
func TestRelistDoesNotWakeFollower(t *testing.T) {
	ns, admin := cp.Namespace(t), cp.Client(t, cp.Admin)
	putLease(t, admin, ns, "l", "other", 3600)
	api := &apiLog{}
	l := newLock(t, ns, "l", "me", api)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := l.Get(ctx); err != nil {
		t.Fatal(err)
	}
	res := getAsync(ctx, l)
	waitFor(t, 10*time.Second, "the follower's watch", func() bool { return len(api.since(time.Time{}, "watch")) > 0 })

	restarted := time.Now()
	if err := cp.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the follower to list or watch again", func() bool {
		for _, r := range api.since(restarted, "") {
			if (r.verb == "watch" || r.verb == "list") && r.status == 200 {
				return true
			}
		}
		return false
	})
	time.Sleep(500 * time.Millisecond) // let the relisted events reach the lock
	select {
	case r := <-res:
		t.Fatalf("Get woke on the relist: %+v, %v", r.rec, r.err)
	default:
	}

	putLease(t, cp.Client(t, cp.Admin), ns, "l", "third", 3600)
	select {
	case r := <-res:
		if r.err != nil || r.rec.HolderIdentity != "third" {
			t.Errorf("Get after a new holder = %+v, %v; want holder third", r.rec, r.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Get did not wake on a new holder after the relist")
	}
	if gets := api.since(time.Time{}, "get"); len(gets) != 1 {
		t.Errorf("follower made %d GETs, want 1", len(gets))
	}
}

// A Lease deleted by a third party: the follower waits out the last holder's
// term before reporting NotFound (which makes the elector create it), and if
// the holder recreates it meanwhile, it is still the holder's.
func TestDeletedLease(t *testing.T) {
	for _, tc := range []struct {
		name      string
		recreate  bool
		wantFound bool
	}{
		{"left deleted", false, false},
		{"recreated by its holder", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, admin := cp.Namespace(t), cp.Client(t, cp.Admin)
			written := time.Now()
			putLease(t, admin, ns, "l", "other", 2)
			l := newLock(t, ns, "l", "me", &apiLog{})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, _, err := l.Get(ctx); err != nil {
				t.Fatal(err)
			}
			res := getAsync(ctx, l)
			if err := admin.CoordinationV1().Leases(ns).Delete(ctx, "l", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if tc.recreate {
				time.Sleep(500 * time.Millisecond)
				written = time.Now()
				putLease(t, admin, ns, "l", "other", 2)
			}
			r := <-res
			if earliest := written.Add(2 * time.Second); r.at.Before(earliest) {
				t.Errorf("Get returned at %s, before the holder's term ended at %s", r.at.Format(time.StampMicro), earliest.Format(time.StampMicro))
			}
			if tc.wantFound {
				if r.err != nil || r.rec.HolderIdentity != "" {
					t.Errorf("Get = %+v, %v; want the recreated lease, expired", r.rec, r.err)
				}
				return
			}
			if !apierrors.IsNotFound(r.err) {
				t.Fatalf("Get = %+v, %v; want NotFound", r.rec, r.err)
			}
			now := metav1.Now()
			if err := l.Create(ctx, rl.LeaderElectionRecord{HolderIdentity: "me", LeaseDurationSeconds: 2, AcquireTime: now, RenewTime: now}); err != nil {
				t.Errorf("creating the deleted lease: %v", err)
			}
		})
	}
}

// After this process stops holding the Lease, the elector that held it goes
// on calling Get from its renew loop and its release: those return at once,
// from the watch, for one of our terms. Forget (for a new elector) makes the
// next Get read the API, and the one after it block again.
func TestGetDoesNotBlockRightAfterLosing(t *testing.T) {
	ns, admin := cp.Namespace(t), cp.Client(t, cp.Admin)
	api := &apiLog{}
	l := newLock(t, ns, "l", "me", api)
	ctx := context.Background()
	if _, _, err := l.Get(ctx); !apierrors.IsNotFound(err) {
		t.Fatalf("Get of a missing lease = %v, want NotFound", err)
	}
	now := metav1.Now()
	if err := l.Create(ctx, rl.LeaderElectionRecord{HolderIdentity: "me", LeaseDurationSeconds: 30, AcquireTime: now, RenewTime: now}); err != nil {
		t.Fatal(err)
	}
	putLease(t, admin, ns, "l", "other", 3600) // taken from us
	if rec, _, err := l.Get(ctx); err != nil || rec.HolderIdentity != "other" {
		t.Fatalf("holder's Get = %+v, %v; want the API's record, held by other", rec, err)
	}
	gets := len(api.since(time.Time{}, "get"))

	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if rec, _, err := l.Get(short); err != nil || rec.HolderIdentity != "other" {
		t.Errorf("Get right after losing = %+v, %v; want other at once", rec, err)
	}
	if n := len(api.since(time.Time{}, "get")); n != gets {
		t.Errorf("Get right after losing read the API (%d GETs, want %d)", n, gets)
	}

	l.Forget()
	if rec, _, err := l.Get(ctx); err != nil || rec.HolderIdentity != "other" {
		t.Errorf("Get after Forget = %+v, %v; want other at once", rec, err)
	}
	blocked, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	if _, _, err := l.Get(blocked); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Get after Forget = %v, want it blocked until its deadline", err)
	}
}

// A client Timeout (elect bounds every request by half the renew deadline)
// would end each watch after that long: the lock watches on the same
// transport without it, and with a WatchClient if given.
func TestWatchClientKeepsOneWatch(t *testing.T) {
	ns, admin := cp.Namespace(t), cp.Client(t, cp.Admin)
	putLease(t, admin, ns, "l", "other", 3600)
	for _, tc := range []struct {
		name        string
		watchClient bool
		wantOne     bool
	}{
		{"client with a timeout", false, true},
		{"watch client", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bounded := rest.CopyConfig(cp.Admin)
			bounded.Timeout = time.Second
			api, watchAPI := &apiLog{}, &apiLog{}
			opts := Options{Logger: testLogger()}
			if tc.watchClient {
				opts.WatchClient = cp.Client(t, watchAPI.config(cp.Admin))
			} else {
				watchAPI = api
			}
			l := New(cp.Client(t, api.config(bounded)), ns, "l", rl.ResourceLockConfig{Identity: "me"}, opts)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			l.Start(ctx)
			time.Sleep(4 * time.Second)
			n := len(watchAPI.since(time.Time{}, "watch"))
			if (n == 1) != tc.wantOne {
				t.Errorf("%d watch requests in 4s, want one: %v", n, tc.wantOne)
			}
			if tc.watchClient && len(api.since(time.Time{}, "watch")) != 0 {
				t.Errorf("the main client watched too")
			}
		})
	}
}
