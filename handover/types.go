// Package handover asks the holder of a Lease to hand it over (the planned
// hand-over protocol of docs/handover.md, whose annotation is
// elect.HandoverAnnotation) and waits for the answer. It knows nothing of
// flags or terminals: `leader-elector handover` and the dashboard's H key
// both call Run, and show its Progress and Result their own way.
package handover

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/leader-elector/leader-elector/internal/leasewatch"
)

// LeaseClient is the Lease client of the Lease's namespace: read it, patch
// its annotation, and follow it (List and Stream, for internal/leasewatch).
type LeaseClient interface {
	leasewatch.Client
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*coordinationv1.Lease, error)
}

// PodLister lists the names of the Pods of the namespace (metadata only).
type PodLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error)
}

// CandidateLister lists the LeaseCandidates of the namespace.
type CandidateLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*coordinationv1beta1.LeaseCandidateList, error)
}

// Discoverer says whether the API server serves a resource.
type Discoverer interface {
	Serves(ctx context.Context, gv schema.GroupVersion, resource string) (bool, error)
}

// Clients are the calls Run makes, all in the Lease's namespace. Only
// Leases is required; without Pods (and Candidates) --to is not checked.
type Clients struct {
	Leases     LeaseClient
	Pods       PodLister
	Candidates CandidateLister
	Discovery  Discoverer
}

// Options say which Lease to hand over, to whom, and how long to wait.
type Options struct {
	Namespace, Name string
	// To names the identity that should take the Lease; "" lets any
	// replica take it.
	To string
	// Force skips the check that To names a Pod or a LeaseCandidate.
	Force bool
	// Timeout bounds the wait for the new holder; 0 is DefaultTimeout of
	// the Lease's duration.
	Timeout time.Duration
	// By says who asks, for people reading the annotation.
	By string
	// ID tells this request from others; "" draws a random one.
	ID string
	// Progress receives each step as it happens (nil: none), in Run's
	// goroutine.
	Progress func(Progress)
	// Clock judges expiry and times the wait; nil: the real clock.
	Clock clock.Clock
}

// DefaultTimeout is how long Run waits when Options.Timeout is 0: twice
// the lease duration and 10 seconds. The holder needs up to about one
// duration to answer (stopping its child within the renew deadline, then
// the release delay, at most duration - deadline), and the one named by
// To up to a retry period more to take it; the rest is slack for a busy
// API server.
func DefaultTimeout(leaseDuration time.Duration) time.Duration {
	return 2*leaseDuration + 10*time.Second
}

// Result is how the hand-over ended.
type Result struct {
	// From held the Lease when it was asked; Holder holds it now.
	From, Holder string
	// Already is true when To already held it: nothing was asked.
	Already bool
	// ID is the request's.
	ID string
}

// Step is a kind of Progress.
type Step int

const (
	StepAsked     Step = iota // the request is on the Lease
	StepReleased              // the holder released it
	StepTaken                 // a new holder took it
	StepWarning               // something Run could not check, and went on
	StepWithdrawn             // our request was removed from the Lease
)

// Progress is one step of a hand-over, for people.
type Progress struct {
	Step Step
	// Holder is the one who released (StepReleased), took (StepTaken) or
	// was asked (StepAsked).
	Holder string
	// Message is the warning's, or why the request was withdrawn.
	Message string
	// Lease is "namespace/name".
	Lease string
}

// String is the progress line.
func (p Progress) String() string {
	switch p.Step {
	case StepAsked:
		return fmt.Sprintf("asked %s to hand %s over", p.Holder, p.Lease)
	case StepReleased:
		return fmt.Sprintf("released by %s", p.Holder)
	case StepTaken:
		return fmt.Sprintf("taken by %s", p.Holder)
	case StepWithdrawn:
		return fmt.Sprintf("withdrew the request from %s (%s)", p.Lease, p.Message)
	}
	return "warning: " + p.Message
}
