//go:build race

package bitrix

// raceEnabled: the race detector allocates on its own, so allocation counts
// are measured only without it.
const raceEnabled = true
