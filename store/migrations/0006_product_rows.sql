-- Schema version 6: what a deal carries besides its fields.

-- The content hash of the product rows last set on an order's deal (or
-- lead), kept apart from content_hash: the rows call replaces every row, so
-- it is sent only when the rows themselves changed. '' means none were
-- ever set by crmsync.
ALTER TABLE order_links ADD COLUMN rows_hash TEXT NOT NULL DEFAULT '';

-- Bitrix24 catalogue products found by their external code (XML_ID = a
-- RetailCRM offer's externalId), for mapping.products.match: external_id.
-- product_id 0 records that no product has the code; such a row is looked
-- up again after a while (the catalogue may gain it), a found one when a
-- rows call naming it fails.
CREATE TABLE catalog_products (
	iblock_id  INTEGER NOT NULL, -- mapping.products.iblock_id; 0: the catalogues catalog.catalog.list names
	xml_id     TEXT    NOT NULL,
	product_id INTEGER NOT NULL,
	checked_at INTEGER NOT NULL,
	PRIMARY KEY (iblock_id, xml_id)
) STRICT, WITHOUT ROWID;
