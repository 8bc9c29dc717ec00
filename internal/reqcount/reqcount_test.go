package reqcount

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct{ method, url, want string }{
		{"GET", "/apis/coordination.k8s.io/v1/namespaces/ns/leases/bench", "leases get"},
		{"GET", "/apis/coordination.k8s.io/v1/namespaces/ns/leases?fieldSelector=metadata.name%3Dbench", "leases list"},
		{"GET", "/apis/coordination.k8s.io/v1/namespaces/ns/leases?watch=true&fieldSelector=x", "leases watch"},
		{"GET", "/apis/coordination.k8s.io/v1/namespaces/ns/leases?watch=1", "leases watch"},
		{"PUT", "/apis/coordination.k8s.io/v1/namespaces/ns/leases/bench", "leases update"},
		{"POST", "/apis/coordination.k8s.io/v1/namespaces/ns/leases", "leases create"},
		{"PATCH", "/api/v1/namespaces/ns/events/e1", "events patch"},
		{"POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "selfsubjectaccessreviews create"},
		{"GET", "/api", "other get"},
		{"GET", "/apis/coordination.k8s.io/v1", "discovery get"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := Classify(httptest.NewRequest(tc.method, tc.url, nil)); got != tc.want {
				t.Errorf("Classify(%s %s) = %q, want %q", tc.method, tc.url, got, tc.want)
			}
		})
	}
}

func TestSub(t *testing.T) {
	for _, tc := range []struct {
		name          string
		after, before Counts
		want          Counts
	}{
		{"nothing new", Counts{"leases get": 3}, Counts{"leases get": 3}, Counts{}},
		{"more of a verb", Counts{"leases get": 5, "leases update": 9}, Counts{"leases get": 3, "leases update": 9}, Counts{"leases get": 2}},
		{"a verb first seen after", Counts{"leases get": 1, "leases list": 1}, Counts{"leases get": 1}, Counts{"leases list": 1}},
		{"from nothing", Counts{"leases watch": 2}, nil, Counts{"leases watch": 2}},
		{"a key gone is shown, not hidden", Counts{}, Counts{"leases get": 1}, Counts{"leases get": -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.after.Sub(tc.before); !maps.Equal(got, tc.want) {
				t.Errorf("%v.Sub(%v) = %v, want %v", tc.after, tc.before, got, tc.want)
			}
		})
	}
}

// The proxy forwards to its target, adds what its transport adds, and
// counts each request once by resource and verb; counts survive Close.
func TestProxyCountsAndForwards(t *testing.T) {
	var auth []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		io.WriteString(w, r.Method+" "+r.URL.Path)
	}))
	defer api.Close()
	target, _ := url.Parse(api.URL)
	p, err := Start(target, bearer{"t0ken"})
	if err != nil {
		t.Fatal(err)
	}
	const lease = "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l"
	for _, req := range []struct{ method, path string }{{"GET", lease}, {"GET", lease}, {"PUT", lease}} {
		r, _ := http.NewRequest(req.method, p.Addr()+req.path, nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := req.method + " " + req.path; string(body) != want {
			t.Errorf("the API server answered %q, want %q", body, want)
		}
	}
	p.Close()
	if want := (Counts{"leases get": 2, "leases update": 1}); !maps.Equal(p.Snapshot(), want) {
		t.Errorf("counts %v, want %v", p.Snapshot(), want)
	}
	for _, a := range auth {
		if a != "Bearer t0ken" {
			t.Errorf("the API server saw Authorization %q, want the transport's", a)
		}
	}
}

// bearer is a transport that adds a token, as rest.TransportFor's does.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}
