package watch

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// TestReasonOf: the kind of a failure comes from the API's status, as
// client-go reports it, not from its text.
func TestReasonOf(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	for _, tc := range []struct {
		name string
		err  error
		want Reason
	}{
		{"403", apierrors.NewForbidden(pods, "", errors.New(`User "releases" cannot list resource "pods"`)), ReasonForbidden},
		{"401", apierrors.NewUnauthorized("token expired"), ReasonUnauthorized},
		{"refused", fmt.Errorf("dial tcp 127.0.0.1:6443: %w", syscall.ECONNREFUSED), ReasonUnreachable},
		{"503", apierrors.NewServiceUnavailable("etcd is down"), ReasonUnreachable},
		{"429", apierrors.NewTooManyRequests("slow down", 1), ReasonUnreachable},
		{"400", apierrors.NewBadRequest("forbidden lease selector"), ReasonOther},
	} {
		if got := reasonOf(tc.err); got != tc.want {
			t.Errorf("%s: reasonOf(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}

// TestFailureKeepsTheExitCode: Run's errors say what they concern and keep
// the exit code and the message of the error they wrap.
func TestFailureKeepsTheExitCode(t *testing.T) {
	inner := exitcode.Configf("forbidden: this user may not list leases")
	var err error = &Failure{Resource: ResourceLeases, Reason: ReasonForbidden, Err: inner}
	err = fmt.Errorf("context prod: %w", err)
	f, ok := failureOf(err)
	if !ok || f.Resource != ResourceLeases || f.Reason != ReasonForbidden {
		t.Errorf("failureOf = %+v, %v; want leases, forbidden", f, ok)
	}
	var coded interface{ ExitCode() int }
	if !errors.As(err, &coded) || coded.ExitCode() != exitcode.Config {
		t.Errorf("exit code lost: %v", err)
	}
	if err.Error() != "context prod: forbidden: this user may not list leases" {
		t.Errorf("message %q", err.Error())
	}
}

// TestErrorEventJSON: an error event's resource and reason are written
// and read back, so a replayed recording means what the live stream did;
// events without them are written as before.
func TestErrorEventJSON(t *testing.T) {
	for _, tc := range []struct {
		ev   Event
		line string
	}{
		{Event{Type: EventError, Time: t0, Message: "m", Connection: ConnForbidden, Resource: ResourcePods, Reason: ReasonForbidden},
			`{"type":"error","time":"2026-11-25T12:00:00Z","message":"m","connection":"forbidden","resource":"pods","reason":"forbidden"}`},
		{Event{Type: EventError, Time: t0, Context: "eu", Message: "m", Connection: ConnLost, Resource: ResourceLeases, Reason: ReasonUnreachable},
			`{"type":"error","time":"2026-11-25T12:00:00Z","context":"eu","message":"m","connection":"lost","resource":"leases","reason":"unreachable"}`},
		{Event{Type: EventConnected, Time: t0, Message: "connection restored", Connection: ConnConnected},
			`{"type":"connected","time":"2026-11-25T12:00:00Z","message":"connection restored","connection":"connected"}`},
	} {
		line := string(tc.ev.AppendJSON(nil))
		if line != tc.line {
			t.Errorf("written\n%s\nwant\n%s", line, tc.line)
		}
		var got Event
		if err := got.UnmarshalJSON([]byte(line)); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got.Connection != tc.ev.Connection || got.Resource != tc.ev.Resource || got.Reason != tc.ev.Reason || got.Message != tc.ev.Message {
			t.Errorf("read back %+v, want %+v", got, tc.ev)
		}
	}
}
