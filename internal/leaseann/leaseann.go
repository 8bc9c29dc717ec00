// Package leaseann holds the annotations leader-elector writes on a Lease
// for planned hand-overs and preferred replicas (docs/handover.md), shared
// by the elector, the handover command and the dashboard.
package leaseann

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The annotations of the planned hand-over protocol (docs/handover.md).
// They live on the Lease itself, so the protocol needs nothing but the
// Lease v1 API and the rights an elector already has on it.
const (
	// HandoverAnnotation asks the holder to hand the Lease over at its next
	// safe point; its value is a HandoverRequest in JSON. The holder ends
	// its term with the full release protocol (the file or child first,
	// the release delay, then the release) and keeps the annotation on the
	// released Lease, so that the other replicas stand back for a lease
	// duration when it names one of them (To). The write that takes the
	// Lease next removes it.
	HandoverAnnotation = "leader-elector.io/handover"
	// PriorityAnnotation is the holder's --priority, written with each of
	// its writes (absent: 0). A follower with a strictly higher priority
	// asks for a hand-over to itself.
	PriorityAnnotation = "leader-elector.io/priority"
)

// HandoverRequest is the value of HandoverAnnotation.
type HandoverRequest struct {
	// ID tells one request from another: a holder honours each once, and
	// whoever asked removes only its own request.
	ID string `json:"id"`
	// To names the identity that should take the Lease; empty lets any
	// replica take it.
	To string `json:"to,omitempty"`
	// By says who asked: a person (handover, the dashboard) or a replica
	// of higher priority.
	By string `json:"by,omitempty"`
	// At is when it was asked, for people; no replica judges time by it.
	At time.Time `json:"at"`
}

// Encode is the annotation's value.
func (r HandoverRequest) Encode() string {
	b, _ := json.Marshal(r) // a struct of strings and a time cannot fail
	return string(b)
}

// ParseHandoverRequest reads the annotation's value.
func ParseHandoverRequest(s string) (HandoverRequest, error) {
	var r HandoverRequest
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return HandoverRequest{}, fmt.Errorf("reading the %s annotation: %w", HandoverAnnotation, err)
	}
	if r.ID == "" {
		return HandoverRequest{}, fmt.Errorf("reading the %s annotation: no id", HandoverAnnotation)
	}
	return r, nil
}

// Request is the readable hand-over request among a Lease's annotations,
// if there is one.
func Request(annotations map[string]string) (HandoverRequest, bool) {
	v, ok := annotations[HandoverAnnotation]
	if !ok {
		return HandoverRequest{}, false
	}
	r, err := ParseHandoverRequest(v)
	return r, err == nil
}

// HasRequest reports whether the request among annotations is the one
// with id: only that one may be removed by whoever asked or fulfilled it.
func HasRequest(annotations map[string]string, id string) bool {
	r, ok := Request(annotations)
	return ok && r.ID == id
}

// Priority is the holder's priority among a Lease's annotations (0: none
// published, or not a number).
func Priority(annotations map[string]string) int32 {
	p, err := strconv.ParseInt(annotations[PriorityAnnotation], 10, 32)
	if err != nil {
		return 0
	}
	return int32(p)
}

// AskPatch is the JSON merge patch that puts r on a Lease.
func (r HandoverRequest) AskPatch() []byte {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{HandoverAnnotation: r.Encode()}}})
	return b
}
