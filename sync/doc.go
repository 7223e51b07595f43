// Package sync is crmsync's pull engine (docs/architecture.md): it reads
// RetailCRM's order history from the stored cursor, 100 records a page,
// drops the echoes of crmsync's own writes, fetches the current orders 100
// ids a call, and for each chunk of up to 50 orders plans and applies,
// through Bitrix24 batch calls, the contacts (found by local link, ORIGIN_ID,
// e-mail, then phone), the deals or leads (found by ORIGIN_ID), the timeline
// comments of status changes and the actions of the configured rules. The
// page's links, event-log rows, failures and the new cursor are committed in
// one SQLite transaction once every effect is applied or parked. Customer
// changes without an order change follow from /customers/history with a
// cursor of their own.
//
// Every Bitrix24 write passes through one gate. A real run sends; a dry run
// (Options.DryRun) records instead and answers with placeholder ids, so the
// same planning code produces the diff report (Report.WriteText,
// Report.WriteJSON) of what a real run would do.
//
// The package shadows the standard library's sync; inside it the standard
// one is imported as stdsync.
package sync
