// Package reqcount counts an API client's requests by resource and verb: a
// reverse proxy stands between one client (an elector replica) and the API
// server, adding the credentials of the transport it is given, so the
// client's kubeconfig names only the proxy's plain-HTTP address. The
// failover bench and the e2e tests count through it: requests, not only
// time, because a loop that re-reads at once hides behind a fast local API
// server.
package reqcount

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Counts are requests by "resource verb", e.g. "leases get".
type Counts map[string]int

// Proxy forwards one client's requests to the API server and counts them.
type Proxy struct {
	addr   string
	srv    *http.Server
	mu     sync.Mutex
	counts Counts
}

// Start listens on a free loopback port and forwards every request to
// target through transport (which carries the credentials).
func Start(target *url.URL, transport http.RoundTripper) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{addr: "http://" + ln.Addr().String(), counts: Counts{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport:     transport,
		FlushInterval: -1, // watches stream
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[Classify(r)]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go p.srv.Serve(ln)
	return p, nil
}

// Addr is the proxy's URL ("http://127.0.0.1:PORT"), the server a
// client's kubeconfig names.
func (p *Proxy) Addr() string { return p.addr }

// Snapshot returns a copy of the counts so far. It may be called after
// Close: the counts stay.
func (p *Proxy) Snapshot() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(Counts, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() { p.srv.Close() }

// Sub returns c - before for every key, leaving out the keys that did not
// change: the requests made between two snapshots.
func (c Counts) Sub(before Counts) Counts {
	out := Counts{}
	for k, v := range c {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	for k, v := range before {
		if _, ok := c[k]; !ok && v != 0 {
			out[k] = -v
		}
	}
	return out
}

// Add adds o's counts to c.
func (c Counts) Add(o Counts) {
	for k, v := range o {
		c[k] += v
	}
}

// Classify names a request "resource verb", e.g. "leases get", "leases
// watch", with RBAC's verbs (PUT is "update", POST "create").
func Classify(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// /api/v1/... or /apis/group/version/...
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return "other " + strings.ToLower(r.Method)
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) == 0 {
		return "discovery get"
	}
	resource, named := parts[0], len(parts) > 1
	verb := strings.ToLower(r.Method)
	switch r.Method {
	case http.MethodGet:
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPut:
		verb = "update"
	case http.MethodPost:
		verb = "create"
	}
	return resource + " " + verb
}
