-- Schema version 7: which Bitrix24 user is responsible for the deals of a
-- RetailCRM manager, as pull matched them by e-mail (RetailCRM /users,
-- Bitrix24 user.get). One row per RetailCRM user pull has seen, matched or
-- not (bitrix_user_id 0), so an unmatched manager does not make every run
-- read both user lists again; the rows are replaced together when they are
-- a day old or an order names a user they do not know. mapping.managers
-- overrides them and is not stored.
CREATE TABLE manager_matches (
	retailcrm_user_id INTEGER PRIMARY KEY,
	bitrix_user_id    INTEGER NOT NULL DEFAULT 0, -- 0: no active Bitrix24 user has the e-mail
	email             TEXT    NOT NULL DEFAULT '', -- normalised: trimmed, lower-case
	name              TEXT    NOT NULL DEFAULT '', -- the RetailCRM user's name, for texts
	matched_at        INTEGER NOT NULL
) STRICT;
