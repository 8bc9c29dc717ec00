package watch

import (
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// Error is the wrapped error's message: the fields add no words to it.
func (f *Failure) Error() string { return f.Err.Error() }

// Unwrap gives the wrapped error, and with it its exit code.
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
