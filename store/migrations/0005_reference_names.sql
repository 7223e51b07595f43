-- Schema version 5: the RetailCRM dictionaries whose names crmsync writes
-- into its texts (statuses, product statuses, delivery and payment types,
-- payment statuses, stores), cached so that a pull with nothing new reads
-- none of them. The engine reads a dictionary again when it is a day old or
-- when an order names a code it does not hold.

-- One entry of a dictionary: its code and the shop's name for it.
CREATE TABLE reference_names (
	dictionary    TEXT    NOT NULL, -- RetailCRM's /reference/<dictionary>: statuses, product-statuses, delivery-types, ...
	code          TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	status_group  TEXT    NOT NULL DEFAULT '', -- statuses: the status's group code
	cancel_status INTEGER NOT NULL DEFAULT 0 CHECK (cancel_status IN (0, 1)), -- product-statuses: the line leaves the order
	PRIMARY KEY (dictionary, code)
) STRICT, WITHOUT ROWID;

-- When each dictionary was last read whole (an empty one included).
CREATE TABLE reference_fetches (
	dictionary TEXT    PRIMARY KEY,
	fetched_at INTEGER NOT NULL -- unix milliseconds
) STRICT, WITHOUT ROWID;
