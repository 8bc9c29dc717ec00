// Package elect is the sidecar mode: it competes for a coordination.k8s.io/v1
// Lease, compatible with client-go's leaderelection on the same Lease, and
// tells the application whether it leads through a status file (and
// optionally a child process and /leader), so that at most one replica acts
// at a time.
//
// Every decision is made by the pure state machine in elect/leadership; this
// package is its driver and owns all I/O: the Lease's requests and watch
// (leaseio.go), the status file and the child behind a gate that rechecks
// the term's deadline right before anything becomes visible (gate.go), the
// endpoints, Events and metrics (driver.go). Slow I/O runs in goroutines
// whose results come back to the machine as inputs, so nothing slow ever
// holds up a deadline. The safety argument is in elect/leadership's package
// comment and docs/safety.md.
package elect
