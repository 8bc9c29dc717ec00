package watch

import (
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ConnState is the state of the link to one API server: what error and
// connected events carry (Event.Connection) and what the dashboard shows.
type ConnState string

const (
	// ConnConnecting: the API server has not answered yet. No event
	// carries it; it is where a link starts.
	ConnConnecting ConnState = "connecting"
	// ConnConnected: list and watch calls on Leases succeed.
	ConnConnected ConnState = "connected"
	// ConnLost: they fail and are retried.
	ConnLost ConnState = "lost"
	// ConnForbidden: a right was refused. On an error event about Pods
	// (Event.Resource) only that resource is refused, not the link.
	ConnForbidden ConnState = "forbidden"
	// ConnStopped: a Fleet's context whose watch ended for good at start
	// (no rights, or unreachable past its connect timeout); the message
	// says why and how to fix it.
	ConnStopped ConnState = "stopped"
)

// Resource is what a failure concerns.
type Resource string

const (
	// ResourceLeases: the Leases themselves (and the access check on
	// them): without them there is nothing to show.
	ResourceLeases Resource = "leases"
	// ResourcePods: the Pods that orphan holders are judged against;
	// without them only that judgement is off.
	ResourcePods Resource = "pods"
)

// Reason is what kind of failure it was.
type Reason string

const (
	// ReasonForbidden: the API server refused the user the right (403).
	ReasonForbidden Reason = "forbidden"
	// ReasonUnauthorized: it refused the credentials (401).
	ReasonUnauthorized Reason = "unauthorized"
	// ReasonUnreachable: no answer, or the server could not serve it now
	// (timeouts, too many requests, 5xx); retried.
	ReasonUnreachable Reason = "unreachable"
	// ReasonOther: any other refusal.
	ReasonOther Reason = "other"
)

// Failure is an error that says what it concerns and what kind it is, so
// that a reader (the dashboard, a Fleet turning Run's error into an event)
// decides from these fields and never from the text of the message.
type Failure struct {
	Resource Resource
	Reason   Reason
	Err      error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// failure is err about resource, its reason judged from err.
func failure(resource Resource, err error) *Failure {
	return &Failure{Resource: resource, Reason: reasonOf(err), Err: err}
}

// reasonOf sorts an error of a call to the API server.
func reasonOf(err error) Reason {
	switch {
	case apierrors.IsForbidden(err):
		return ReasonForbidden
	case apierrors.IsUnauthorized(err):
		return ReasonUnauthorized
	case retriable(err):
		return ReasonUnreachable
	}
	return ReasonOther
}

// failureOf is the Failure in err's chain, if any.
func failureOf(err error) (*Failure, bool) {
	var f *Failure
	ok := errors.As(err, &f)
	return f, ok
}
