-- Schema version 10: Bitrix24 companies that carry crmsync's ORIGINATOR_ID
-- and the same ORIGIN_ID as an older one, recorded for status and check as
-- bitrix_duplicates records deals, leads and contacts. A table of its own:
-- a company's ORIGIN_ID is text (a corporate customer id, or
-- "inn:<INN>[:<KPP>]"). crmsync keeps using the oldest (kept_id) and never
-- creates another; a lookup that finds a single company again removes its
-- rows.
CREATE TABLE company_duplicates (
	company_id INTEGER PRIMARY KEY, -- the duplicate's Bitrix24 id
	origin_id  TEXT    NOT NULL,
	kept_id    INTEGER NOT NULL, -- the company crmsync uses
	seen_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX company_duplicates_origin ON company_duplicates (origin_id);
