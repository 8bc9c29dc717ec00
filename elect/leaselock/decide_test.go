package leaselock

import (
	"strconv"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// The follower's decision, with a fake clock: which events wake the elector,
// and when a lease counts as expired. Pure logic, so a fake clientset (never
// called) is enough; the tests against the API server cover the rest.
func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := 15 * time.Second
	type step struct {
		at      time.Duration // since t0
		holder  string        // "-" for a deletion
		rv      int
		renewAt time.Duration // the renewTime written (another clock: ignored)
	}
	for _, tc := range []struct {
		name      string
		told      string // holder the elector was last told; "" for none
		steps     []step
		lostUntil time.Duration
		now       time.Duration
		want      action
		wantUntil time.Duration
	}{
		{"first look", "", []step{{0, "a", 1, 0}}, 0, 1 * time.Second, tell, 0},
		{"holder changed", "a", []step{{0, "a", 1, 0}, {5 * time.Second, "b", 2, 0}}, 0, 5 * time.Second, tell, 0},
		{"released", "a", []step{{0, "a", 1, 0}, {5 * time.Second, "", 2, 0}}, 0, 5 * time.Second, tell, 0},
		{"renewing: wait from the last renewal seen", "a",
			[]step{{0, "a", 1, 0}, {2 * time.Second, "a", 2, 2 * time.Second}, {4 * time.Second, "a", 3, 4 * time.Second}},
			0, 10 * time.Second, wait, 4*time.Second + d + expiryMargin},
		{"expired on our clock", "a",
			[]step{{0, "a", 1, 0}, {4 * time.Second, "a", 3, 4 * time.Second}},
			0, 4*time.Second + d + expiryMargin, vacant, 0},
		{"renewTime from a clock far ahead changes nothing", "a",
			[]step{{0, "a", 1, 0}, {4 * time.Second, "a", 3, time.Hour}},
			0, 10 * time.Second, wait, 4*time.Second + d + expiryMargin},
		{"a relisted copy is not a renewal", "a",
			[]step{{0, "a", 1, 0}, {6 * time.Second, "a", 1, 0}},
			0, 10 * time.Second, wait, d + expiryMargin},
		{"an event older than what we know is ignored", "a",
			[]step{{0, "a", 5, 0}, {3 * time.Second, "b", 4, 0}},
			0, 4 * time.Second, wait, d + expiryMargin},
		{"deleted while the holder's term runs", "a",
			[]step{{0, "a", 1, 0}, {3 * time.Second, "-", 2, 0}},
			0, 4 * time.Second, wait, d + expiryMargin},
		{"deleted and the term is over", "a",
			[]step{{0, "a", 1, 0}, {3 * time.Second, "-", 2, 0}},
			0, d + expiryMargin, gone, 0},
		{"deleted after a release", "",
			[]step{{0, "", 1, 0}, {1 * time.Second, "-", 2, 0}},
			0, 2 * time.Second, gone, 0},
		{"held under our identity by another process", "me",
			[]step{{0, "me", 1, 0}}, 0, 1 * time.Second, read, 0},
		{"just lost the lease: never block", "a",
			[]step{{0, "a", 1, 0}, {1 * time.Second, "a", 2, time.Second}}, 10 * time.Second, 2 * time.Second, tell, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(t0)
			l := New(fake.NewClientset(), "ns", "l", rl.ResourceLockConfig{Identity: "me"}, Options{Clock: clk})
			for _, s := range tc.steps {
				clk.SetTime(t0.Add(s.at))
				l.mu.Lock()
				if s.holder == "-" {
					l.goneLocked(strconv.Itoa(s.rv))
				} else {
					l.observeLocked(leaseAt(s.holder, s.rv, t0.Add(s.renewAt), d))
				}
				l.mu.Unlock()
			}
			if tc.told != "" {
				l.told = &rl.LeaderElectionRecord{HolderIdentity: tc.told}
			}
			if tc.lostUntil != 0 {
				l.lostUntil = t0.Add(tc.lostUntil)
			}
			l.mu.Lock()
			got, until := l.decideLocked(t0.Add(tc.now))
			l.mu.Unlock()
			var wantUntil time.Time
			if tc.wantUntil != 0 {
				wantUntil = t0.Add(tc.wantUntil)
			}
			if got != tc.want || !until.Equal(wantUntil) {
				t.Errorf("decide = %v until %v, want %v until %v", got, until, tc.want, wantUntil)
			}
		})
	}
}

func leaseAt(holder string, rv int, renew time.Time, d time.Duration) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "ns", ResourceVersion: strconv.Itoa(rv)},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(holder),
			LeaseDurationSeconds: ptr.To(int32(d / time.Second)),
			RenewTime:            &metav1.MicroTime{Time: renew},
		},
	}
}
