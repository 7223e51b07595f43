// Package retailcrm is crmsync's client for the RetailCRM API v5.
//
// It covers only what crmsync needs: order and customer history, order
// lists and single orders, the order edit call, reference data, the key's
// scopes and the account settings. Every call takes a context first, is
// paced by a client-side limiter, has a per-request timeout and is retried
// with capped exponential backoff where a retry is safe (see retry.go).
//
// The decoders accept the shapes the real service is known to return
// (payments as an object or an array, customFields as {} or [], errors as
// an object or an array, polymorphic history values, money as int or float)
// and keep money exact as decimals. Dates carry no UTC offset; they are kept
// as written and converted with the account's time zone the caller passes
// (see DateTime.In), never with the host's zone.
//
// The API key is sent only in the X-API-KEY header and is masked in every
// error the client returns.
package retailcrm
