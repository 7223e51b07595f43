//go:build race

package sync

// raceEnabled makes the heaviest tests smaller under the race detector.
const raceEnabled = true
