package e2e

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/elect"
)

// TestElectPriority runs real sidecars with --priority against the API
// server: a replica of strictly higher priority that joins takes the Lease
// over once, by a planned hand-over (never two status files); one of equal
// priority never moves it.
func TestElectPriority(t *testing.T) {
	tests := []struct {
		name       string
		first, new string // their --priority
		wantHolder string
	}{
		{"a higher priority joins and takes over once", "0", "5", "b"},
		{"an equal priority joins and leadership stays", "3", "3", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newElectSetup(t)
			a := s.start("a", "--priority", tt.first)
			waitOneLeader(t, 15*time.Second, []*elector{a})
			holders := watchHolders(t, s)
			b := s.start("b", "--priority", tt.new)
			chk := startChecker([]*elector{a, b})

			// Three lease durations: time for an ask, the release delay,
			// the take-over, and for a second move if there were one.
			time.Sleep(9 * time.Second)
			chk.finish(t)
			seen := holders()
			if tt.wantHolder == "a" && !slices.Equal(seen, []string{"a"}) {
				t.Fatalf("the Lease's holders were %v; with equal priorities it must stay a's", seen)
			}
			if tt.wantHolder == "b" && !slices.Equal(seen, []string{"a", "b"}) {
				t.Fatalf("the Lease's holders were %v, want a then b, moved once", seen)
			}
			if ls := leaders([]*elector{a, b}); len(ls) != 1 || ls[0].id != tt.wantHolder {
				t.Fatalf("the status files say %v lead, want %s alone", ids(ls), tt.wantHolder)
			}
			l, err := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns).Get(context.Background(), s.lease, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := l.Annotations[elect.HandoverAnnotation]; ok {
				t.Errorf("a hand-over request is left on the Lease: %s", v)
			}
			want := map[string]string{"a": tt.first, "b": tt.new}[tt.wantHolder]
			if got := l.Annotations[elect.PriorityAnnotation]; got != want && !(want == "0" && got == "") {
				t.Errorf("the holder published priority %q, want %q", got, want)
			}
		})
	}
}

// watchHolders reads the Lease every 50 ms until the test ends and returns
// a function that lists its distinct holders in order (a release, no
// holder, is not one).
func watchHolders(t *testing.T, s *electSetup) func() []string {
	t.Helper()
	leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(s.ns)
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu  sync.Mutex
		out []string
		wg  sync.WaitGroup
	)
	wg.Go(func() {
		for ctx.Err() == nil {
			if l, err := leases.Get(ctx, s.lease, metav1.GetOptions{}); err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
				h := *l.Spec.HolderIdentity
				mu.Lock()
				if len(out) == 0 || out[len(out)-1] != h {
					out = append(out, h)
				}
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(out)
	}
}
