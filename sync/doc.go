// Package sync is crmsync's pull engine: it reads RetailCRM's order history
// from the stored cursor, plans the Bitrix24 contacts, deals (or leads) and
// timeline comments each changed order needs, applies the plan through
// Bitrix24 batch calls and commits links, events and the new cursor in one
// SQLite transaction per history page (SPEC §1, §2, §6).
//
// Every Bitrix24 write passes through one gate. A real run sends; a dry run
// (Options.DryRun) records instead and answers with placeholder ids, so the
// same planning code produces the diff report a real run would act on.
//
// The package shadows the standard library's sync; inside it the standard
// one is imported as stdsync.
package sync
