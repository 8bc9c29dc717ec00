package elect

import (
	"testing"
	"time"
)

// The gate is the last check before a term becomes visible: a file or a
// child is shown only for the open term and before its deadline.
func TestTermGate(t *testing.T) {
	tests := []struct {
		name string
		// ops run against a gate whose clock reads 10s.
		ops  func(g *termGate)
		term uint64
		want bool
	}{
		{"open term before its deadline", func(g *termGate) { g.begin(1, 11*time.Second) }, 1, true},
		{"deadline passed during the slow write", func(g *termGate) { g.begin(1, 10*time.Second) }, 1, false},
		{"a renewal moved the deadline", func(g *termGate) {
			g.begin(1, 9*time.Second)
			g.extend(1, 12*time.Second)
		}, 1, true},
		{"a renewal of another term moves nothing", func(g *termGate) {
			g.begin(2, 9*time.Second)
			g.extend(1, 12*time.Second)
		}, 2, false},
		{"ended before the rename", func(g *termGate) {
			g.begin(1, 11*time.Second)
			g.end(1)
		}, 1, false},
		{"an ended term cannot be shown after a later one began", func(g *termGate) {
			g.begin(1, 11*time.Second)
			g.end(1)
			g.begin(2, 11*time.Second)
		}, 1, false},
		{"never begun", func(g *termGate) {}, 1, false},
		{"closed by the loop before its task ran", func(g *termGate) {
			g.begin(1, 11*time.Second)
			g.close(1)
		}, 1, false},
		{"closing another term closes nothing", func(g *termGate) {
			g.begin(2, 11*time.Second)
			g.close(1)
		}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTermGate(func() time.Duration { return 10 * time.Second })
			tt.ops(g)
			ran := false
			shown, err := g.show(tt.term, func() error { ran = true; return nil })
			if err != nil || shown != tt.want || ran != tt.want {
				t.Fatalf("show = %v, %v (reveal ran: %v), want %v", shown, err, ran, tt.want)
			}
		})
	}
}

// Ending a term waits for a rename already past its check, so the removal
// that follows cannot run before the file appears.
func TestTermGateEndWaitsForAReveal(t *testing.T) {
	g := newTermGate(func() time.Duration { return 0 })
	g.begin(1, time.Hour)
	inReveal, release := make(chan struct{}), make(chan struct{})
	revealed := make(chan struct{})
	go func() {
		g.show(1, func() error {
			close(inReveal)
			<-release
			close(revealed)
			return nil
		})
	}()
	<-inReveal
	ended := make(chan struct{})
	go func() { g.end(1); close(ended) }()
	select {
	case <-ended:
		t.Fatal("end returned while the rename was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-ended
	select {
	case <-revealed:
	default:
		t.Fatal("end returned before the rename finished")
	}
}
