-- Schema version 2: push reads the comments of open deals in turn, so a
-- comment on a deal with no other activity is never missed.

-- The RetailCRM status group of the order when pull last wrote its link
-- ('' when unknown, e.g. links older than this column): push sweeps the
-- deals of orders not in a final group.
ALTER TABLE order_links ADD COLUMN status_group TEXT NOT NULL DEFAULT '';

-- Where push's sweep of open deals' timeline comments stands, per linked
-- entity type (deal or lead): the last entity id it read. The next run
-- reads the open ones after it and wraps around to the lowest.
CREATE TABLE comment_sweeps (
	entity_type    TEXT    PRIMARY KEY,
	last_entity_id INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
) STRICT;
