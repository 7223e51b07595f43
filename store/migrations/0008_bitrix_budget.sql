-- Schema version 8: one request budget across runs.

-- The Bitrix24 portal's request counter (its leaky bucket) as the last run
-- left it: level requests not yet drained at `at` (unix ms). Keyed by the
-- portal's host so every configuration that talks to one portal shares it;
-- the next run starts from it, drained by the time since.
CREATE TABLE bitrix_budget (
	portal TEXT    NOT NULL PRIMARY KEY,
	level  REAL    NOT NULL,
	at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
