// Package retailcrmtest is a strict, stateful fake of the RetailCRM API v5
// for tests, served by net/http/httptest.
//
// It holds orders, customers, their history and reference data, answers the
// endpoints crmsync uses with the shapes the real service sends (payments as
// an object in /orders and an array in history snapshots, customFields as
// [] when empty, partial history snapshots), and rejects what the real
// service rejects: a wrong or missing key, page together with
// filter[sinceId], page sizes other than 20/50/100, wrong methods, edits
// without a form body. Tests act as a shop manager through UpdateOrder,
// read the final state with Order, count requests per path and inject
// faults (503, HTML 5xx, truncated JSON, slow answers, dropped
// connections) with a fixed seed so runs repeat.
//
// It also holds users (AddUser; /users, /users/{id}), corporate customers
// with companies and contact persons (AddCorporateCustomer, AddCompany;
// /customers-corporate, its history and /{id}/companies; orders of a
// corporate customer carry customer, contact and company as RetailCRM keeps
// them), and the changes that remove things: MergeCustomers (the records a
// merge writes, combinedTo included, and the merged customer gone) and
// DeleteOrder (a deleted record). Each endpoint answers 403 "Access denied."
// without its scope (user_read for users, customer_read for customers).
//
// Lists and history answer from indexes (orders in id order with their
// createdAt parsed once, history positions by id, order and store), so a
// page costs about the same at 100,000 orders as at 1,000; BenchmarkLists
// shows it and TestIndexesAgreeWithBruteForce checks the answers against
// reading every order and record.
//
// Its API has the shape of bitrixtest's: New(t, opts) or NewServer(opts),
// Options{Seed, Now, ...}, InjectFault(Fault{Kind, Path, Method, Count,
// Probability, Status, Delay}) with the same FaultKind names where the idea
// is the same, ClearFaults, URL and Close.
package retailcrmtest
