package handover

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"

	"github.com/leader-elector/leader-elector/elect"
	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// OperatorRole names the example Role that grants what Run needs.
const OperatorRole = "deploy/watch-rbac/operator (the leader-elector-operator ClusterRole)"

// withdrawWait bounds the removal of our request once the wait is over or
// interrupted: it must not keep Ctrl-C from ending the process.
const withdrawWait = 10 * time.Second

// ParseTarget reads NAMESPACE/LEASE.
func ParseTarget(s string) (namespace, name string, err error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", exitcode.Configf("%q is not NAMESPACE/LEASE: name the Lease with its namespace, e.g. default/my-controller", s)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", "", exitcode.Configf("namespace %q: %s; give the Lease's namespace, e.g. default/my-controller", ns, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", "", exitcode.Configf("Lease name %q: %s; give the Lease's name as kubectl get leases shows it", name, errs[0])
	}
	return ns, name, nil
}

// Run asks the holder of the Lease to hand it over and waits until a new
// holder (To, when set) takes it. Its errors carry exit codes
// (internal/exitcode): 2 when it refuses before asking (no such Lease, no
// holder, an unknown To, a missing right), 1 when the hand-over did not
// happen (the holder did not answer in time, another replica took it),
// and ctx's error when ctx ends. Unless the hand-over happened, Run
// removes its request from the Lease, only if it is still ours.
func Run(ctx context.Context, c Clients, o Options) (Result, error) {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Progress == nil {
		o.Progress = func(Progress) {}
	}
	if o.ID == "" {
		o.ID = newID()
	}
	ref := o.Namespace + "/" + o.Name
	lease, err := c.Leases.Get(ctx, o.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return Result{}, exitcode.Configf("Lease %s not found: check the name with `leader-elector watch -n %s --once`", ref, o.Namespace)
	case apierrors.IsForbidden(err):
		return Result{}, missingRight("get", o.Namespace, err)
	case apierrors.IsUnauthorized(err):
		return Result{}, exitcode.Configf("the API server refused the credentials reading Lease %s: %v; check the kubeconfig's user (--kubeconfig, --context, --user)", ref, err)
	case err != nil && errors.As(err, new(apierrors.APIStatus)):
		return Result{}, fmt.Errorf("reading Lease %s: %w", ref, err)
	case err != nil:
		return Result{}, fmt.Errorf("cannot reach the API server reading Lease %s: %w; check the server address (--server, --context, --kubeconfig) and the network", ref, err)
	}
	holder := Holder(lease)
	res := Result{From: holder, ID: o.ID}
	if holder == "" {
		return res, exitcode.Configf("Lease %s has no holder: there is nothing to hand over; a replica takes it at its next try", ref)
	}
	if at, ok := expiry(lease); ok && !o.Clock.Now().Before(at) {
		return res, exitcode.Configf("Lease %s: its holder %s has not renewed it since %s (expired): nobody can answer; another replica takes it over on its own",
			ref, Safe(holder), lease.Spec.RenewTime.UTC().Format(time.RFC3339))
	}
	if o.To != "" && o.To == holder {
		res.Already, res.Holder = true, holder
		return res, nil
	}
	if o.To != "" && !o.Force {
		if err := checkKnown(ctx, c, o); err != nil {
			return res, err
		}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout(duration(lease))
	}

	req := elect.HandoverRequest{ID: o.ID, To: o.To, By: o.By, At: o.Clock.Now().UTC().Truncate(time.Second)}
	asked := false
	ask := func() error {
		if _, err := c.Leases.Patch(ctx, o.Name, types.MergePatchType, req.AskPatch(), metav1.PatchOptions{}); err != nil {
			switch {
			case apierrors.IsForbidden(err):
				return missingRight("patch", o.Namespace, err)
			case ctx.Err() != nil:
				return ctx.Err()
			}
			return fmt.Errorf("asking for the hand-over of Lease %s: %w", ref, err)
		}
		asked = true
		o.Progress(Progress{Step: StepAsked, Holder: holder, Lease: ref})
		return nil
	}
	res.Holder, err = wait(ctx, c.Leases, o, holder, timeout, ask)
	if !asked {
		return res, err
	}
	// The write that takes the Lease removes the request when the taker is
	// ours; one that is not (client-go's elector) keeps what it read. Ours
	// goes either way, then, unless somebody has asked again meanwhile.
	why := "interrupted"
	switch {
	case err == nil:
		why = "taken"
	case ctx.Err() == nil:
		why = "no hand-over"
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), withdrawWait)
	defer cancel()
	removed, werr := Withdraw(wctx, c.Leases, o.Name, o.ID)
	if removed && err != nil {
		o.Progress(Progress{Step: StepWithdrawn, Lease: ref, Message: why})
	}
	if werr != nil && err != nil {
		o.Progress(Progress{Step: StepWarning, Lease: ref, Message: fmt.Sprintf("could not withdraw the request (id %s): %v; remove the %s annotation by hand", o.ID, werr, elect.HandoverAnnotation)})
	}
	return res, err
}

// missingRight is the refusal for a verb on leases we may not use.
func missingRight(verb, namespace string, err error) error {
	return exitcode.Configf("may not %s leases in namespace %s (%v): grant %s on leases there, e.g. with a RoleBinding to %s",
		verb, namespace, reason(err), verb, OperatorRole)
}

// reason is the API server's message of err, shortened.
func reason(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return string(st.Status().Reason)
	}
	return err.Error()
}

// Holder is the Lease's holder identity, "" for none.
func Holder(l *coordinationv1.Lease) string {
	if l == nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// duration is the Lease's duration (15s, client-go's default, when unset).
func duration(l *coordinationv1.Lease) time.Duration {
	if l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds <= 0 {
		return elect.DefaultLeaseDuration
	}
	return time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
}

// expiry is when the Lease expires by its renewTime, if it has one.
func expiry(l *coordinationv1.Lease) (time.Time, bool) {
	if l.Spec.RenewTime == nil {
		return time.Time{}, false
	}
	return l.Spec.RenewTime.Add(duration(l)), true
}

// newID is a random request ID.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}

// Safe is s for a terminal: quoted when it holds anything but printable
// characters, so an identity cannot move the cursor or clear the screen.
func Safe(s string) string {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
