package watch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// listOnly answers List with its Leases or its error; nothing else.
type listOnly struct {
	items []coordinationv1.Lease
	err   error
	calls int
}

func (l *listOnly) List(context.Context, metav1.ListOptions) (*coordinationv1.LeaseList, error) {
	l.calls++
	if l.err != nil {
		return nil, l.err
	}
	return &coordinationv1.LeaseList{Items: l.items}, nil
}

func (l *listOnly) Stream(context.Context, metav1.ListOptions) (EventStream, error) {
	return nil, errors.New("not in a List")
}

func listLease(ns, name, holder string) coordinationv1.Lease {
	now := metav1.NewMicroTime(time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC))
	return coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(int32(15)), RenewTime: &now},
	}
}

// TestList is watch --once's one request: the Leases as the API server
// returned them beside the watch's judgement, the names asked for, and
// each failure worded with its fix and exit code, never retried.
func TestList(t *testing.T) {
	items := []coordinationv1.Lease{listLease("ns", "a", "pod-a"), listLease("ns", "b", ""), listLease("ns", "c", "pod-c")}
	refused := &listOnly{err: syscall.ECONNREFUSED}
	forbidden := &listOnly{err: apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "", errors.New("no"))}
	tests := []struct {
		name      string
		api       *listOnly
		opts      ListOptions
		wantNames string
		wantErr   string
		wantCode  int
	}{
		{"every Lease", &listOnly{items: items}, ListOptions{Namespace: "ns"}, "a,b,c", "", 0},
		{"by name, in the server's order", &listOnly{items: items}, ListOptions{Namespace: "ns", Names: []string{"c", "a"}}, "a,c", "", 0},
		{"a name that does not exist", &listOnly{items: items}, ListOptions{Namespace: "ns", Names: []string{"a", "zz"}}, "a", "leases zz not found in namespace ns", 1},
		{"refused: at once", refused, ListOptions{Namespace: "ns"}, "", "cannot reach the API server: connection refused; check the server address", 1},
		{"forbidden: the Role to grant", forbidden, ListOptions{Namespace: "ns"}, "", `may not list leases.coordination.k8s.io in namespace "ns"; grant it with a Role`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := List(context.Background(), API{Leases: tc.api}, tc.opts)
			if tc.api.calls != 1 {
				t.Errorf("%d requests, want 1", tc.api.calls)
			}
			var names []string
			if got != nil {
				if len(got.Leases) != len(got.States) {
					t.Fatalf("%d Leases, %d states", len(got.Leases), len(got.States))
				}
				for i, l := range got.Leases {
					names = append(names, l.Name)
					if got.States[i].Name != l.Name || l.ManagedFields != nil {
						t.Errorf("Lease %s: state %s, managedFields %v", l.Name, got.States[i].Name, l.ManagedFields)
					}
				}
			}
			if s := strings.Join(names, ","); s != tc.wantNames {
				t.Errorf("Leases %q, want %q", s, tc.wantNames)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var coded interface{ ExitCode() int }
			code := exitcode.Runtime
			if errors.As(err, &coded) {
				code = coded.ExitCode()
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || code != tc.wantCode {
				t.Errorf("error %v (exit %d), want %q (exit %d)", err, code, tc.wantErr, tc.wantCode)
			}
		})
	}
	if got, _ := List(context.Background(), API{Leases: &listOnly{items: items}}, ListOptions{}); got.States[1].Status != StatusReleased || got.States[0].Status != StatusHeld && got.States[0].Status != StatusExpired {
		t.Errorf("statuses %s, %s", got.States[0].Status, got.States[1].Status)
	}
}

// TestRefused: what ends a script's watch at once (FailFast), as kubectl
// gives up at once, and what is still retried until --connect-timeout.
func TestRefused(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("checking access to leases: %w", &url.Error{Op: "Post", URL: "https://x", Err: err})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nothing listens", wrap(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), true},
		{"an unknown host", wrap(&net.DNSError{Err: "no such host", Name: "kube.invalid", IsNotFound: true}), true},
		{"an untrusted certificate", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true},
		{"a DNS server that does not answer", wrap(&net.DNSError{Err: "timeout", Name: "kube.example", IsTimeout: true}), false},
		{"a timeout", wrap(context.DeadlineExceeded), false},
		{"an overloaded server", apierrors.NewServiceUnavailable("busy"), false},
		{"forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "leases"}, "", errors.New("no")), false},
	} {
		if got := refused(tc.err); got != tc.want {
			t.Errorf("%s: refused(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
