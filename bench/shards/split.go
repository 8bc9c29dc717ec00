package main

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/leader-elector/leader-elector/internal/reqcount"
)

// memberCounter stands in front of a replica's reqcount proxy and counts,
// by verb, the requests for its member Lease ("...-member-<id>" in the
// path): reqcount counts by resource and verb only, and the member Lease's
// renewals (every lease duration / 3) are the group's cost on top of the
// shards' own, which the tables show apart.
type memberCounter struct {
	addr   string
	srv    *http.Server
	mu     sync.Mutex
	counts reqcount.Counts
}

func startMemberCounter(next string) (*memberCounter, error) {
	target, err := url.Parse(next)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &memberCounter{addr: "http://" + ln.Addr().String(), counts: reqcount.Counts{}}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		FlushInterval: -1, // watches stream
		// A replica that ends cuts its watch: no news.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	c.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/leases/") && strings.Contains(r.URL.Path, "-member-") {
			c.mu.Lock()
			c.counts[reqcount.Classify(r)]++
			c.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	})}
	go c.srv.Serve(ln)
	return c, nil
}

func (c *memberCounter) snapshot() reqcount.Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := reqcount.Counts{}
	out.Add(c.counts)
	return out
}

func (c *memberCounter) close() { c.srv.Close() }
