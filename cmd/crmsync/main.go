// Command crmsync keeps a RetailCRM account and a Bitrix24 portal in sync.
// See README.md and docs/ for the contract; each subcommand lives in its
// own file here.
package main

import (
	"os"
)

func main() {
	sig := newSignals()
	defer sig.stop()
	code := run(sig.ctx, os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}, sig)
	os.Exit(code)
}
