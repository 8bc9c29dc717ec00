package main

import (
	"fmt"
	"strings"

	"github.com/leader-elector/leader-elector/internal/reqcount"
)

// Requests per hand-over (issue 21): a follower that re-reads the Lease in
// a loop after a lost race costs no time against a fast local API server,
// only requests, so the bench counts them per hand-over as well as timing
// it.

// leaseVerb is one Lease verb as the tables name it: by its HTTP method,
// as an API server's audit log and metrics do.
type leaseVerb struct {
	key, name, plural string
	always            bool // shown even when neither elector made one
}

var leaseVerbs = []leaseVerb{
	{"leases get", "GET", "GETs", true},
	{"leases list", "LIST", "LISTs", true},
	{"leases update", "PUT", "PUTs", true},
	{"leases watch", "WATCH", "WATCHes", false},
	{"leases create", "CREATE", "CREATEs", false},
}

// maxGracefulGETs is issue 21's bound: Lease GETs per graceful hand-over,
// on average (the defect made 17-18).
const maxGracefulGETs = 4

// requestRow is one line of the side-by-side table.
type requestRow struct {
	name       string
	ours, base float64
}

// leaseRows returns the Lease requests per hand-over of ours and the
// baseline, each counted over n hand-overs: all of them first, then one
// row per verb (WATCH and CREATE only if either made one). No hand-over,
// no rows.
func leaseRows(what string, ours, base reqcount.Counts, n int) []requestRow {
	if n == 0 {
		return nil
	}
	per := func(c reqcount.Counts, key string) float64 { return float64(c[key]) / float64(n) }
	rows := []requestRow{{fmt.Sprintf("Lease requests per %s", what), float64(leases(ours)) / float64(n), float64(leases(base)) / float64(n)}}
	for _, v := range leaseVerbs {
		a, b := per(ours, v.key), per(base, v.key)
		if v.always || a != 0 || b != 0 {
			rows = append(rows, requestRow{fmt.Sprintf("  Lease %s per %s", v.plural, what), a, b})
		}
	}
	return rows
}

// leases is the number of Lease requests of any verb in c.
func leases(c reqcount.Counts) int {
	t := 0
	for k, v := range c {
		if strings.HasPrefix(k, "leases ") {
			t += v
		}
	}
	return t
}

// leaseSummary writes c's Lease requests for a progress line, e.g.
// "1 GET, 3 PUT", verbs in the tables' order; "none" if there were none.
func leaseSummary(c reqcount.Counts) string {
	var parts []string
	for _, v := range leaseVerbs {
		if c[v.key] != 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[v.key], v.name))
		}
	}
	if other := leases(c) - sumOf(c, leaseVerbs); other != 0 {
		parts = append(parts, fmt.Sprintf("%d other", other))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func sumOf(c reqcount.Counts, vs []leaseVerb) int {
	t := 0
	for _, v := range vs {
		t += c[v.key]
	}
	return t
}
