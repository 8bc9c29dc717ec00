package endpoints

import (
	"fmt"
	"testing"
)

// BenchmarkPublish measures one Publish with n event-stream clients that
// never read (the worst case: every Publish finds full buffers and
// coalesces), against n=0 as the baseline in the same run.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{0, 10, 100, 1000} {
		b.Run(fmt.Sprintf("stalled-clients=%d", n), func(b *testing.B) {
			h := newHub(nil)
			for range n {
				_, unsubscribe := h.subscribe()
				defer unsubscribe()
			}
			b.ReportAllocs()
			i := int32(0)
			for b.Loop() {
				i++
				h.publish(LeaderInfo{Leader: "pod-a", LeaseTransitions: i})
			}
		})
	}
}
