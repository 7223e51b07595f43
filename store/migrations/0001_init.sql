-- Schema version 1. Timestamps are unix milliseconds (UTC), so they sort and
-- compare as integers. Tables are STRICT so a wrong Go type fails loudly.

-- Where each stream stopped: history ids, backfill progress, per-deal
-- comment cursors ("comments:<dealID>").
CREATE TABLE cursors (
	name       TEXT    PRIMARY KEY,
	value      TEXT    NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- RetailCRM order -> Bitrix24 deal (or lead). A cache: the remote
-- ORIGIN_ID keys are the truth.
CREATE TABLE order_links (
	order_id     INTEGER PRIMARY KEY,
	site         TEXT    NOT NULL DEFAULT '',
	number       TEXT    NOT NULL DEFAULT '',
	entity_type  TEXT    NOT NULL DEFAULT 'deal',
	entity_id    INTEGER NOT NULL,
	contact_id   INTEGER NOT NULL DEFAULT 0,
	customer_id  INTEGER NOT NULL DEFAULT 0,
	content_hash TEXT    NOT NULL DEFAULT '',
	synced_at    INTEGER NOT NULL
) STRICT;
-- push looks orders up by the deal a stage move belongs to.
CREATE INDEX order_links_entity ON order_links (entity_type, entity_id);
CREATE INDEX order_links_customer ON order_links (customer_id);

-- RetailCRM customer -> Bitrix24 contact.
CREATE TABLE customer_links (
	customer_id  INTEGER PRIMARY KEY,
	contact_id   INTEGER NOT NULL,
	email        TEXT    NOT NULL DEFAULT '',
	phone        TEXT    NOT NULL DEFAULT '',
	content_hash TEXT    NOT NULL DEFAULT '',
	synced_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX customer_links_email ON customer_links (email);
CREATE INDEX customer_links_phone ON customer_links (phone);
CREATE INDEX customer_links_contact ON customer_links (contact_id);

CREATE TABLE runs (
	id         INTEGER PRIMARY KEY,
	command    TEXT    NOT NULL,
	started_at INTEGER NOT NULL,
	ended_at   INTEGER,
	result     TEXT    NOT NULL DEFAULT 'running',
	counters   TEXT    NOT NULL DEFAULT '{}',
	pid        INTEGER NOT NULL DEFAULT 0,
	message    TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX runs_command ON runs (command, id);

-- What happened, per item, for status and post-mortems.
CREATE TABLE events (
	id        INTEGER PRIMARY KEY,
	run_id    INTEGER REFERENCES runs (id) ON DELETE SET NULL,
	source    TEXT    NOT NULL,
	source_id TEXT    NOT NULL DEFAULT '',
	order_id  INTEGER,
	action    TEXT    NOT NULL,
	result    TEXT    NOT NULL,
	message   TEXT    NOT NULL DEFAULT '',
	at        INTEGER NOT NULL
) STRICT;
CREATE INDEX events_run ON events (run_id);
CREATE INDEX events_order ON events (order_id);
CREATE INDEX events_at ON events (at);

-- Items that failed and are retried with backoff, or parked for an operator.
CREATE TABLE failures (
	id              INTEGER PRIMARY KEY,
	kind            TEXT    NOT NULL,
	key             TEXT    NOT NULL,
	attempts        INTEGER NOT NULL,
	last_error      TEXT    NOT NULL DEFAULT '',
	payload         TEXT    NOT NULL DEFAULT '',
	first_failed_at INTEGER NOT NULL,
	last_failed_at  INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	parked          INTEGER NOT NULL DEFAULT 0 CHECK (parked IN (0, 1)),
	skipped         INTEGER NOT NULL DEFAULT 0 CHECK (skipped IN (0, 1)),
	UNIQUE (kind, key)
) STRICT;
CREATE INDEX failures_due ON failures (next_attempt_at);

-- Values crmsync wrote to either side, so their echoes are recognised.
CREATE TABLE ledger (
	id         INTEGER PRIMARY KEY,
	side       TEXT    NOT NULL,
	entity     TEXT    NOT NULL,
	entity_id  INTEGER NOT NULL,
	field      TEXT    NOT NULL,
	value      TEXT    NOT NULL,
	remote_id  INTEGER NOT NULL DEFAULT 0,
	written_at INTEGER NOT NULL
) STRICT;
CREATE INDEX ledger_key ON ledger (side, entity, entity_id, field);
-- recognises objects crmsync created, e.g. its own timeline comments.
CREATE INDEX ledger_remote ON ledger (side, entity, remote_id);
CREATE INDEX ledger_written ON ledger (written_at);

-- Business rules fire once per (rule, event, action).
CREATE TABLE rule_fires (
	rule_key  TEXT    NOT NULL,
	event_key TEXT    NOT NULL,
	action    TEXT    NOT NULL,
	result_id TEXT    NOT NULL DEFAULT '',
	fired_at  INTEGER NOT NULL,
	PRIMARY KEY (rule_key, event_key, action)
) STRICT, WITHOUT ROWID;
