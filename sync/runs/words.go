package runs

import "fmt"

// FailuresPhrase is how every command and status say what became of failed
// items: "parked 0", or "parked 3 (2 waiting for a retry, 1 out of
// attempts)". parked counts them all; waiting those later runs retry on
// their own, the rest need crmsync retry or skip (docs/operations.md,
// "Failed items").
func FailuresPhrase(parked, waiting int) string {
	if parked == 0 {
		return "parked 0"
	}
	return fmt.Sprintf("parked %d (%d waiting for a retry, %d out of attempts)", parked, waiting, parked-waiting)
}
