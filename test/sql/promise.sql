-- stands alone: make installcheck REGRESS=promise
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- The delivery promise and the checkout hold: o2o_promise and its bulk
-- forms answer what o2o_assign then does (checked over thousands of orders
-- under each cross-grid policy), read only, under every isolation level;
-- o2o_hold reserves what the promise found, an order placed with the hold
-- takes it, expired holds are released, holds count in the invariants and
-- the ledger.  Concurrency: test/specs/hold_*.spec; the hot standby:
-- test/cluster/standby.sh.
\set SHOW_CONTEXT never
SET extra_float_digits = 0;
-- what earlier tests in this database left
SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule, o2o.stock_ledger, o2o.stock_feed, o2o.hold
	RESTART IDENTITY CASCADE;
RESET client_min_messages;

-- two grids side by side; a fridge (delivered) and a range hood (installed)
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (1, 'G1', 'West', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))'),
 (2, 'G2', 'East', 'P', 'C', 'L', 1, 'north', 'SRID=4326;MULTIPOLYGON(((110 30,111 30,111 31,110 31,110 30)))');
INSERT INTO o2o.product VALUES
 ('FR-1', 'Fridge', 'fridge', false, NULL),
 ('RH-1', 'Range hood', 'range_hood', true, NULL),
 ('AC-S', 'Air conditioner (south)', 'ac', true, '{south}');
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES
 ('FR-1', 2999, '2020-01-01'), ('RH-1', 1599, '2020-01-01'), ('AC-S', 3999, '2020-01-01');
INSERT INTO o2o.dealer (dealer_id, name, kind, location, service_radius_m) VALUES
 (1, 'West store', 'retailer', 'SRID=4326;POINT(109.9 30.5)', 50000),
 (2, 'East store', 'retailer', 'SRID=4326;POINT(110.2 30.5)', 50000);
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity) VALUES
 (10, 1, 'Wang', '{range_hood}', 1), (20, 2, 'Li', '{range_hood}', 1);
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (1, 'FR-1', 1), (2, 'FR-1', 5), (1, 'RH-1', 3);

-- a buyer in the West grid
\set west '\'SRID=4326;POINT(109.8 30.5)\''
\set east '\'SRID=4326;POINT(110.3 30.5)\''

-- 1. the promise: own grid first; the day the order would get
SELECT deliverable, promised_date - current_date AS days, grid_id, same_grid, dealer_id,
	   round(distance_m) AS distance_m, reason
  FROM o2o_promise('FR-1', :west);
-- two units: only the East store has them (fallback to the neighbouring grid, a travel day)
SELECT deliverable, promised_date - current_date AS days, grid_id, same_grid, dealer_id, reason
  FROM o2o_promise('FR-1', :west, 2);
-- installed: the installer's first free day
SELECT deliverable, promised_date - current_date AS days, dealer_id FROM o2o_promise('RH-1', :west);
-- not deliverable: the reason o2o_assign would record
SELECT deliverable, promised_date, dealer_id, reason FROM o2o_promise('FR-1', :west, 9);
SELECT deliverable, reason FROM o2o_promise('AC-S', :west);
SELECT deliverable, grid_id, reason FROM o2o_promise('FR-1', 'SRID=4326;POINT(0 0)');
-- other policies
SET o2o_route.cross_grid = 'never';
SELECT deliverable, reason FROM o2o_promise('FR-1', :west, 2);
SET o2o_route.cross_grid = 'free';
SELECT deliverable, same_grid, dealer_id FROM o2o_promise('FR-1', :west, 2);
RESET o2o_route.cross_grid;

-- 2. bulk: a cart (SKUs with quantities) and a listing (quantities 1) to one address
SELECT line, sku, qty, deliverable, promised_date - current_date AS days, dealer_id, reason
  FROM o2o_promise_skus(:west, '{FR-1,RH-1,FR-1,AC-S}', '{1,1,2,1}');
SELECT line, sku, qty, deliverable, dealer_id FROM o2o_promise_skus(:east, '{FR-1,RH-1}');
-- many addresses, one SKU (a NULL point: a row of NULLs)
SELECT place, deliverable, grid_id, same_grid, dealer_id
  FROM o2o_promise_places('FR-1', ARRAY[:west::geometry, :east::geometry, NULL, 'SRID=4326;POINT(0 0)'::geometry]);
-- each is o2o_promise, line by line
SELECT count(*) AS lines, count(*) FILTER (WHERE (b.deliverable, b.promised_date, b.grid_id, b.dealer_id, b.reason)
		IS NOT DISTINCT FROM (p.deliverable, p.promised_date, p.grid_id, p.dealer_id, p.reason)) AS same
  FROM o2o_promise_skus(:west, '{FR-1,RH-1,FR-1,AC-S}', '{1,1,2,1}') b,
	   LATERAL o2o_promise(b.sku, :west, b.qty) p;

-- 3. read only: in a read-only transaction, under every isolation level,
-- with no transaction id and no lock beyond a SELECT's
BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY;
SELECT deliverable, dealer_id FROM o2o_promise('FR-1', :west);
SELECT count(*) AS lines FROM o2o_promise_skus(:west, '{FR-1,RH-1}');
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_xid,
	   count(*) FILTER (WHERE mode NOT IN ('AccessShareLock', 'SIReadLock') AND locktype NOT IN ('virtualxid')) AS other_locks
  FROM pg_locks WHERE pid = pg_backend_pid();
COMMIT;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT deliverable, dealer_id FROM o2o_promise('FR-1', :west);
COMMIT;
SELECT provolatile, proisstrict, proparallel FROM pg_proc
 WHERE oid IN ('o2o_promise(text,geometry,int)'::regprocedure, 'o2o_promise_skus(geometry,text[],int[])'::regprocedure,
			   'o2o_promise_places(text,geometry[],int)'::regprocedure)
 ORDER BY oid::regprocedure::text;

-- 4. bad input: the documented errors
\set VERBOSITY sqlstate
SELECT * FROM o2o_promise('NOPE', :west);
SELECT * FROM o2o_promise('FR-1', :west, 0);
SELECT * FROM o2o_promise('FR-1', 'SRID=4326;POINT(200 30)');
SELECT * FROM o2o_promise('FR-1', 'SRID=3857;POINT(10 30)');
SELECT * FROM o2o_promise('FR-1', 'SRID=4326;LINESTRING(0 0,1 1)');
SELECT * FROM o2o_promise_skus(:west, '{FR-1,RH-1}', '{1}');
SELECT * FROM o2o_promise_skus(:west, '{FR-1,NULL}');
SELECT * FROM o2o_promise_skus(:west, '{{FR-1},{RH-1}}');
SELECT * FROM o2o_promise_skus(:west, '{FR-1,NOPE}');
SELECT * FROM o2o_hold('FR-1', :west, 1, '0 seconds');
SELECT * FROM o2o_hold('FR-1', :west, 1, '2 days');
-- the end is now() + ttl with calendar months: this is not "a day" in December
SELECT * FROM o2o_hold('FR-1', :west, 1, '1 month -29 days');
BEGIN READ ONLY;
SELECT o2o_hold('FR-1', :west);
ROLLBACK;
SELECT o2o_expire_holds(-1);
\set VERBOSITY default
SELECT * FROM o2o_promise('NOPE', :west);
SELECT * FROM o2o_hold('FR-1', :west, 1, '-1 minute');
SELECT o2o_promise(NULL, :west) IS NULL AS strict;
SELECT count(*) AS no_address_no_lines FROM o2o_promise_skus(NULL, '{FR-1}');
-- nothing was held by the refused calls
SELECT count(*) AS holds FROM o2o.hold;

-- 5. the hold: the last West fridge, held for a checkout
SELECT o2o_hold('FR-1', :west, 1, '10 minutes') AS hold_id;
SELECT hold_id, sku, qty, grid_id, dealer_id, same_grid, promised_date - current_date AS days, state,
	   expires_at - created_at AS ttl
  FROM o2o.hold;
-- held units are reserved, with the hold's id in the ledger
SELECT dealer_id, sku, on_hand, reserved FROM o2o.stock WHERE sku = 'FR-1' ORDER BY dealer_id;
SELECT kind, d_reserved, order_id, hold_id, reason FROM o2o.stock_ledger WHERE hold_id IS NOT NULL ORDER BY entry_id;
-- the next buyer is promised the East store
SELECT deliverable, same_grid, dealer_id FROM o2o_promise('FR-1', :west);
-- a second hold for the same place gets the East store's unit
SELECT o2o_hold('FR-1', :west) AS hold_id;
SELECT hold_id, dealer_id, same_grid FROM o2o.hold ORDER BY hold_id;
SELECT * FROM o2o.invariant_violations;

-- the order placed with hold 1 is routed to it: same dealer, same day
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, hold_id)
VALUES (101, 'FR-1', 1, :west, 2999, 1);
SELECT o2o_assign(101) AS dealer;
SELECT o.status, o.promised_date - current_date AS days, a.dealer_id, a.cross_grid, a.detail->'hold_id' AS from_hold,
	   a.detail->'winner'->'dealer_id' AS winner
  FROM o2o.orders o JOIN o2o.assignment a USING (order_id) WHERE o.order_id = 101;
SELECT hold_id, state, order_id, end_reason FROM o2o.hold WHERE hold_id = 1;
SELECT event, detail FROM o2o.order_event WHERE order_id = 101 ORDER BY event_id;
-- the reservation moved from the hold to the order, entry by entry
SELECT kind, d_reserved, reserved, order_id, hold_id, reason FROM o2o.stock_ledger
 WHERE dealer_id = 1 AND sku = 'FR-1' ORDER BY entry_id;
-- idempotent, like any o2o_assign
SELECT o2o_assign(101) AS dealer;
SELECT * FROM o2o.invariant_violations;

-- an order that does not match its hold is refused, and nothing is written
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, hold_id)
VALUES (102, 'FR-1', 3, :west, 2999, 2), (103, 'FR-1', 1, :east, 2999, 2);
SELECT o2o_assign(102);
SELECT o2o_assign(103);
SELECT order_id, status FROM o2o.orders WHERE order_id IN (102, 103) ORDER BY order_id;
SELECT state FROM o2o.hold WHERE hold_id = 2;
-- in a batch such an order is unassignable, with why, and the batch goes on
SELECT o2o_assign_pending(10) AS assigned;
SELECT order_id, status, status_reason FROM o2o.orders WHERE order_id IN (102, 103) ORDER BY order_id;
SELECT state FROM o2o.hold WHERE hold_id = 2;
SELECT o2o_cancel(102), o2o_cancel(103);
-- a hold id that names no hold (never made, or purged) is ignored: routed as any other
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, hold_id)
VALUES (104, 'FR-1', 1, :east, 2999, 99);
SELECT o2o_assign(104) AS dealer;
SELECT o2o_cancel(104);

-- a second order naming a taken hold is routed as any other
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, hold_id)
VALUES (105, 'FR-1', 1, :west, 2999, 1);
SELECT o2o_assign(105) AS dealer;
SELECT state FROM o2o.hold WHERE hold_id = 1;

-- 6. expiry: hold 2 runs out; o2o_expire_holds gives its unit back
UPDATE o2o.hold SET expires_at = now() - interval '1 second' WHERE hold_id = 2;
SELECT o2o_expire_holds() AS expired;
SELECT hold_id, state, end_reason FROM o2o.hold WHERE hold_id = 2;
SELECT o2o_expire_holds() AS expired_again;
SELECT kind, d_reserved, hold_id, reason FROM o2o.stock_ledger WHERE hold_id = 2 ORDER BY entry_id;
-- an order placed with an expired hold that nobody released yet: the hold
-- is released, and the order routed as any other
SELECT o2o_hold('FR-1', :east) AS hold_id;
UPDATE o2o.hold SET expires_at = now() - interval '1 second' WHERE hold_id = 3;
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price, hold_id)
VALUES (106, 'FR-1', 1, :east, 2999, 3);
SELECT o2o_assign(106) AS dealer;
SELECT hold_id, state, end_reason FROM o2o.hold WHERE hold_id = 3;
SELECT o.status, a.detail ? 'hold_id' AS from_hold FROM o2o.orders o JOIN o2o.assignment a USING (order_id)
 WHERE o.order_id = 106;
-- o2o_assign_pending releases expired holds first
SELECT o2o_hold('RH-1', :west) AS hold_id;
SELECT installer_id, day - current_date AS day, booked FROM o2o.installer_day ORDER BY 1, 2;
UPDATE o2o.hold SET expires_at = now() - interval '1 second' WHERE hold_id = 4;
SELECT o2o_assign_pending(10);
SELECT hold_id, state FROM o2o.hold WHERE hold_id = 4;
SELECT installer_id, day - current_date AS day, booked FROM o2o.installer_day ORDER BY 1, 2;
-- a checkout abandoned: released at once (a point with Z, as the promise takes it)
SELECT o2o_hold('RH-1', 'SRID=4326;POINT Z(109.8 30.5 12)') AS hold_id;
SELECT ST_AsText(location) FROM o2o.hold WHERE hold_id = 5;
SELECT o2o_release_hold(5) AS released, o2o_release_hold(5) AS again;
\set VERBOSITY sqlstate
SELECT o2o_release_hold(999);
\set VERBOSITY default
SELECT * FROM o2o.invariant_violations;

-- 7. a count below what is reserved releases the newest holds first
SELECT o2o_hold('FR-1', :east, 2) AS hold_id;
SELECT dealer_id, on_hand, reserved FROM o2o.stock WHERE dealer_id = 2 AND sku = 'FR-1';
SELECT outcome, released_orders FROM o2o_stock_sync(2, '[{"sku": "FR-1", "on_hand": 2}]') r;
SELECT hold_id, state, end_reason FROM o2o.hold WHERE hold_id = 6;
SELECT dealer_id, on_hand, reserved FROM o2o.stock WHERE dealer_id = 2 AND sku = 'FR-1';
SELECT * FROM o2o.invariant_violations;
-- the ledger still sums to every stock row
SELECT count(*) AS rows_off_ledger FROM o2o.stock s
  LEFT JOIN (SELECT dealer_id, sku, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved
			   FROM o2o.stock_ledger GROUP BY 1, 2) l USING (dealer_id, sku)
 WHERE s.on_hand <> l.on_hand OR s.reserved <> l.reserved;

-- 8. agreement with o2o_assign: on a generated world, for each order in
-- turn, the promise made just before o2o_assign equals what o2o_assign does
-- (dealer, promised date and window, grid, and the reason when nobody can
-- serve), under each cross-grid policy; with installers of 1 to 3 jobs a
-- day, so that dates spread over the horizon and days over their windows,
-- and little stock, so that many go to neighbours or nowhere.
\set ECHO none
\i test/fixtures/worldgen.sql
\set ECHO all
CREATE FUNCTION pg_temp.agree(policy text)
	RETURNS TABLE (pairs int, deliverable int, cross_grid int, later_days int, later_windows int, same_dealer int,
				   same_date int, same_window int, same_grid int, same_reason int)
	LANGUAGE plpgsql AS $$
DECLARE
	o record;
	p record;
	r record;
	d int;
BEGIN
	PERFORM set_config('client_min_messages', 'warning', true);
	PERFORM o2o_gen.build(11, n_grids => 60, n_dealers => 900, n_orders => 3000);
	PERFORM set_config('client_min_messages', 'notice', true);
	UPDATE o2o.installer SET daily_capacity = 1 + installer_id % 3;
	UPDATE o2o.stock SET on_hand = on_hand / 2 + 1 WHERE on_hand > 1;
	PERFORM set_config('o2o_route.cross_grid', policy, true);
	pairs := 0; deliverable := 0; cross_grid := 0; later_days := 0; later_windows := 0;
	same_dealer := 0; same_date := 0; same_window := 0; same_grid := 0; same_reason := 0;
	FOR o IN SELECT order_id, sku, location, qty FROM o2o.orders WHERE status = 'pending' ORDER BY order_id LOOP
		SELECT * INTO p FROM o2o_promise(o.sku, o.location, o.qty);
		d := o2o_assign(o.order_id);
		SELECT status_reason, promised_date, promised_window, grid_id INTO r FROM o2o.orders WHERE order_id = o.order_id;
		pairs := pairs + 1;
		deliverable := deliverable + p.deliverable::int;
		cross_grid := cross_grid + (p.deliverable AND NOT p.same_grid)::int;
		later_days := later_days + coalesce(p.promised_date > current_date + 2, false)::int;
		same_dealer := same_dealer + (p.dealer_id IS NOT DISTINCT FROM d)::int;
		later_windows := later_windows + coalesce(p.promised_window IN ('afternoon', 'evening'), false)::int;
		same_date := same_date + (p.promised_date IS NOT DISTINCT FROM r.promised_date)::int;
		same_window := same_window + (p.promised_window IS NOT DISTINCT FROM r.promised_window)::int;
		same_grid := same_grid + (p.grid_id IS NOT DISTINCT FROM r.grid_id)::int;
		same_reason := same_reason + (p.reason IS NOT DISTINCT FROM r.status_reason)::int;
	END LOOP;
	RETURN NEXT;
END
$$;
SELECT 'fallback' AS policy, * FROM pg_temp.agree('fallback');
SELECT 'free' AS policy, * FROM pg_temp.agree('free');
SELECT 'never' AS policy, * FROM pg_temp.agree('never');

SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule, o2o.stock_ledger, o2o.stock_feed, o2o.hold
	RESTART IDENTITY CASCADE;
