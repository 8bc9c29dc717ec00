//go:build race

package endpoints

const raceEnabled = true
