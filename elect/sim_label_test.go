package elect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/leader-elector/leader-elector/elect/leadership"
)

// The leader label in the simulated world: each replica's Pod (named by its
// identity) may carry it on the API server. The driver's own podLabel
// (podlabel.go) lists the labelled Pods, removes the label from every other
// one, then labels its own, each request only while the term is open and
// bounded by its deadline; UnlabelPod removes it from its own Pod, retried
// every retry period; one replica's own patches are done one at a time, in
// order (the driver's podOps). Here its requests reach the world's server.
//
// Checked: never two Pods labelled, outside the overlap a foreign write
// forces (a label put on by a term that a foreign write deposed); a release
// and an exit only once the label is off, unless the machine's bound for
// the removal passed; at the end of every quiet period, exactly the acting
// replica's Pod carries it.

const simLabelKey, simLabelValue = "leader-elector.io/role", "leader"

// labelTag says which replica's term put a label on.
type labelTag struct {
	rep, inc int
	term     uint64
}

// incarnation names one run of a replica.
type incarnation struct{ rep, inc int }

func (w *world) labels() map[string]labelTag {
	if w.srv.labels == nil {
		w.srv.labels = map[string]labelTag{}
	}
	return w.srv.labels
}

// bootLabel: a new Pod replaces the old one, whose label goes with it.
func (w *world) bootLabel(r *simReplica, oldID string) {
	if oldID != "" && oldID != r.id {
		delete(w.labels(), oldID)
	}
}

var podResource = schema.GroupResource{Resource: "pods"}

// simPods is the Pod client of one replica's driver. A request that arrives
// after its client gave up is not applied (the server serves it within the
// client's context), nor one whose process died.
type simPods struct {
	w *world
	r *simReplica
}

func (c simPods) Get(ctx context.Context, name string, _ metav1.GetOptions, _ ...string) (*metav1.PartialObjectMetadata, error) {
	return nil, errors.New("simulation: the leader label does not get Pods")
}

func (c simPods) List(ctx context.Context, opts metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
	w := c.w
	var names []string
	err := w.call(c.r, ctx, false, func() error {
		for id := range w.labels() {
			names = append(names, id)
		}
		sort.Strings(names)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if want := simLabelKey + "=" + simLabelValue; opts.LabelSelector != want {
		return nil, fmt.Errorf("simulation: listing Pods by %q, want %q", opts.LabelSelector, want)
	}
	list := &metav1.PartialObjectMetadataList{}
	for _, n := range names {
		list.Items = append(list.Items, metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{simLabelKey: simLabelValue}}})
	}
	return list, nil
}

func (c simPods) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, _ metav1.PatchOptions, _ ...string) (*metav1.PartialObjectMetadata, error) {
	w, r := c.w, c.r
	var patch struct {
		Metadata struct {
			Labels map[string]*string `json:"labels"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &patch); err != nil || pt != types.MergePatchType {
		return nil, fmt.Errorf("simulation: not a merge patch of labels: %s", data)
	}
	value, ok := patch.Metadata.Labels[simLabelKey]
	if !ok || len(patch.Metadata.Labels) != 1 || (value != nil && *value != simLabelValue) {
		return nil, fmt.Errorf("simulation: the patch touches other labels: %s", data)
	}
	inc, term := r.inc, r.d.labelBegun.Load()
	missing := false
	err := w.call(r, ctx, false, func() error {
		if !w.podExists(name) {
			missing = true
			return nil
		}
		ls := w.labels()
		switch t, had := ls[name]; {
		case value != nil:
			ls[name] = labelTag{rep: r.idx, inc: inc, term: term}
			w.tracef("server: r%d.%d labelled Pod %s (term %d)", r.idx, inc, name, term)
			w.checkLabels()
		case had:
			delete(ls, name)
			w.tracef("server: r%d.%d unlabelled Pod %s (it was term %d's of r%d.%d)", r.idx, inc, name, t.term, t.rep, t.inc)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if missing {
		return nil, apierrors.NewNotFound(podResource, name)
	}
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}}, nil
}

// podExists says a Pod of that name runs: one per replica, named by its
// identity.
func (w *world) podExists(name string) bool {
	for _, r := range w.reps {
		if r.id == name {
			return true
		}
	}
	return false
}

// simSink is what a replica's endpoints show.
type simSink struct {
	w   *world
	r   *simReplica
	inc int
}

func (s simSink) publish(p leadership.Publish) {
	if s.r.inc != s.inc {
		return
	}
	s.r.published = p.Leading
	s.w.check()
}

func (simSink) count(leadership.MetricName, time.Time) {}
func (simSink) reachable(error)                        {}
func (simSink) event(bool, string, string)             {}

// deposeLabel marks r's current term as deposed by a foreign write: a label
// it put on (or is still putting on) may overlap the next leader's.
func (w *world) deposeLabel(r *simReplica) {
	w.excuse(r, r.d.m.Term())
}

func (w *world) excuse(r *simReplica, term uint64) {
	if w.deposedUpTo == nil {
		w.deposedUpTo = map[incarnation]uint64{}
	}
	k := incarnation{r.idx, r.inc}
	w.deposedUpTo[k] = max(w.deposedUpTo[k], term)
}

// excusedLabel says the label on Pod id was put on by a term a foreign
// write deposed, and that Pod's process does not lead now, re-established
// (its holder wrote the Lease again after the foreign write). A process
// that finds its own Pod labelled, by an earlier term or container of the
// same Pod, keeps the label as it is (one list, no patch): then it is its.
func (w *world) excusedLabel(id string, t labelTag) bool {
	for _, r := range w.reps {
		if r.id == id && r.alive && r.d.m.Acting() && r.deposedAt == 0 {
			return false
		}
	}
	return t.term <= w.deposedUpTo[incarnation{t.rep, t.inc}]
}

// checkLabels: never two Pods labelled, outside the excused overlap.
func (w *world) checkLabels() {
	if !w.p.base.Label {
		return
	}
	ls := w.labels()
	if len(ls) < 2 {
		return
	}
	excused := 0
	var msg []string
	for id, t := range ls {
		if w.excusedLabel(id, t) {
			excused++
		}
		msg = append(msg, fmt.Sprintf("%s(r%d.%d term %d)", id, t.rep, t.inc, t.term))
	}
	if excused < len(ls)-1 {
		sort.Strings(msg)
		w.violatef("two Pods carry the leader label: %s", strings.Join(msg, " "))
	}
}

// ownLabel says r's Pod carries a label this incarnation put on, and the
// machine's bound for removing it has not passed.
func (w *world) ownLabel(r *simReplica) bool {
	t, ok := w.labels()[r.id]
	return ok && t.rep == r.idx && t.inc == r.inc && r.Mono(w.now) < r.unlabelAt+r.cfg.RenewDeadline
}

// checkReleaseLabel: a release is sent only once the label is off.
func (w *world) checkReleaseLabel(r *simReplica) {
	if r.cfg.Label && w.ownLabel(r) {
		w.violatef("r%d released the Lease while its Pod still carries the leader label", r.idx)
	}
}

func (w *world) checkExitLabel(r *simReplica) {
	if r.cfg.Label && w.ownLabel(r) {
		w.violatef("r%d exited while its Pod still carries the leader label", r.idx)
	}
}

// checkLabelLive: at the end of a quiet period the acting replica's Pod,
// and no other, carries the label (a deposed term's leftover aside).
func (w *world) checkLabelLive(leader *simReplica) {
	if !w.p.base.Label {
		return
	}
	var got []string
	for id, t := range w.labels() {
		if !w.excusedLabel(id, t) {
			got = append(got, id)
		}
	}
	sort.Strings(got)
	if len(got) != 1 || got[0] != leader.id {
		w.violatef("liveness: at the end of a quiet period %s leads but the labelled Pods are %v", leader.id, got)
	}
}
