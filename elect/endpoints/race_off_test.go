//go:build !race

package endpoints

// raceEnabled reports a build with the race detector, which inflates RSS.
const raceEnabled = false
