// Package push is crmsync's push engine (docs/architecture.md, Push):
// it reads Bitrix24's stage history from the stored cursor, maps the latest
// stage of every deal linked to an order to a RetailCRM status and writes it
// with POST /api/v5/orders/{id}/edit, and appends new timeline comments
// written by people to the order's manager comment, once each.
//
// Echoes are suppressed through the store's write ledger: a stage pull set is
// not pushed back, a comment crmsync wrote is not carried back, and every
// status and comment push writes is recorded so pull can drop its echo. When
// the order's status and the deal's stage both changed since the last sync,
// the later change wins and the decision goes to the event log.
//
// Every RetailCRM write passes through one gate: the live gate sends, the
// dry-run gate records and answers as RetailCRM would, so a dry run plans
// through exactly the code a real run uses (against a scratch copy of the
// database, which it leaves unchanged).
package push
