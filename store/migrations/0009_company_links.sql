-- Schema version 9: Bitrix24 companies of corporate customers and of orders'
-- legal buyers. A cache like the other links: the company's ORIGIN_ID (and
-- its requisite's INN) in Bitrix24 are the truth.

-- origin_id is the company's ORIGIN_ID: the RetailCRM corporate customer id,
-- or "inn:<INN>" / "inn:<INN>:<KPP>" for an individual customer's order-level
-- legal buyer. content_hash covers the company's own fields (its name);
-- requisites maps "<INN>:<KPP>" to the hash of the requisite last written or
-- found complete, contacts lists the contacts crmsync linked to it (both JSON).
CREATE TABLE company_links (
	origin_id    TEXT    PRIMARY KEY,
	company_id   INTEGER NOT NULL,
	content_hash TEXT    NOT NULL DEFAULT '',
	requisites   TEXT    NOT NULL DEFAULT '{}',
	contacts     TEXT    NOT NULL DEFAULT '[]',
	synced_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX company_links_company ON company_links (company_id);
