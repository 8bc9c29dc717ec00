package elect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// errTermClosed says the term ended or its deadline passed before the label
// could go on.
var errTermClosed = errors.New("the term ended")

// podLabel puts --leader-label on this replica's Pod and takes it off
// others. Every change is a JSON merge patch of that one label: no update
// of a whole Pod (which could undo someone else's change), no other label
// touched.
type podLabel struct {
	pods       PodClient
	namespace  string
	pod        string // this replica's Pod
	key, value string
	timeout    time.Duration // bounds every request
	bound      func(context.Context, time.Duration) (context.Context, context.CancelFunc)
	log        *slog.Logger
}

// labelPatch sets key to value, or removes it when value is nil.
func labelPatch(key string, value *string) []byte {
	b, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]*string{key: value}}})
	if err != nil {
		panic(err) // strings always marshal
	}
	return b
}

func (p *podLabel) patch(ctx context.Context, name string, value *string, bound time.Duration) error {
	ctx, cancel := p.bound(ctx, min(p.timeout, bound))
	defer cancel()
	_, err := p.pods.Patch(ctx, name, types.MergePatchType, labelPatch(p.key, value), metav1.PatchOptions{})
	return err
}

// label removes the label from every other Pod of the namespace that carries
// it (a crashed or partitioned leader's leftover), then puts it on ours.
// open says whether the term is still open and how long until its deadline:
// asked before every patch, and bounding it, so a term that ended never
// labels (nor unlabels others) after the fact.
func (p *podLabel) label(ctx context.Context, open func() (time.Duration, bool)) error {
	remaining, ok := open()
	if !ok {
		return errTermClosed
	}
	lctx, cancel := p.bound(ctx, min(p.timeout, remaining))
	list, err := p.pods.List(lctx, metav1.ListOptions{LabelSelector: labels.Set{p.key: p.value}.String()})
	cancel()
	if err != nil {
		return fmt.Errorf("listing the Pods labelled %s=%s in namespace %s: %w", p.key, p.value, p.namespace, err)
	}
	ours := false
	for _, other := range list.Items {
		if other.Name == p.pod {
			ours = true
			continue
		}
		remaining, ok := open()
		if !ok {
			return errTermClosed
		}
		err := p.patch(ctx, other.Name, nil, remaining)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing the leader label from Pod %s/%s, which an earlier leader left: %w", p.namespace, other.Name, err)
		}
		p.log.Info("removed the leader label an earlier leader left", "pod", other.Name)
	}
	if ours {
		return nil // already ours: a check costs one list
	}
	remaining, ok = open()
	if !ok {
		return errTermClosed
	}
	if err := p.patch(ctx, p.pod, &p.value, remaining); err != nil {
		return fmt.Errorf("labelling Pod %s/%s %s=%s: %w", p.namespace, p.pod, p.key, p.value, err)
	}
	return nil
}

// unlabel removes the label from our Pod. A Pod that is gone has no label.
func (p *podLabel) unlabel(ctx context.Context) error {
	err := p.patch(ctx, p.pod, nil, p.timeout)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing the leader label from Pod %s/%s: %w", p.namespace, p.pod, err)
	}
	return nil
}
