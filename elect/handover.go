package elect

import "github.com/leader-elector/leader-elector/internal/leaseann"

// The planned hand-over protocol's annotations (internal/leaseann): the
// elector honours and asks with them, the handover command and the
// dashboard write and read them.
const (
	HandoverAnnotation = leaseann.HandoverAnnotation
	PriorityAnnotation = leaseann.PriorityAnnotation
)

// HandoverRequest is the value of HandoverAnnotation.
type HandoverRequest = leaseann.HandoverRequest

// ParseHandoverRequest reads the annotation's value.
func ParseHandoverRequest(s string) (HandoverRequest, error) { return leaseann.ParseHandoverRequest(s) }
