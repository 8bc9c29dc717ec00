package watch

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Through the transport wrapper, as the command uses it: a server whose
// clock runs an hour ahead is estimated an hour ahead.
func TestSkewRecorderWrapReadsDate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	}))
	defer srv.Close()
	rec := &SkewRecorder{}
	client := &http.Client{Transport: rec.Wrap(http.DefaultTransport)}
	for range 3 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := rec.Estimate(); got < time.Hour-time.Second || got > time.Hour+time.Second {
		t.Errorf("estimate %s, want an hour within the Date header's second", got)
	}
}
