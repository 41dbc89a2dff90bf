-- stands alone: make installcheck REGRESS=privileges
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
--
-- The privilege model: nothing that changes state is executable by PUBLIC;
-- the routing and life-cycle functions run as the extension's owner, so
-- an application routes with EXECUTE on them and no write grant on stock,
-- bookings, assignments or events; BI reads the views; the caches answer
-- only a role that may read their tables.  The grant recipes are the
-- README's (Privileges).
--
\set SHOW_CONTEXT never

-- what PUBLIC may execute: read-only functions and the aggregates
SELECT p.oid::regprocedure AS public_may_execute, p.provolatile AS volatility, p.prokind AS kind
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'o2o_route')
   AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text;
-- what runs as the owner, and with which search_path
SELECT p.oid::regprocedure AS security_definer, p.proconfig
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'o2o_route') AND p.prosecdef
 ORDER BY p.oid::regprocedure::text;
-- every SQL-language function pins its search_path
SELECT count(*) AS sql_functions,
	   count(*) FILTER (WHERE p.proconfig[1] = 'search_path=pg_catalog, pg_temp') AS pinned
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'o2o_route')
   AND p.prokind = 'f' AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c');

-- the owner (the superuser that ran CREATE EXTENSION) keeps the master data
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (1, 'G1', 'Only', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))');
INSERT INTO o2o.product VALUES ('FR-1', 'Fridge', 'fridge', false, NULL), ('AC-1', 'AC', 'ac', true, NULL);
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES ('FR-1', 2999, '2020-01-01'), ('AC-1', 3999, '2020-01-01');
INSERT INTO o2o.commission_rule (category, valid_from, dealer_share, installer_share, origin_share)
VALUES ('fridge', '2020-01-01', 0.05, 0, 0.01), ('ac', '2020-01-01', 0.05, 0.03, 0.01);
INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES
 (1, 'North store', 'retailer', 'SRID=4326;POINT(109.5 30.5)'),
 (2, 'South store', 'retailer', 'SRID=4326;POINT(109.6 30.4)');
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (1, 'FR-1', 5), (2, 'FR-1', 5), (1, 'AC-1', 5);
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity) VALUES (1, 1, 'Wang', '{ac}', 3);
-- the caches are built now, by the owner
SELECT o2o_grid_of(109.5, 30.5) AS owner_grid, o2o_national_price('FR-1') AS owner_price;

CREATE ROLE regress_o2o_app;
CREATE ROLE regress_o2o_bi;

-- recipe: the application places, routes and tracks orders
GRANT USAGE ON SCHEMA o2o TO regress_o2o_app;
GRANT SELECT ON ALL TABLES IN SCHEMA o2o TO regress_o2o_app;
GRANT INSERT ON o2o.orders TO regress_o2o_app;
GRANT USAGE ON SEQUENCE o2o.orders_order_id_seq TO regress_o2o_app;
GRANT EXECUTE ON FUNCTION o2o_assign(bigint), o2o_assign_pending(int), o2o_decline(bigint, text),
	o2o_cancel(bigint), o2o_complete(bigint) TO regress_o2o_app;
GRANT EXECUTE ON FUNCTION o2o_hold(text, geometry, int, interval), o2o_release_hold(bigint),
	o2o_expire_holds(int) TO regress_o2o_app;
GRANT EXECUTE ON FUNCTION o2o_progress(bigint, text, timestamptz, timestamptz, text, date, text, int),
	o2o_track(bigint), o2o_events(pg_snapshot, pg_snapshot) TO regress_o2o_app;
SET ROLE regress_o2o_app;
INSERT INTO o2o.orders (sku, qty, location, address) VALUES
 ('FR-1', 1, 'SRID=4326;POINT(109.55 30.45)', 'a'),
 ('AC-1', 1, 'SRID=4326;POINT(109.5 30.5)', 'b'),
 ('FR-1', 2, 'SRID=4326;POINT(109.5 30.5)', 'c'),
 ('FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', 'd')
RETURNING order_id, grid_id, unit_price;
SELECT o2o_assign(1) AS dealer, o2o_assign(2) AS installs;
SELECT rank, dealer_id, eligible FROM o2o_candidates(3) ORDER BY rank NULLS LAST, dealer_id;
SELECT o2o_decline(1, 'no truck') AS next_dealer;
SELECT o2o_complete(2);
SELECT o2o_cancel(1);
SELECT o2o_assign_pending(10) AS assigned;
SELECT order_id, status FROM o2o.orders ORDER BY order_id;
-- the storefront: a promise, a hold, the order placed with it
SELECT deliverable, dealer_id FROM o2o_promise('FR-1', 'SRID=4326;POINT(109.5 30.5)');
SELECT o2o_hold('FR-1', 'SRID=4326;POINT(109.5 30.5)', 1, '5 minutes') AS hold_id;
INSERT INTO o2o.orders (sku, qty, location, address, hold_id) VALUES
 ('FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', 'e', (SELECT max(hold_id) FROM o2o.hold))
RETURNING order_id;
SELECT o2o_assign(max(order_id)) AS dealer FROM o2o.orders;
SELECT o2o_hold('FR-1', 'SRID=4326;POINT(109.5 30.5)') AS hold_id;
SELECT o2o_release_hold(max(hold_id)) AS released FROM o2o.hold;
SELECT o2o_expire_holds() AS expired;
SELECT hold_id, state FROM o2o.hold ORDER BY hold_id;
UPDATE o2o.hold SET state = 'held';
\echo :LAST_ERROR_SQLSTATE
-- tracking: the delivery app reports progress, the tracking page reads it,
-- a consumer reads the outbox from its last snapshot
SELECT pg_current_snapshot() AS since \gset
INSERT INTO o2o.orders (sku, qty, location, address) VALUES ('AC-1', 1, 'SRID=4326;POINT(109.5 30.5)', 'f')
RETURNING order_id AS tracked \gset
SELECT o2o_assign(:tracked) AS dealer;
SELECT o2o_progress(:tracked, 'dispatched') AS seq;
SELECT o2o_progress(:tracked, 'en_route', now(), now() + interval '1 hour') AS seq;
SELECT o2o_progress(:tracked, 'arrived') AS seq;
SELECT o2o_progress(:tracked, 'failed', reason => 'nobody home') AS seq;
SELECT o2o_progress(:tracked, 'rescheduled', day => current_date + 2, time_window => 'morning') AS seq;
SELECT o2o_progress(:tracked, 'installed');
\echo :LAST_ERROR_SQLSTATE
SELECT t->>'status' AS status, t->>'progress' AS progress, t->>'promised_window' AS promised_window,
	   (t->>'promised_date')::date - current_date AS in_days, t->>'attempts' AS attempts,
	   t->'installer'->>'name' AS installer, jsonb_array_length(t->'steps') AS steps
  FROM o2o_track(:tracked) t;
SELECT order_id = :tracked AS tracked, seq, event, detail->>'progress' AS progress FROM o2o_events(:'since') ORDER BY event_id;
SELECT o2o_progress(:tracked, 'dispatched') AS seq, o2o_progress(:tracked, 'arrived') AS seq2,
	   o2o_progress(:tracked, 'installed') AS seq3;
SELECT o2o_complete(:tracked);
SELECT count(*) AS events_since FROM o2o_events(:'since');
SELECT count(*) = (SELECT count(*) FROM o2o.order_event) AS all_events FROM o2o_events(NULL);
-- progress is reported only through o2o_progress
UPDATE o2o.assignment SET progress = 'installed';
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.installer SET active = false;
\echo :LAST_ERROR_SQLSTATE
-- without write grants it cannot break what routing keeps consistent
UPDATE o2o.stock SET reserved = 0;
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.assignment SET state = 'released';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM o2o.installer_day;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO o2o.order_event (order_id, event, status) VALUES (1, 'forged', 'completed');
\echo :LAST_ERROR_SQLSTATE
UPDATE o2o.orders SET status = 'completed' WHERE order_id = 3;
\echo :LAST_ERROR_SQLSTATE
-- nor reach the internals
SELECT o2o._release(a, 'released', 'x', false) FROM o2o.assignment a LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the invariants hold
SELECT s.dealer_id, s.sku, s.on_hand, s.reserved,
	   s.reserved = coalesce((SELECT sum(a.qty) FROM o2o.assignment a JOIN o2o.orders o USING (order_id)
							   WHERE a.dealer_id = s.dealer_id AND o.sku = s.sku AND a.state = 'active'), 0) AS consistent
  FROM o2o.stock s ORDER BY 1, 2;
SELECT count(*) AS invariant_violations FROM o2o.invariant_violations;

-- recipe: BI reads the views, and nothing else
GRANT USAGE ON SCHEMA o2o TO regress_o2o_bi;
GRANT SELECT ON o2o.grid_coverage, o2o.grid_holes, o2o.dealer_earnings_monthly, o2o.price_history
	TO regress_o2o_bi;
SET ROLE regress_o2o_bi;
SELECT grid_id, dealers, units_available FROM o2o.grid_coverage;
SELECT count(*) AS holes FROM o2o.grid_holes;
SELECT dealer_id, as_fulfiller, as_installer FROM o2o.dealer_earnings_monthly ORDER BY dealer_id;
SELECT sku, price FROM o2o.price_history ORDER BY sku;
RESET ROLE;
-- the views of tracking (0.9.0) need SELECT on them only (o2o_time_windows,
-- which they call, is PUBLIC's); monitoring reads o2o.invariant_violations
GRANT SELECT ON o2o.orders_at_risk, o2o.delivery_outcomes, o2o.promises_kept, o2o.days_to_install,
	o2o.arrivals, o2o.late_arrivals_by_dealer, o2o.late_arrivals_by_grid, o2o.failed_attempts
	TO regress_o2o_bi;
GRANT SELECT ON o2o.invariant_violations TO regress_o2o_bi;
SET ROLE regress_o2o_bi;
SELECT order_id, status, risk FROM o2o.orders_at_risk ORDER BY order_id;
SELECT order_id, dealer_id, installer_id, first_promised_window, days_to_install, promise_kept, failed_attempts
  FROM o2o.delivery_outcomes ORDER BY order_id;
SELECT province, orders, kept, kept_share, within_3_days_share FROM o2o.promises_kept ORDER BY province NULLS LAST;
SELECT days, orders, share, cumulative_share FROM o2o.days_to_install ORDER BY days;
SELECT dealer_id, late FROM o2o.arrivals ORDER BY event_id;
SELECT dealer_id, arrivals, late, late_share FROM o2o.late_arrivals_by_dealer ORDER BY dealer_id;
SELECT grid_id, arrivals, late, late_share FROM o2o.late_arrivals_by_grid ORDER BY grid_id;
SELECT reason, attempts, orders FROM o2o.failed_attempts ORDER BY reason;
SELECT count(*) AS invariant_violations FROM o2o.invariant_violations;
SELECT count(*) FROM o2o.stock;
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_assign(3);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_cancel(3);
\echo :LAST_ERROR_SQLSTATE
-- nor report progress, nor read a tracking page or the outbox
SELECT o2o_progress(3, 'dispatched');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_track(3);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM o2o_events(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM o2o.order_event;
\echo :LAST_ERROR_SQLSTATE
-- the caches, built by the owner, do not answer a role that may not read
-- their tables (before 0.5.0 the grid index and the prices did)
SELECT o2o_grid_of(109.5, 30.5);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_grid_nearest('SRID=4326;POINT(108.99 30.5)', 5000);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_national_price('FR-1');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_stock_rollup('FR-1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- and answer again once the role may
GRANT SELECT ON o2o.grid, o2o.national_price TO regress_o2o_bi;
SET ROLE regress_o2o_bi;
SELECT o2o_grid_of(109.5, 30.5) AS grid, o2o_national_price('FR-1') AS price;
RESET ROLE;
ALTER TABLE o2o.grid ENABLE ROW LEVEL SECURITY;
SET ROLE regress_o2o_bi;
SELECT o2o_grid_of(109.5, 30.5);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
ALTER TABLE o2o.grid DISABLE ROW LEVEL SECURITY;

REVOKE ALL ON ALL TABLES IN SCHEMA o2o FROM regress_o2o_app, regress_o2o_bi;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA o2o FROM regress_o2o_app;
REVOKE ALL ON SCHEMA o2o FROM regress_o2o_app, regress_o2o_bi;
REVOKE EXECUTE ON FUNCTION o2o_assign(bigint), o2o_assign_pending(int), o2o_decline(bigint, text),
	o2o_cancel(bigint), o2o_complete(bigint) FROM regress_o2o_app;
REVOKE EXECUTE ON FUNCTION o2o_hold(text, geometry, int, interval), o2o_release_hold(bigint),
	o2o_expire_holds(int) FROM regress_o2o_app;
REVOKE EXECUTE ON FUNCTION o2o_progress(bigint, text, timestamptz, timestamptz, text, date, text, int),
	o2o_track(bigint), o2o_events(pg_snapshot, pg_snapshot) FROM regress_o2o_app;
DROP ROLE regress_o2o_app;
DROP ROLE regress_o2o_bi;
SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule, o2o.hold RESTART IDENTITY CASCADE;
