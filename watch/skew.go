package watch

import (
	"net/http"
	"sync"
	"time"
)

// SkewRecorder estimates the cluster's clock minus ours from the Date
// header of the API server's responses. Wrap it around a rest.Config's
// transport (cfg.Wrap(rec.Wrap)) and pass rec.Estimate as Options.Skew.
//
// Date has a resolution of one second, so one response only bounds the
// skew: the server's time when it answered lies in [Date, Date+1s) and our
// time then lies in [sent, received]. The recorder intersects these bounds
// over responses and returns the middle; a few requests bring it well under
// a second.
type SkewRecorder struct {
	// Now is our clock; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	lo, hi time.Duration
	n      int
}

// Wrap returns rt with every response's Date header recorded.
func (r *SkewRecorder) Wrap(rt http.RoundTripper) http.RoundTripper {
	return &skewTransport{rec: r, rt: rt}
}

type skewTransport struct {
	rec *SkewRecorder
	rt  http.RoundTripper
}

func (t *skewTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := t.rec.now()
	resp, err := t.rt.RoundTrip(req)
	if err == nil {
		if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			t.rec.Observe(d, sent, t.rec.now())
		}
	}
	return resp, err
}

// WrappedRoundTripper lets client-go reach the transport underneath.
func (t *skewTransport) WrappedRoundTripper() http.RoundTripper { return t.rt }

// Observe records one response: the server's Date and our times around it.
func (r *SkewRecorder) Observe(date, sent, received time.Time) {
	lo := date.Sub(received)
	hi := date.Add(time.Second).Sub(sent)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 || lo > r.hi || hi < r.lo {
		// First sample, or inconsistent with the previous ones (a clock
		// was stepped): start over from this one.
		r.lo, r.hi, r.n = lo, hi, 1
		return
	}
	r.lo, r.hi = max(r.lo, lo), min(r.hi, hi)
	r.n++
}

// Estimate returns the cluster's clock minus ours (0 before any response).
func (r *SkewRecorder) Estimate() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return 0
	}
	return r.lo + (r.hi-r.lo)/2
}

func (r *SkewRecorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
