// Package bitrix is a Bitrix24 REST client that talks to a portal through an
// inbound webhook (https://PORTAL/rest/USER_ID/SECRET/).
//
// Every call goes through one leaky-bucket limiter per portal, retries what is
// safe to retry (503 QUERY_LIMIT_EXCEEDED always, server and network errors for
// reads only), pauses a method blocked by OPERATION_TIME_LIMIT until its
// operating_reset_at, and never lets the webhook secret reach an error or a log.
// Writes whose outcome is unknown after a failure are reported with
// ErrOutcomeUnknown so that the caller can look up before resending.
//
// Batch builds "batch" requests of up to 50 commands, splits longer lists, keeps
// $result[...] chains together and reports the outcome of every command on its
// own (done, failed, not executed, unknown); a batch is never replayed whole.
package bitrix
