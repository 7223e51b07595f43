-- Schema version 4: the state that lived in key-value rows (cursors named
-- "profile:..." and "comments:...", run counters read back by the next run,
-- run-alert rows among the rule fires) gets tables of its own. The old rows
-- are moved here, in the migration's transaction, and then deleted: the
-- cursors table keeps only the streams' positions.

-- What one RetailCRM order adds to its customer's purchase profile (pull,
-- mapping.profile_fields): a customer's profile is the sum of the rows of
-- its orders. An order belongs to one customer; moving it to another
-- replaces its row.
CREATE TABLE profile_contributions (
	order_id    INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL,
	counted     INTEGER NOT NULL CHECK (counted IN (0, 1)), -- 0: cancelled or returned, adds nothing
	amount      TEXT    NOT NULL, -- totalSumm, exact decimal text
	created_at  TEXT    NOT NULL DEFAULT '', -- createdAt as RetailCRM gives it, in the account's zone (sorts as text)
	number      TEXT    NOT NULL DEFAULT '',
	updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX profile_contributions_customer ON profile_contributions (customer_id);

-- The old rows were "profile:<customer id>:<order id>" with a JSON value
-- {"o": order id, "c": counted, "a": "amount", "t": created, "n": number}.
-- Rows that do not read as that were skipped by the reader, so they are
-- dropped (the order's next pull writes it again). Should an order have
-- rows under two customers, the one written last wins.
INSERT INTO profile_contributions (order_id, customer_id, counted, amount, created_at, number, updated_at)
SELECT json_extract(value, '$.o'),
	CAST(substr(name, 9, instr(substr(name, 9), ':') - 1) AS INTEGER),
	coalesce(json_extract(value, '$.c'), 0) <> 0,
	CAST(coalesce(json_extract(value, '$.a'), '0') AS TEXT),
	CAST(coalesce(json_extract(value, '$.t'), '') AS TEXT),
	CAST(coalesce(json_extract(value, '$.n'), '') AS TEXT),
	updated_at
FROM cursors
WHERE name GLOB 'profile:[0-9]*:[0-9]*' AND json_valid(value)
	AND json_type(value, '$.o') = 'integer' AND json_extract(value, '$.o') > 0
ORDER BY updated_at, rowid
ON CONFLICT (order_id) DO UPDATE SET customer_id = excluded.customer_id, counted = excluded.counted,
	amount = excluded.amount, created_at = excluded.created_at, number = excluded.number,
	updated_at = excluded.updated_at;

DELETE FROM cursors WHERE name GLOB 'profile:*';

-- Push's per-deal (or lead) timeline cursors: the highest comment id read,
-- so the next run reads only newer comments.
CREATE TABLE comment_cursors (
	entity_type     TEXT    NOT NULL CHECK (entity_type IN ('deal', 'lead')),
	entity_id       INTEGER NOT NULL,
	last_comment_id INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	PRIMARY KEY (entity_type, entity_id)
) STRICT, WITHOUT ROWID;

-- The old rows were "comments:<entity id>" with the comment id as value,
-- one namespace for deals and leads. Each becomes the cursor of the entity
-- type its linked orders use (deal when no order links it any more; both
-- when orders link a deal and a lead of that id, as the old row served
-- both). A value that is not an id was an error for push; it is dropped,
-- so that entity's comments are read again from the newest page back.
INSERT INTO comment_cursors (entity_type, entity_id, last_comment_id, updated_at)
SELECT coalesce(l.entity_type, 'deal'), c.entity_id, c.last_comment_id, c.updated_at
FROM (SELECT CAST(substr(name, 10) AS INTEGER) AS entity_id, CAST(value AS INTEGER) AS last_comment_id, updated_at
	FROM cursors
	WHERE name GLOB 'comments:[0-9]*' AND substr(name, 10) NOT GLOB '*[^0-9]*'
		AND value <> '' AND value NOT GLOB '*[^0-9]*') AS c
LEFT JOIN (SELECT DISTINCT entity_type, entity_id FROM order_links) AS l ON l.entity_id = c.entity_id;

DELETE FROM cursors WHERE name GLOB 'comments:*';

-- What the runs of each command leave for the next run and for status,
-- one row per command (the runs table is their history, and is pruned).
CREATE TABLE run_state (
	command              TEXT    PRIMARY KEY,
	-- pull, backfill: RetailCRM's estimate of the history records still to
	-- read when the last run finished; NULL when unknown.
	backlog              INTEGER,
	-- push: the start of the latest run that read the comments of every
	-- deal with activity; the next run reads the activity since then.
	-- NULL when no run has.
	comments_complete_at INTEGER,
	run_id               INTEGER NOT NULL, -- the run that last wrote this row
	updated_at           INTEGER NOT NULL
) STRICT;

-- Until now status took the backlog from the counters of each command's
-- latest run, and push searched its last 50 runs for the latest finished
-- one (ok or partial) with the counter comments_complete. The counters stay
-- in the runs: they are the runs' report.
INSERT INTO run_state (command, backlog, run_id, updated_at)
SELECT command, json_extract(counters, '$.backlog'), id, coalesce(ended_at, started_at)
FROM runs
WHERE id IN (SELECT max(id) FROM runs GROUP BY command) AND json_type(counters, '$.backlog') = 'integer';

INSERT INTO run_state (command, comments_complete_at, run_id, updated_at)
SELECT command, started_at, id, coalesce(ended_at, started_at)
FROM runs
WHERE id IN (SELECT id FROM runs WHERE command = 'push' ORDER BY id DESC LIMIT 50)
	AND result IN ('ok', 'partial') AND json_extract(counters, '$.comments_complete') = 1
ORDER BY id DESC LIMIT 1
ON CONFLICT (command) DO UPDATE SET comments_complete_at = excluded.comments_complete_at;

-- Alerts about failed runs, sent once per command, kind of failure and
-- day: a row means the alert went out.
CREATE TABLE alert_marks (
	command TEXT    NOT NULL, -- pull, push, backfill
	kind    TEXT    NOT NULL, -- e.g. bitrix-auth, other-<hash>
	day     TEXT    NOT NULL, -- UTC date, 2006-01-02
	sent_at INTEGER NOT NULL,
	PRIMARY KEY (command, kind, day)
) STRICT, WITHOUT ROWID;

-- They were rule fires of the rule "builtin:run-alert" with the event key
-- "<command>:<kind>:<day>" (neither command nor kind holds a colon).
INSERT INTO alert_marks (command, kind, day, sent_at)
SELECT substr(event_key, 1, instr(event_key, ':') - 1),
	substr(event_key, instr(event_key, ':') + 1, length(event_key) - instr(event_key, ':') - 11),
	substr(event_key, -10), fired_at
FROM rule_fires
WHERE rule_key = 'builtin:run-alert' AND action = 'notify'
	AND event_key GLOB '?*:?*:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'
ON CONFLICT DO NOTHING;

DELETE FROM rule_fires WHERE rule_key = 'builtin:run-alert';
