-- stands alone: make installcheck REGRESS=inventory
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- Inventory: the stock ledger, o2o_stock_sync (as of counted_at, stale and
-- repeated counts, full and partial, counts below reservations, bad rows,
-- all or nothing), the stock feed, safety stock, freshness, dealer-scoped
-- access.  Concurrency: test/specs/stock_sync_*.spec and the stress run.
\set SHOW_CONTEXT never
SET extra_float_digits = 0;
-- what earlier tests in this database left
SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule, o2o.stock_ledger, o2o.stock_feed RESTART IDENTITY CASCADE;
RESET client_min_messages;

INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (1, 'G1', 'West', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))');
INSERT INTO o2o.product VALUES
 ('FR-1', 'Fridge', 'fridge', false, NULL),
 ('WA-1', 'Washer', 'washer', false, NULL),
 ('PU-1', 'Purifier', 'purifier', false, NULL),
 ('RH-1', 'Range hood', 'range_hood', false, NULL);
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES
 ('FR-1', 2999, '2020-01-01'), ('WA-1', 1999, '2020-01-01'), ('PU-1', 999, '2020-01-01'), ('RH-1', 1599, '2020-01-01');
INSERT INTO o2o.commission_rule (category, valid_from, dealer_share, installer_share, origin_share) VALUES
 ('fridge', '2020-01-01', 0.08, 0, 0.02), ('washer', '2020-01-01', 0.08, 0, 0.02),
 ('purifier', '2020-01-01', 0.08, 0, 0.02);
INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES
 (1, 'Near', 'retailer', 'SRID=4326;POINT(109.52 30.5)'),
 (2, 'Far', 'retailer', 'SRID=4326;POINT(109.7 30.5)');
-- a row inserted directly is an adjustment by whoever inserted it
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (1, 'FR-1', 3), (1, 'WA-1', 2), (2, 'FR-1', 5);
CREATE FUNCTION pg_temp.place(id bigint, sku text, minute int) RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, created_at)
	VALUES (id, sku, 1, 'SRID=4326;POINT(109.5 30.5)', o2o_national_price(sku, '2026-11-01'),
			'2026-11-01 10:00+00'::timestamptz + make_interval(mins => minute))
	RETURNING order_id
$$;
-- the ledger's running sum against every stock row: the invariant
CREATE FUNCTION pg_temp.ledger_ok() RETURNS boolean LANGUAGE sql AS $$
	SELECT NOT EXISTS (
		SELECT 1 FROM o2o.stock s
		  FULL JOIN (SELECT dealer_id, sku, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved
					   FROM o2o.stock_ledger GROUP BY 1, 2) l USING (dealer_id, sku)
		 WHERE coalesce(s.on_hand, 0) <> coalesce(l.on_hand, 0) OR coalesce(s.reserved, 0) <> coalesce(l.reserved, 0))
	   AND NOT EXISTS (SELECT 1 FROM o2o.stock_ledger a JOIN o2o.stock_ledger b
						 ON b.dealer_id = a.dealer_id AND b.sku = a.sku
						AND b.entry_id = (SELECT min(entry_id) FROM o2o.stock_ledger c
										   WHERE c.dealer_id = a.dealer_id AND c.sku = a.sku AND c.entry_id > a.entry_id)
					   WHERE b.on_hand <> a.on_hand + b.d_on_hand OR b.reserved <> a.reserved + b.d_reserved)
$$;
CREATE FUNCTION pg_temp.stock() RETURNS TABLE (dealer_id int, sku text, on_hand int, reserved int, safety int)
	LANGUAGE sql AS $$ SELECT dealer_id, sku, on_hand, reserved, safety FROM o2o.stock ORDER BY 1, 2 $$;
CREATE VIEW pg_temp.ledger AS
	SELECT entry_id, dealer_id, sku, kind, d_on_hand, d_reserved, on_hand, reserved, order_id, reason, ref,
		   actor = current_user AS by_me
	  FROM o2o.stock_ledger ORDER BY entry_id;

--
-- 1. the ledger: reserve, release, consume, adjustments; append-only
--
SELECT pg_temp.place(1, 'FR-1', 0), pg_temp.place(2, 'FR-1', 1), pg_temp.place(3, 'FR-1', 2);
SELECT o2o_assign(1), o2o_assign(2);
SELECT o2o_cancel(2);
SELECT o2o_complete(1);
UPDATE o2o.stock SET on_hand = on_hand + 4 WHERE dealer_id = 2 AND sku = 'FR-1';
UPDATE o2o.stock SET updated_at = updated_at WHERE dealer_id = 2;	-- no change: no entry
SELECT * FROM pg_temp.ledger;
SELECT pg_temp.ledger_ok();
UPDATE o2o.stock_ledger SET d_on_hand = 0 WHERE entry_id = 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM o2o.stock_ledger WHERE entry_id = 1;
\echo :LAST_ERROR_SQLSTATE
-- a statement that fails leaves no entry
\set VERBOSITY terse
UPDATE o2o.stock SET reserved = on_hand + 1 WHERE dealer_id = 1 AND sku = 'FR-1';
\set VERBOSITY default
SELECT count(*) AS entries FROM o2o.stock_ledger;

--
-- 2. o2o_stock_sync: one store's counts
--
-- applied, unchanged (the same count again), a new SKU row, safety stock
SELECT * FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 8}, {"sku": "WA-1", "on_hand": 4, "safety": 1}]',
							 '2026-11-30 09:00+00', 'erp-1');
SELECT * FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 8}, {"sku": "WA-1", "on_hand": 4, "safety": 1}]',
							 '2026-11-30 09:00+00', 'erp-1');
-- an older count than the last one applied is stale, and changes nothing
SELECT * FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 1}]', '2026-11-30 08:00+00', 'erp-0');
SELECT * FROM pg_temp.stock();
SELECT kind, dealer_id, sku, d_on_hand, on_hand, ref FROM pg_temp.ledger WHERE kind = 'count';
SELECT dealer_id, counted_at, source, full_sync FROM o2o.dealer_sync;

-- bad rows are rejected with their reason while the others apply
SELECT * FROM o2o_stock_sync(2, '[{"sku": "PU-1", "on_hand": 2},
								  {"sku": "XX-9", "on_hand": 1},
								  {"sku": "FR-1", "on_hand": -1},
								  {"sku": "WA-1", "on_hand": 2.5},
								  {"sku": "WA-1", "on_hand": 2},
								  {"on_hand": 3},
								  {"sku": "FR-1"},
								  {"sku": 7, "on_hand": 1},
								  {"sku": "FR-1", "on_hand": "3"},
								  {"sku": "FR-1", "on_hand": 1, "safety": -2},
								  [1, 2]]', '2026-11-30 10:00+00');
-- a SKU listed twice is rejected both times
SELECT item, sku, outcome, reason FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 2}, {"sku": "FR-1", "on_hand": 3}]',
													   '2026-11-30 10:00+00');
-- a count from the future
SELECT item, sku, outcome, reason LIKE 'counted_at % is in the future' AS future
  FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 2}]', now() + interval '1 hour');
-- a full count from the future zeroes nothing either, and the store's last
-- count stays in the past (found by the fuzz run: it zeroed every SKU not
-- listed and made every later count stale)
SELECT md5(string_agg(s::text, ',' ORDER BY sku)) AS before FROM pg_temp.stock() s WHERE dealer_id = 2 \gset
SELECT item, sku, outcome FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 2}]', 'infinity', full_sync => true);
SELECT * FROM o2o_stock_sync(2, '[]', now() + interval '1 hour', full_sync => true);
SELECT md5(string_agg(s::text, ',' ORDER BY sku)) = :'before' AS unchanged FROM pg_temp.stock() s WHERE dealer_id = 2;
SELECT counted_at <= now() AND coalesce(full_counted_at <= now(), true) AS in_the_past FROM o2o.dealer_sync WHERE dealer_id = 2;
-- all or nothing: one bad row refuses the whole call, and nothing changes
\set VERBOSITY default
SELECT * FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 1}, {"sku": "XX-9", "on_hand": 1}]',
							 '2026-11-30 11:00+00', all_or_nothing => true);
\set VERBOSITY terse
SELECT * FROM pg_temp.stock() WHERE dealer_id = 2;
-- malformed calls are errors
SELECT * FROM o2o_stock_sync(2, '{"sku": "FR-1"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM o2o_stock_sync(NULL, '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM o2o_stock_sync(2, NULL);
\echo :LAST_ERROR_SQLSTATE
-- an unknown dealer: every row rejected
SELECT item, sku, outcome, reason FROM o2o_stock_sync(99, '[{"sku": "FR-1", "on_hand": 1}]', '2026-11-30 10:00+00');

-- full mode: what the store does not list is zero; partial mode leaves it alone
SELECT * FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 7}]', '2026-11-30 12:00+00', full_sync => true);
SELECT * FROM pg_temp.stock() WHERE dealer_id = 2;
SELECT full_sync FROM o2o.dealer_sync WHERE dealer_id = 2;
-- an empty list in full mode: the store is empty
SELECT * FROM o2o_stock_sync(2, '[]', '2026-11-30 12:30+00', full_sync => true);
-- a SKU the store has no row for, counted before that full count: stale (the
-- full count said 0 later); counted after it, a new row
SELECT item, sku, outcome, reason FROM o2o_stock_sync(2, '[{"sku": "RH-1", "on_hand": 2}]', '2026-11-30 12:00+00');
SELECT item, sku, outcome, on_hand FROM o2o_stock_sync(2, '[{"sku": "RH-1", "on_hand": 2}]', '2026-11-30 12:45+00');
SELECT pg_temp.ledger_ok();

--
-- 3. as of counted_at: units delivered after the count are not brought back
--
SELECT pg_temp.place(4, 'WA-1', 3);
SELECT o2o_assign(4);
SELECT * FROM pg_temp.stock() WHERE dealer_id = 1;
-- the store counts its 2 washers; the order leaves before the count arrives
SELECT now() - interval '1 minute' AS counted \gset
SELECT o2o_complete(4);
SELECT * FROM o2o_stock_sync(1, '[{"sku": "WA-1", "on_hand": 2}]', :'counted', 'scanner');
SELECT * FROM pg_temp.stock() WHERE dealer_id = 1;
-- sent again: nothing changes
SELECT outcome, on_hand, consumed_since FROM o2o_stock_sync(1, '[{"sku": "WA-1", "on_hand": 2}]', :'counted', 'scanner');
SELECT pg_temp.ledger_ok();

--
-- 4. a count below what is reserved: the oldest reservations keep their
-- units, the newest go back to pending, each with an event
--
UPDATE o2o.stock SET on_hand = 6 WHERE dealer_id = 1 AND sku = 'FR-1';
SELECT outcome, on_hand FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 5}]', now());
SELECT pg_temp.place(id, 'FR-1', id::int) FROM generate_series(5, 8) id;
SELECT id, o2o_assign(id) FROM generate_series(5, 8) id;
SELECT * FROM pg_temp.stock() WHERE dealer_id = 1 AND sku = 'FR-1';
SELECT item, sku, outcome, reason, on_hand_before, on_hand, reserved, released_orders
  FROM o2o_stock_sync(1, '[{"sku": "FR-1", "on_hand": 1}]', now(), 'shelf count');
SELECT order_id, status, status_reason, promised_date IS NOT NULL AS promised FROM o2o.orders WHERE order_id BETWEEN 5 AND 8 ORDER BY 1;
SELECT order_id, event, status, detail FROM o2o.order_event WHERE event = 'released' ORDER BY event_id;
SELECT kind, order_id, d_on_hand, d_reserved, on_hand, reserved, reason FROM pg_temp.ledger
 WHERE dealer_id = 1 AND sku = 'FR-1' ORDER BY entry_id DESC LIMIT 5;
SELECT dealer_id, skus, orders_released, units_released FROM o2o.stock_shortfalls;
-- released orders are routed again by the next o2o_assign_pending: to the far dealer
SELECT o2o_assign_pending(10);
SELECT order_id, status, (SELECT dealer_id FROM o2o.assignment a WHERE a.order_id = o.order_id AND a.state = 'active')
  FROM o2o.orders o WHERE order_id BETWEEN 5 AND 8 ORDER BY 1;
SELECT pg_temp.ledger_ok();

--
-- 5. safety stock: units never offered online
--
SELECT * FROM o2o_stock_sync(2, '[{"sku": "PU-1", "on_hand": 2, "safety": 2}]', now());
SELECT pg_temp.place(20, 'PU-1', 20);
SELECT dealer_id, available, safety, eligible, reason FROM o2o_candidates(20);
SELECT o2o_assign(20);
SELECT status, status_reason FROM o2o.orders WHERE order_id = 20;
UPDATE o2o.stock SET safety = 1 WHERE dealer_id = 2 AND sku = 'PU-1';
SELECT dealer_id, available, safety, eligible FROM o2o_candidates(20);
SELECT o2o_assign(20);
SELECT * FROM pg_temp.stock() WHERE sku = 'PU-1';
UPDATE o2o.stock SET safety = -1 WHERE dealer_id = 2;
\echo :LAST_ERROR_SQLSTATE

--
-- 6. freshness: o2o_route.stock_max_age; the BI views
--
SELECT pg_temp.place(21, 'FR-1', 21);
SELECT item, sku, outcome FROM o2o_stock_sync(1, '[{"sku": "FR-1", "on_hand": 9}]', '2026-11-01 08:00+00');
UPDATE o2o.dealer_sync SET counted_at = '2026-11-01 08:00+00' WHERE dealer_id = 1;
SET o2o_route.stock_max_age = '1d';
SELECT dealer_id, eligible, reason, stock_counted_at IS NOT NULL AS synced FROM o2o_candidates(21);
DELETE FROM o2o.dealer_sync WHERE dealer_id = 2;
SELECT dealer_id, eligible, reason FROM o2o_candidates(21);
SELECT o2o_assign(21);
SELECT status, status_reason FROM o2o.orders WHERE order_id = 21;
SELECT dealer_id, name, last_counted_at, last_source FROM o2o.stale_dealers ORDER BY 1;
RESET o2o_route.stock_max_age;
SELECT dealer_id, last_counted_at FROM o2o.stale_dealers ORDER BY 1;	-- 1 day when the setting is off
SELECT o2o_assign(21);
SET o2o_route.stock_max_age = -1;
\echo :LAST_ERROR_SQLSTATE
SHOW o2o_route.stock_max_age;

--
-- 7. the feed: COPY, then one call; an outcome in each row
--
COPY o2o.stock_feed (dealer_id, sku, on_hand, source) FROM stdin;
1	FR-1	12	nightly
1	PU-1	3	nightly
2	FR-1	4	nightly
2	XX-9	4	nightly
77	FR-1	4	nightly
\N	FR-1	1	nightly
2	WA-1	-3	nightly
\.
SELECT fed_by = current_user::regrole AS fed_by_me, count(*) FROM o2o.stock_feed GROUP BY 1;
-- all or nothing: refused before anything is applied
CALL o2o_stock_apply(all_or_nothing => true);
SELECT count(*) AS still_new FROM o2o.stock_feed WHERE outcome IS NULL;
CALL o2o_stock_apply(dealers_per_commit => 1);
SELECT feed_id, dealer_id, sku, outcome, reason, on_hand_after FROM o2o.stock_feed ORDER BY feed_id;
-- a second call finds nothing left
CALL o2o_stock_apply();
-- in one transaction, the function form; full mode zeroes what a store did not list
BEGIN;
INSERT INTO o2o.stock_feed (dealer_id, sku, on_hand) VALUES (2, 'FR-1', 6);
SELECT feed_id, dealer_id, sku, outcome, on_hand_before, on_hand FROM o2o_stock_apply_feed(full_sync => true);
COMMIT;
-- several counts of one row in the feed: the latest applies, the older are stale
INSERT INTO o2o.stock_feed (dealer_id, sku, on_hand, counted_at) VALUES
 (1, 'PU-1', 5, now() - interval '1 minute'), (1, 'PU-1', 4, now());
CALL o2o_stock_apply();
SELECT feed_id, outcome, reason LIKE 'a later count % of this row is in the same batch' AS superseded, on_hand_after
  FROM o2o.stock_feed WHERE feed_id > 8 ORDER BY 1;
SELECT pg_temp.ledger_ok();

--
-- 8. dealer-scoped access: a dealer's login syncs and reads only its own
-- stock; the application keeps routing
--
CREATE ROLE regress_o2o_store1;
CREATE ROLE regress_o2o_app;
INSERT INTO o2o.dealer_login VALUES ('regress_o2o_store1', 1);
GRANT USAGE ON SCHEMA o2o TO regress_o2o_store1, regress_o2o_app;
GRANT SELECT ON o2o.dealer_stock, o2o.dealer_stock_ledger TO regress_o2o_store1;
GRANT EXECUTE ON FUNCTION o2o_stock_sync(int, jsonb, timestamptz, text, boolean, boolean) TO regress_o2o_store1;
GRANT INSERT ON o2o.stock_feed TO regress_o2o_store1;
GRANT USAGE ON SEQUENCE o2o.stock_feed_feed_id_seq TO regress_o2o_store1;
GRANT SELECT ON ALL TABLES IN SCHEMA o2o TO regress_o2o_app;
GRANT INSERT ON o2o.orders TO regress_o2o_app;
GRANT EXECUTE ON FUNCTION o2o_assign(bigint), o2o_stock_apply_feed(boolean, boolean, int) TO regress_o2o_app;
SET ROLE regress_o2o_store1;
SELECT item, sku, outcome, on_hand FROM o2o_stock_sync(1, '[{"sku": "FR-1", "on_hand": 11}]');
SELECT * FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 0}]');
\echo :LAST_ERROR_SQLSTATE
SELECT dealer_id, sku, on_hand FROM o2o.dealer_stock ORDER BY 1, 2;
SELECT DISTINCT dealer_id FROM o2o.dealer_stock_ledger;
SELECT count(*) FROM o2o.stock;
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.stock SET on_hand = 0 WHERE dealer_id = 2;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM o2o_stock_apply_feed();
\echo :LAST_ERROR_SQLSTATE
-- a row it feeds for another dealer is applied with its rights: rejected,
-- whoever applies the feed
INSERT INTO o2o.stock_feed (dealer_id, sku, on_hand, fed_by)
VALUES (2, 'FR-1', 0, (SELECT min(oid) FROM pg_roles WHERE rolsuper)::regrole);
RESET ROLE;
SET ROLE regress_o2o_app;
SELECT dealer_id, sku, outcome, reason FROM o2o_stock_apply_feed();
SELECT pg_temp.place(30, 'FR-1', 30);
SELECT o2o_assign(30) IS NOT NULL AS routed;
RESET ROLE;
SELECT actor, kind, d_on_hand FROM o2o.stock_ledger WHERE actor::text LIKE 'regress%' ORDER BY entry_id;
SELECT pg_temp.ledger_ok();
DROP OWNED BY regress_o2o_store1, regress_o2o_app;
DELETE FROM o2o.dealer_login;
DROP ROLE regress_o2o_store1, regress_o2o_app;

-- TRUNCATE fires no row trigger: the ledger enters each row's balance as taken
-- out first, so it still sums to the table (here too when truncated by CASCADE)
SELECT count(*) > 0 AS rows_before FROM o2o.stock;
SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule RESTART IDENTITY CASCADE;
RESET client_min_messages;
SELECT kind, reason, count(*) > 0 AS entries FROM o2o.stock_ledger WHERE reason = 'table truncated' GROUP BY 1, 2;
SELECT pg_temp.ledger_ok();
TRUNCATE o2o.stock_ledger, o2o.stock_feed RESTART IDENTITY;
