package elect

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The preflight asks one review per verb of RequiredAccess, with the
// Lease's name where the rule may be limited by resourceNames, and names
// every denied verb in one line. (Pure logic: the fake answers by verb; the
// e2e test runs it against real RBAC.)
func TestPreflightNamesMissingVerbs(t *testing.T) {
	cfg := Config{LeaseName: "lock", Namespace: "ns"}
	client := fake.NewClientset()
	var (
		mu    sync.Mutex
		asked []string
	)
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		at := r.Spec.ResourceAttributes
		mu.Lock()
		asked = append(asked, at.Verb+" "+at.Resource+"/"+at.Name)
		mu.Unlock()
		r.Status.Allowed = !(at.Verb == "update" || (at.Verb == "create" && at.Resource == "events"))
		return true, r, nil
	})
	err := preflight(context.Background(), API{Reviews: client.AuthorizationV1().SelfSubjectAccessReviews()}, cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("preflight passed with verbs denied")
	}
	want := "RBAC: not allowed to update leases.coordination.k8s.io/lock, create events in namespace ns; bind a Role granting them (the example in deploy/base/rbac.yaml)"
	if err.Error() != want {
		t.Errorf("error\n %q\nwant\n %q", err, want)
	}
	wantAsked := "create events/,create leases/,get leases/lock,list leases/lock,update leases/lock,watch leases/lock"
	slices.Sort(asked) // the reviews are asked at once
	if got := strings.Join(asked, ","); got != wantAsked {
		t.Errorf("asked %s\nwant  %s", got, wantAsked)
	}
}

// The Pods verbs are asked for only with --leader-label, and a denied one
// is named like the others.
func TestPreflightPodsOnlyWithTheLabel(t *testing.T) {
	for _, label := range []string{"", "leader-elector.io/role=leader"} {
		cfg := Config{LeaseName: "lock", Namespace: "ns", LeaderLabel: label, PodName: "pod-0"}
		client := fake.NewClientset()
		var (
			mu   sync.Mutex
			pods []string
		)
		client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
			r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
			at := r.Spec.ResourceAttributes
			if at.Resource == "pods" {
				mu.Lock()
				pods = append(pods, at.Verb)
				mu.Unlock()
			}
			r.Status.Allowed = at.Verb != "patch" || at.Resource != "pods"
			return true, r, nil
		})
		err := preflight(context.Background(), API{Reviews: client.AuthorizationV1().SelfSubjectAccessReviews()}, cfg, slog.New(slog.DiscardHandler))
		switch {
		case label == "" && (err != nil || len(pods) > 0):
			t.Errorf("without the label: err %v, asked about pods %v; want nothing asked", err, pods)
		case label != "" && strings.Join(slices.Sorted(slices.Values(pods)), ",") != "get,list,patch":
			t.Errorf("with the label: asked about pods %v, want get,list,patch", pods)
		case label != "" && (err == nil || !strings.Contains(err.Error(), "RBAC: not allowed to patch pods in namespace ns")):
			t.Errorf("with the label and patch denied: err %v", err)
		}
	}
}
