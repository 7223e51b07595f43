-- Schema version 3.

-- Bitrix24 deals, leads and contacts that carry crmsync's ORIGINATOR_ID and
-- the same ORIGIN_ID as an older one (copies made by people or other tools).
-- crmsync keeps using the oldest (kept_id, the lowest id) and never creates
-- another; each row here is one of the others, as the last lookup of that
-- ORIGIN_ID saw them, for status and check. A lookup that finds a single
-- entity again removes its rows.
CREATE TABLE bitrix_duplicates (
	entity_type TEXT    NOT NULL CHECK (entity_type IN ('deal', 'lead', 'contact')),
	origin_id   INTEGER NOT NULL, -- RetailCRM order id (deal, lead) or customer id (contact)
	entity_id   INTEGER NOT NULL, -- the duplicate's Bitrix24 id
	kept_id     INTEGER NOT NULL, -- the entity crmsync uses
	seen_at     INTEGER NOT NULL,
	PRIMARY KEY (entity_type, entity_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX bitrix_duplicates_origin ON bitrix_duplicates (entity_type, origin_id);
