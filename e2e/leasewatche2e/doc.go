// Package leasewatche2e tests internal/leasewatch, the list-then-watch loop
// both modes follow Leases with, against a real kube-apiserver and etcd,
// started in TestMain with the Lease watch cache off and etcd compacted
// every second, so that an old resourceVersion really expires (410 Gone).
// It lives apart from the loop's package so that the loop's own table
// tests need no API server.
package leasewatche2e
