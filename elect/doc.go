// Package elect is the sidecar mode: it competes for a coordination.k8s.io/v1
// Lease with client-go's leaderelection and tells the application whether it
// leads, through a status file (and optionally a child process), without ever
// letting two replicas' status files exist at once while clocks run at the
// same rate.
//
// The safety argument, in short (the README has it in full):
//   - every successful renewal request's start time is taken on the
//     monotonic clock (guardLock); the status file is removed and the child's
//     stop begins no later than that start + RenewDeadline - Grace, whether
//     or not client-go has noticed (termOwner's deadline timer); followers
//     cannot take the Lease before LeaseDuration after they saw that renewal,
//     and LeaseDuration > RenewDeadline + RetryPeriod;
//   - every write and removal of the files goes through one owner that knows
//     which leadership term a write belongs to, so a late write can never
//     land after the removal that ended its term;
//   - on shutdown the file goes and the child stops before client-go is told
//     to release the Lease;
//   - a write to the Lease under our identity that this process did not make
//     is treated as another holder (collision), never as ours.
package elect
