package watch

import (
	"time"

	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// NodeLeaseNamespace holds the kubelets' heartbeats, one Lease per node:
// their holders are node names, not Pods, so they are never judged orphan
// (and the dashboard hides their thousands under -A unless asked).
const NodeLeaseNamespace = "kube-node-lease"

// judgeable says whether a holder can be checked against Pods: a Pod name
// (a DNS subdomain) outside kube-node-lease. client-go's default identities
// "host_uuid" and the API server's "apiserver-..." are not Pod names.
func judgeable(namespace, holder string) bool {
	return holder != "" && namespace != NodeLeaseNamespace &&
		!strings.HasPrefix(holder, "apiserver-") &&
		len(validation.IsDNS1123Subdomain(holder)) == 0
}

// SetPods installs the Pod lookup once the Pod cache has synced (nil: we
// cannot see Pods, nothing is judged) and appends the orphan events it
// causes.
func (m *Model) SetPods(dst []Event, exists func(namespace, name string) bool, now time.Time) []Event {
	m.pods = exists
	for _, e := range m.leases {
		if m.rejudgeOrphan(e) {
			dst = append(dst, Event{Type: EventOrphan, Time: now, Lease: e.state()})
		}
	}
	return dst
}

// PodChanged re-judges the Leases held by namespace/name after that Pod
// appeared or went away.
func (m *Model) PodChanged(dst []Event, namespace, name string, now time.Time) []Event {
	if m.pods == nil {
		return dst
	}
	for e := range m.byHolder[namespace+"/"+name] {
		if m.rejudgeOrphan(e) {
			dst = append(dst, Event{Type: EventOrphan, Time: now, Lease: e.state()})
		}
	}
	return dst
}

// rejudgeOrphan recomputes e.st.Orphan, keeps the holder index current and
// reports whether the flag flipped.
func (m *Model) rejudgeOrphan(e *entry) bool {
	st := &e.st
	key := e.judgedKey
	switch {
	case m.pods == nil:
		// The holder index is only needed once Pods are known (SetPods
		// rejudges every Lease then), so without Pods it costs nothing.
		key = ""
	case !e.holderJudged || e.judgedHolder != st.Holder:
		key = ""
		if judgeable(st.Namespace, st.Holder) {
			key = st.Namespace + "/" + st.Holder
		}
	}
	e.judgedHolder, e.holderJudged = st.Holder, m.pods != nil
	if key != e.judgedKey {
		m.unjudge(e)
		if key != "" {
			set := m.byHolder[key]
			if set == nil {
				set = make(map[*entry]struct{}, 1)
				m.byHolder[key] = set
			}
			set[e] = struct{}{}
			e.judgedKey = key
		}
	}
	orphan := key != "" && !m.pods(st.Namespace, st.Holder)
	flipped := orphan != st.Orphan
	st.Orphan = orphan
	return flipped
}

// unjudge removes e from the holder index.
func (m *Model) unjudge(e *entry) {
	if e.judgedKey == "" {
		return
	}
	if set := m.byHolder[e.judgedKey]; set != nil {
		delete(set, e)
		if len(set) == 0 {
			delete(m.byHolder, e.judgedKey)
		}
	}
	e.judgedKey = ""
}
