// Package leadership is the elect sidecar's decisions as a pure state
// machine, in the style of etcd's raft package: every input (a Lease seen on
// the watch, the result of a write, the passage of time, a signal, the child
// exiting) goes through Machine.Step, which changes state and returns the
// effects to carry out (write the Lease, show or hide the status file, start
// or stop the child, put the leader label on this Pod or take it off,
// publish to the endpoints, arm the timer). Step performs
// no I/O, reads no clock and starts no goroutine: the caller passes the time
// with every input, and one driver (package elect) does the I/O and feeds the
// results back as inputs. The same state and input always give the same
// effects, so a deterministic simulation (package elect's sim_test.go, which
// runs the real driver around each machine) drives many replicas through
// millions of interleavings and checks the promise at every step.
//
// Vocabulary. The Lease is "held" by the identity its spec names. A "term"
// is one period during which this replica acts as leader: its status file is
// shown, its child runs, /leader says isLeader. A term starts after a write
// naming us as holder succeeded and ends at the first of: the renew deadline
// passed without a successful renewal, the Lease was seen held by someone
// else (or by another process under our identity), a renewal conflicted,
// the child exited, or shutdown. Terms are numbered from 1; everything the
// machine asks to show carries its term, so a late effect of an ended term
// can be recognised and dropped.
//
// The promise, and why it holds (docs/safety.md has the long
// form):
//   - A term acts only until the start of its last successful write naming
//     us (taken on our monotonic clock before the request is sent) plus the
//     acting window (RenewDeadline, minus Grace in exec mode so the child is
//     gone by RenewDeadline). Another replica takes a Lease that was not
//     released only after it saw the same record unchanged for
//     LeaseDuration on its own clock, and every write carries the
//     resourceVersion it is based on, so a takeover based on a stale view
//     fails with a conflict. LeaseDuration > RenewDeadline gives the margin.
//   - On shutdown the term ends first, then the machine waits ReleaseDelay
//     after the status file is gone (0 in exec mode once the child's whole
//     tree is gone), and only then releases the Lease; so no other replica
//     acts within ReleaseDelay of our file disappearing.
//   - The machine never writes the Lease naming us while it is not acting,
//     except the one write that starts a term; so a replica that stopped
//     acting never keeps the Lease alive.
package leadership
