package watch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// attemptTimeout bounds one connection attempt, so a black-holed address
// is retried (and reported) rather than waited on for the OS's minutes.
const attemptTimeout = 10 * time.Second

// preflight waits for the API server and checks that we may list and
// watch Leases, before any watch starts: a watch without rights would
// retry forever and the initial states would never come.
func (w *Watcher) preflight(ctx context.Context) error {
	w.mu.Lock()
	w.conn = ConnConnecting
	w.mu.Unlock()
	start := w.clock.Now()
	backoff := 500 * time.Millisecond
	for {
		attempt := attemptTimeout
		if w.opts.ConnectTimeout > 0 {
			attempt = max(min(attempt, w.opts.ConnectTimeout-w.clock.Since(start)), time.Millisecond)
		}
		actx, cancel := context.WithTimeout(ctx, attempt)
		missing, err := w.leaseAccess(actx)
		cancel()
		if err == nil {
			w.setConn(nil)
			if len(missing) > 0 {
				return &Failure{Resource: ResourceLeases, Reason: ReasonForbidden, Err: w.forbiddenError(missing)}
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retriable(err) {
			return &Failure{Resource: ResourceLeases, Reason: reasonOf(err),
				Err: exitcode.Configf("the API server refused the access check for leases: %w; check the kubeconfig's user and server", err)}
		}
		if w.opts.FailFast && refused(err) {
			return &Failure{Resource: ResourceLeases, Reason: ReasonUnreachable,
				Err: fmt.Errorf("cannot reach the API server: %w; check the server address (--server, --context, --kubeconfig) and the network", err)}
		}
		elapsed := w.clock.Since(start)
		if w.opts.ConnectTimeout > 0 && elapsed >= w.opts.ConnectTimeout {
			return &Failure{Resource: ResourceLeases, Reason: ReasonUnreachable,
				Err: fmt.Errorf("cannot reach the API server within the connect timeout (%s): %v; check the server address and network, or raise --connect-timeout", w.opts.ConnectTimeout, err)}
		}
		wait := backoff
		if w.opts.ConnectTimeout > 0 {
			wait = min(wait, w.opts.ConnectTimeout-elapsed)
		}
		w.mu.Lock()
		w.conn = ConnLost
		w.mu.Unlock()
		w.emitError(ConnLost, failure(ResourceLeases, err), fmt.Sprintf("cannot reach the API server, retrying in %s: %v", wait.Round(100*time.Millisecond), err))
		select {
		case <-w.clock.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, 8*time.Second)
	}
}

// leaseAccess returns the verbs of list and watch on Leases we lack.
func (w *Watcher) leaseAccess(ctx context.Context) ([]string, error) {
	var missing []string
	for _, verb := range []string{"list", "watch"} {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: w.opts.Namespace, Verb: verb, Group: "coordination.k8s.io", Resource: "leases",
			},
		}}
		got, err := w.api.Reviews.Create(ctx, review, metav1.CreateOptions{})
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			// We may not even ask (or the API is off): try the list itself.
			return w.listProbe(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("checking access to leases: %w", err)
		}
		if !got.Status.Allowed {
			missing = append(missing, verb)
		}
	}
	return missing, nil
}

// listProbe lists one Lease; it can tell a missing list, not a missing watch.
func (w *Watcher) listProbe(ctx context.Context) ([]string, error) {
	_, err := w.api.Leases.List(ctx, metav1.ListOptions{Limit: 1, LabelSelector: w.opts.Selector})
	if apierrors.IsForbidden(err) {
		return []string{"list"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing leases: %w", err)
	}
	return nil, nil
}

// forbiddenError is the exit-2 error naming the missing verbs and the fix.
func (w *Watcher) forbiddenError(missing []string) error {
	return forbiddenError(w.opts.Namespace, missing)
}

// refused: the API server cannot be reached at all and waiting will not
// change it: nothing listens, the name does not resolve, or its
// certificate is not one we trust. kubectl gives up on these at once.
func refused(err error) bool {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dnsErr) && dnsErr.IsNotFound ||
		errors.As(err, &certErr) || errors.As(err, &authErr) || errors.As(err, &hostErr)
}

// retriable: the API server could not be reached or is overloaded, as
// opposed to having answered no.
func retriable(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true // transport: refused, reset, timeout, DNS
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err)
}

// setConn records the outcome of a list or watch call on Leases and emits
// an event when the connection state changes: error ConnLost or
// ConnForbidden, then ConnConnected once a call succeeds again.
func (w *Watcher) setConn(err error) {
	state := ConnConnected
	var msg string
	var f *Failure
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		return // we are stopping
	default:
		f = failure(ResourceLeases, err)
		state, msg = ConnLost, fmt.Sprintf("lost connection, retrying: %v", err)
		if f.Reason == ReasonForbidden {
			state, msg = ConnForbidden, fmt.Sprintf("forbidden: %v; grant list and watch on leases.coordination.k8s.io", err)
		}
	}
	w.mu.Lock()
	prev := w.conn
	w.conn = state
	w.mu.Unlock()
	switch {
	case state == prev:
	case state != ConnConnected:
		w.emitError(state, f, msg)
	case prev != ConnConnecting:
		w.log.Info("connection restored")
		w.mu.Lock()
		w.q.push(Event{Type: EventConnected, Time: w.clock.Now(), Message: "connection restored", Connection: ConnConnected})
		w.mu.Unlock()
	}
}
