-- stands alone: make installcheck REGRESS=tracking
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
--
-- Tracking: time windows on promises and bookings, the progress of a
-- delivery (o2o_progress), the tracking page (o2o_track), the event outbox
-- (o2o_events), jeopardy (a slot that no longer exists) and the BI views.
-- Days are shown as offsets from today.
--
\set SHOW_CONTEXT never
\set VERBOSITY terse

-- one grid; dealer 10 near with two installers, dealer 11 farther with one
INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
 (1, 'G1', 'West', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))');
INSERT INTO o2o.product VALUES
 ('FR-1', 'Fridge', 'fridge', false, NULL),
 ('AC-1', 'Air conditioner', 'ac', true, NULL);
INSERT INTO o2o.national_price (sku, price, valid_from) VALUES ('FR-1', 2999, '2020-01-01'), ('AC-1', 3999, '2020-01-01');
INSERT INTO o2o.commission_rule (category, valid_from, dealer_share, installer_share, origin_share) VALUES
 ('fridge', '2020-01-01', 0.08, 0, 0.02), ('ac', '2020-01-01', 0.06, 0.04, 0.02);
INSERT INTO o2o.dealer (dealer_id, name, kind, location, service_radius_m, contact) VALUES
 (10, 'Near', 'retailer', 'SRID=4326;POINT(109.55 30.5)', 30000, '+86 10 1000'),
 (11, 'Far', 'service_center', 'SRID=4326;POINT(109.7 30.6)', 50000, '+86 10 1100');
INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES
 (10, 'FR-1', 20), (10, 'AC-1', 20), (11, 'FR-1', 20), (11, 'AC-1', 20);
INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity, contact) VALUES
 (100, 10, 'Li', '{ac}', 3, '+86 139 0100'), (101, 10, 'Ma', '{ac}', 3, '+86 139 0101'),
 (110, 11, 'Wang', '{ac}', 2, '+86 139 0110');
INSERT INTO o2o.orders (order_id, sku, qty, location, unit_price)
SELECT i, CASE WHEN i % 5 = 0 THEN 'FR-1' ELSE 'AC-1' END, 1, 'SRID=4326;POINT(109.5 30.5)',
	   CASE WHEN i % 5 = 0 THEN 2999 ELSE 3999 END
  FROM generate_series(1, 10) i;

-- the windows of a day, and how a daily capacity is shared among them
SELECT * FROM o2o_time_windows();
SELECT c AS capacity, o2o._window_capacity(c, 'morning') AS morning, o2o._window_capacity(c, 'afternoon') AS afternoon,
	   o2o._window_capacity(c, 'evening') AS evening
  FROM generate_series(1, 8) c;
SELECT o2o._window_capacity(3, 'night');
\echo :LAST_ERROR_SQLSTATE

-- the promise names the window o2o_assign then books
SELECT deliverable, promised_date - current_date AS day, promised_window, dealer_id
  FROM o2o_promise('AC-1', 'SRID=4326;POINT(109.5 30.5)');
SELECT o2o_assign(1) AS dealer;
SELECT a.installer_id, a.install_day - current_date AS day, a.install_window, o.promised_window,
	   o.first_promised_date - current_date AS first_day, o.first_promised_window
  FROM o2o.assignment a JOIN o2o.orders o USING (order_id) WHERE a.order_id = 1;
SELECT deliverable, promised_date - current_date AS day, promised_window FROM o2o_promise('FR-1', 'SRID=4326;POINT(109.5 30.5)');
-- the rest: the near dealer's two installers fill their windows of day 1
SELECT order_id, o2o_assign(order_id) AS dealer FROM o2o.orders WHERE order_id > 1 ORDER BY order_id;
SELECT a.order_id, a.dealer_id, a.installer_id, a.install_day - current_date AS day, a.install_window
  FROM o2o.assignment a WHERE a.state = 'active' ORDER BY a.order_id;
SELECT installer_id, day - current_date AS day, booked, morning, afternoon, evening
  FROM o2o.installer_day ORDER BY 1, 2;
SELECT line, sku, promised_date - current_date AS day, promised_window
  FROM o2o_promise_skus('SRID=4326;POINT(109.5 30.5)', ARRAY['AC-1', 'FR-1']);

-- a delivery step by step; each returns its number in the order's timeline
SELECT o2o_progress(1, 'dispatched') AS seq;
-- an ETA past the window (morning: until 12:00) is flagged; a new ETA replaces it
SELECT o2o_progress(1, 'en_route', eta_from => (current_date + 1) + time '11:30', eta_to => (current_date + 1) + time '12:30') AS seq;
SELECT order_id, risk FROM o2o.orders_at_risk;
SELECT o2o_progress(1, 'en_route', eta_from => (current_date + 1) + time '10:00', eta_to => (current_date + 1) + time '11:00') AS seq;
SELECT count(*) AS at_risk FROM o2o.orders_at_risk;
SELECT o2o_progress(1, 'arrived') AS seq;
SELECT o2o_progress(1, 'installed') AS seq;
SELECT o2o_complete(1);
SELECT progress, late, attempts, done_at IS NOT NULL AS done, state FROM o2o.assignment WHERE order_id = 1;
SELECT seq, event, status, detail - 'eta_from' - 'eta_to' AS detail FROM o2o.order_event WHERE order_id = 1 ORDER BY seq;

-- the tracking page
SELECT t->>'status' AS status, t->>'progress' AS progress, t->>'promised_window' AS "window",
	   t->'dealer'->>'contact' AS dealer_contact, t->'installer'->>'name' AS installer,
	   t->'installer'->>'contact' AS installer_contact,
	   (SELECT string_agg((s->>'seq') || ':' || (s->>'event'), ' ' ORDER BY (s->>'seq')::int)
		  FROM jsonb_array_elements(t->'steps') s) AS steps,
	   (t->>'window_ends')::timestamptz > (t->>'window_starts')::timestamptz AS window_ok
  FROM o2o_track(1) t;
SELECT o2o_track(999);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_track(NULL) IS NULL AS strict;

-- wrong steps and bad arguments: the documented SQLSTATE and no event
-- (the three steps accepted in between write three)
SELECT count(*) AS events_before FROM o2o.order_event;
SELECT o2o_progress(2, 'installed');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'dispatched');
SELECT o2o_progress(2, 'dispatched');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'en_route');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'en_route', eta_from => now() + interval '2 hours', eta_to => now() + interval '1 hour');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'arrived', reason => 'why');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'teleported');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(5, 'dispatched');
SELECT o2o_progress(5, 'arrived');
SELECT o2o_progress(5, 'installed');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(999, 'dispatched');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(1, 'dispatched');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_decline(2, 'too far');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS events_after FROM o2o.order_event;

-- a failed attempt, then a new day: the slot moves, the promise too
SELECT o2o_progress(2, 'failed');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'failed', reason => 'nobody home') AS seq;
SELECT o2o_complete(2);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'rescheduled');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'rescheduled', day => current_date);
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'rescheduled', day => current_date + 3, time_window => 'day');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'rescheduled', day => current_date + 3, time_window => 'noon');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'rescheduled', day => current_date + 3, time_window => 'evening') AS seq;
SELECT a.installer_id, a.install_day - current_date AS day, a.install_window, a.progress, a.attempts,
	   o.promised_date - current_date AS promised, o.promised_window, o.first_promised_date - current_date AS first
  FROM o2o.assignment a JOIN o2o.orders o USING (order_id) WHERE a.order_id = 2 AND a.state = 'active';
SELECT installer_id, day - current_date AS day, booked, morning, afternoon, evening
  FROM o2o.installer_day WHERE booked > 0 OR day = current_date + 3 ORDER BY 1, 2;
-- the evening of day 3 is full once both installers of dealer 10 have a job there
SELECT o2o_progress(3, 'rescheduled', day => current_date + 3, time_window => 'evening') AS seq;
SELECT o2o_progress(4, 'rescheduled', day => current_date + 3, time_window => 'evening');
\echo :LAST_ERROR_SQLSTATE
SELECT o2o_progress(2, 'dispatched') AS seq;
SELECT order_id, risk FROM o2o.orders_at_risk ORDER BY order_id;

-- a delivery without installation: delivered, not installed; its window is the day
SELECT o2o_progress(5, 'delivered') AS seq;
SELECT o2o_complete(5);
-- cancelled while dispatched: nothing more can be reported
SELECT o2o_progress(6, 'dispatched') AS seq;
SELECT o2o_cancel(6);
SELECT o2o_progress(6, 'en_route', eta_from => now(), eta_to => now());
\echo :LAST_ERROR_SQLSTATE

-- late: an arrival after the window's end is recorded (the promise moved back by hand)
UPDATE o2o.orders SET promised_date = current_date - 1, first_promised_date = current_date - 1 WHERE order_id = 7;
SELECT order_id, risk FROM o2o.orders_at_risk WHERE order_id = 7;
SELECT o2o_progress(7, 'dispatched') AS seq;
SELECT o2o_progress(7, 'arrived') AS seq;
SELECT late, arrived_at IS NOT NULL AS arrived FROM o2o.assignment WHERE order_id = 7 AND state = 'active';
SELECT o2o_progress(7, 'installed') AS seq;
SELECT o2o_complete(7);

-- the event outbox: a consumer's cursor is a snapshot; every event comes once
SELECT count(*) = (SELECT count(*) FROM o2o.order_event) AS all_from_start FROM o2o_events(NULL);
SELECT pg_current_snapshot() AS s1 \gset
SELECT o2o_progress(8, 'dispatched') AS seq;
BEGIN;
SELECT o2o_progress(9, 'dispatched') AS seq;
ROLLBACK;
SELECT pg_current_snapshot() AS s2 \gset
SELECT order_id, seq, event FROM o2o_events(:'s1', :'s2');
SELECT count(*) AS again FROM o2o_events(:'s2', :'s2');
-- an event's transaction is always the writing one, whatever is given
BEGIN;
INSERT INTO o2o.order_event (order_id, event, status, xid) VALUES (8, 'note', 'assigned', '4000000000');
SELECT seq, xid = pg_current_xact_id() AS stamped_now FROM o2o.order_event WHERE event = 'note';
COMMIT;
SELECT pg_current_snapshot() AS s3 \gset
SELECT order_id, seq, event FROM o2o_events(:'s2', :'s3');
-- per-order numbers have no gaps and no repeats
SELECT count(*) AS bad_seq FROM (
	SELECT order_id, seq, row_number() OVER (PARTITION BY order_id ORDER BY event_id) AS n FROM o2o.order_event) x
 WHERE seq <> n;

-- jeopardy: installer 100 cut from 3 to 1 a day: its jobs beyond the new
-- share move to installer 101 on the same day and window, or are re-routed
SELECT a.order_id, a.installer_id, a.install_day - current_date AS day, a.install_window
  FROM o2o.assignment a WHERE a.state = 'active' ORDER BY a.order_id;
UPDATE o2o.installer SET daily_capacity = 1 WHERE installer_id = 100;
SELECT a.order_id, a.dealer_id, a.installer_id, a.install_day - current_date AS day, a.install_window
  FROM o2o.assignment a WHERE a.state = 'active' ORDER BY a.order_id;
SELECT order_id, event, detail->>'reason' AS reason FROM o2o.order_event
 WHERE event IN ('moved', 'jeopardy') ORDER BY event_id;
SELECT count(*) AS violations FROM o2o.invariant_violations;
-- under REPEATABLE READ the bookings that committed while it waited would be missed
BEGIN ISOLATION LEVEL REPEATABLE READ;
UPDATE o2o.installer SET active = false WHERE installer_id = 101;
ROLLBACK;
-- installer 101 deactivated: its jobs go to installer 100 if it has room, else another day or dealer
UPDATE o2o.installer SET active = false WHERE installer_id = 101;
SELECT a.order_id, a.dealer_id, a.installer_id, a.install_day - current_date AS day, a.install_window
  FROM o2o.assignment a WHERE a.state = 'active' ORDER BY a.order_id;
SELECT count(*) AS violations FROM o2o.invariant_violations;
-- dealer 10 closed: a checkout hold there is released, its orders re-routed to dealer 11
SELECT o2o_hold('FR-1', 'SRID=4326;POINT(109.5 30.5)') AS hold_id \gset
SELECT dealer_id FROM o2o.hold WHERE hold_id = :hold_id;
UPDATE o2o.dealer SET active = false WHERE dealer_id = 10;
SELECT state, end_reason FROM o2o.hold WHERE hold_id = :hold_id;
SELECT o.order_id, o.status, a.dealer_id FROM o2o.orders o
  LEFT JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'active' ORDER BY o.order_id;
SELECT count(*) AS at_dealer_10 FROM o2o.assignment WHERE state = 'active' AND dealer_id = 10;
SELECT count(*) AS violations FROM o2o.invariant_violations;
SELECT order_id, risk FROM o2o.orders_at_risk ORDER BY order_id;
-- an installer that moves to another dealer leaves its jobs behind: they move or are re-routed
SELECT count(*) AS jobs_of_110 FROM o2o.assignment WHERE state = 'active' AND installer_id = 110;
UPDATE o2o.installer SET dealer_id = 10 WHERE installer_id = 110;
SELECT o.order_id, o.status, a.dealer_id, a.installer_id, o.status_reason FROM o2o.orders o
  LEFT JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'active'
 WHERE o.status IN ('assigned', 'pending', 'unassignable') ORDER BY o.order_id;
SELECT count(*) AS violations FROM o2o.invariant_violations;

-- BI: promises kept, days to install, late arrivals, failed attempts
SELECT order_id, dealer_id, days_to_install, promise_kept, failed_attempts FROM o2o.delivery_outcomes ORDER BY order_id;
SELECT province, orders, kept, kept_share, within_3_days_share FROM o2o.promises_kept ORDER BY province NULLS LAST;
SELECT days, orders, share, cumulative_share FROM o2o.days_to_install ORDER BY days;
SELECT dealer_id, arrivals, late, late_share FROM o2o.late_arrivals_by_dealer ORDER BY dealer_id;
SELECT grid_id, province, arrivals, late FROM o2o.late_arrivals_by_grid ORDER BY grid_id;
SELECT reason, attempts, orders FROM o2o.failed_attempts ORDER BY reason;

SET client_min_messages = warning;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule, o2o.hold RESTART IDENTITY CASCADE;
