#!/usr/bin/env bash
# Stress run: 16 pgbench clients assign, decline, cancel and complete orders
# and sync stores' stock counts (o2o_stock_sync of 3-5 SKUs of a random
# dealer, counts 0..3 as of up to 2 minutes ago, now and then a full sync)
# at random on a small world whose hot SKUs have little stock and whose
# installers have little capacity, so that counts often land below what is
# reserved and release orders; then the invariants must hold:
#   every stock row: reserved = sum(qty) of its active assignments and held holds, 0 <= reserved <= on_hand;
#   every stock row is the running sum of its ledger entries, and the entries
#   of a (dealer, SKU) without a stock row sum to 0;
#   every installer day: booked = its active assignments and held holds, booked <= capacity;
#   no order with two active assignments; assigned <=> one active assignment;
#   an order placed with a hold still held gets the hold's dealer;
#   o2o.invariant_violations is empty;
#   no deadlock, no failed transaction.
# Checkouts (o2o_promise, o2o_hold of 1-60 s, then an order placed with the
# hold, or the hold released or left to expire) and sweeps of expired holds
# run among the steps; held units and slots count in the invariants above.
# It prints how many syncs ran, their outcomes and how many orders shortfalls released.
# Deliveries progress among them (0.9.0): the next step of an assigned
# order's active assignment -- dispatched, en_route with an ETA, arrived,
# installed or delivered, then o2o_complete; 1 in 10 steps after dispatch
# fails, and a failed delivery is rescheduled to a later day and window.
# Installers and dealers change (1 in 20 steps): an installer's capacity
# cut by one and restored, an installer deactivated and reactivated, a
# dealer closed and reopened; their triggers move the jobs on a removed slot
# or route the order again (o2o._jeopardy).  Afterwards also: no active
# assignment or held hold on an inactive installer or at a closed dealer, no
# window booked beyond its share.  Expected refusals (counted, not failures):
# O2006 (a step that does not fit the order's state any more), O2013 (a
# reschedule finds nobody free), 55P03 (an installer or dealer change gave up
# waiting for an order or hold another client held: nothing changed).
# Anything else fails the run, and so does any deadlock.
# STRESS_SECONDS (default 30) sets the length.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cluster_env
export PGOPTIONS='-c client_min_messages=warning'
DB=o2o_stress
secs=${STRESS_SECONDS:-30}

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d $DB <<SQL
CREATE EXTENSION o2o_route CASCADE;
\i '$ROOT/test/fixtures/worldgen.sql'
SELECT o2o_gen.build(21, n_grids => 40, n_dealers => 400, n_orders => 8000);
-- hot SKUs: the three most popular models are scarce
UPDATE o2o.stock SET on_hand = least(on_hand, 1) WHERE sku IN ('FR-001', 'AC-001', 'WA-001');
-- little capacity, 1-3 jobs a day: the windows' shares (1: morning only;
-- 2: morning and afternoon; 3: one each)
UPDATE o2o.installer SET daily_capacity = 1 + installer_id % 3;
SET o2o_route.promise_horizon_days = 3;
ALTER DATABASE $DB SET o2o_route.promise_horizon_days = 3;

-- one random life-cycle step or stock sync; a step that does not fit the
-- order's state (O2006) is a no-op, anything else -- a deadlock above all -- fails
CREATE SCHEMA stress;
CREATE TABLE stress.sync_log (dealer_id int, full_sync boolean, items int, applied int, unchanged int,
							  stale int, rejected int, released int);

-- a store's count of 3-5 of its SKUs (the hot ones count as its SKUs even
-- without a row), 0..3 units each, as of up to 2 minutes ago
CREATE FUNCTION stress.sync(full_sync boolean) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
	d int := 1 + floor(random() * 400)::int;
	counts jsonb;
BEGIN
	SELECT jsonb_agg(jsonb_build_object('sku', x.sku, 'on_hand', floor(random() * 4)::int)) INTO counts
	  FROM (SELECT u.sku FROM (SELECT s.sku FROM o2o.stock s WHERE s.dealer_id = d
							   UNION SELECT unnest(ARRAY['FR-001', 'AC-001', 'WA-001'])) u
			 ORDER BY random() LIMIT 3 + floor(random() * 3)::int) x;
	INSERT INTO stress.sync_log
	SELECT d, full_sync, count(*), count(*) FILTER (WHERE r.outcome = 'applied'),
		   count(*) FILTER (WHERE r.outcome = 'unchanged'), count(*) FILTER (WHERE r.outcome = 'stale'),
		   count(*) FILTER (WHERE r.outcome = 'rejected'), coalesce(sum(cardinality(r.released_orders)), 0)
	  FROM o2o_stock_sync(d, counts, now() - random() * interval '120 seconds', 'stress',
						  full_sync => full_sync) r;
END
\$\$;

CREATE TABLE stress.hold_log (hold_id bigint, order_id bigint, dealer_id int, taken_by int);
-- the expected refusals, and the installer and dealer changes made
CREATE TABLE stress.refusal (op text, sqlstate text);
CREATE TABLE stress.change_log (change text, rows int);
-- installers and dealers as built, to restore
CREATE TABLE stress.installer0 AS SELECT installer_id, daily_capacity, active FROM o2o.installer;
CREATE TABLE stress.dealer0 AS SELECT dealer_id, active FROM o2o.dealer;

-- the next step of a delivery: the first assigned order from id on (the
-- callers pick ids among the first 800, so that deliveries get far), from
-- its active assignment's progress as read now (another client may step it
-- meanwhile: O2006); none assigned: a dispatch of order id, refused
CREATE FUNCTION stress.progress(id bigint) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
	a record;
	fail boolean := random() < 0.1;
BEGIN
	id := coalesce((SELECT x.order_id FROM o2o.assignment x WHERE x.state = 'active' AND x.order_id >= id
					 ORDER BY x.order_id LIMIT 1), id);
	SELECT x.progress, p.needs_install INTO a
	  FROM o2o.assignment x JOIN o2o.orders o USING (order_id) JOIN o2o.product p ON p.sku = o.sku
	 WHERE x.order_id = id AND x.state = 'active';
	CASE
		WHEN a.progress IS NULL OR a.progress = 'scheduled' THEN
			PERFORM o2o_progress(id, 'dispatched');
		WHEN a.progress IN ('dispatched', 'en_route', 'arrived') AND fail THEN
			PERFORM o2o_progress(id, 'failed', reason => 'stress: nobody home');
		WHEN a.progress = 'dispatched' THEN
			PERFORM o2o_progress(id, 'en_route', now() + random() * interval '2 hours',
								 now() + interval '2 hours' + random() * interval '2 hours');
		WHEN a.progress = 'en_route' THEN
			PERFORM o2o_progress(id, 'arrived');
		WHEN a.progress = 'arrived' THEN
			PERFORM o2o_progress(id, CASE WHEN a.needs_install THEN 'installed' ELSE 'delivered' END);
		WHEN a.progress = 'failed' THEN
			PERFORM o2o_progress(id, 'rescheduled', day => current_date + 1 + floor(random() * 3)::int,
								 time_window => CASE WHEN a.needs_install AND random() < 0.5
													 THEN (ARRAY['morning', 'afternoon', 'evening'])[1 + floor(random() * 3)::int] END);
		ELSE	-- installed or delivered
			PERFORM o2o_complete(id);
	END CASE;
END
\$\$;

-- an installer or dealer change: a capacity cut by one or a restore, an
-- installer deactivated or reactivated, a dealer closed or reopened (each
-- restore picks one of those changed)
CREATE FUNCTION stress.change(id bigint) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
	n_inst int := (SELECT max(installer_id) FROM stress.installer0);
	i int := 1 + floor(random() * n_inst)::int;
	d int := 1 + floor(random() * 400)::int;
	what text;
	n int;
BEGIN
	CASE id % 6
		WHEN 0 THEN
			what := 'capacity cut';
			UPDATE o2o.installer SET daily_capacity = daily_capacity - 1 WHERE installer_id = i AND daily_capacity > 1;
		WHEN 1 THEN
			what := 'capacity restored';
			UPDATE o2o.installer x SET daily_capacity = z.daily_capacity FROM stress.installer0 z
			 WHERE x.installer_id = (SELECT y.installer_id FROM o2o.installer y JOIN stress.installer0 w USING (installer_id)
									  WHERE y.daily_capacity < w.daily_capacity ORDER BY random() LIMIT 1)
			   AND z.installer_id = x.installer_id;
		WHEN 2 THEN
			what := 'installer deactivated';
			UPDATE o2o.installer SET active = false WHERE installer_id = i AND active;
		WHEN 3 THEN
			what := 'installer reactivated';
			UPDATE o2o.installer x SET active = true
			 WHERE x.installer_id = (SELECT y.installer_id FROM o2o.installer y JOIN stress.installer0 w USING (installer_id)
									  WHERE w.active AND NOT y.active ORDER BY random() LIMIT 1);
		WHEN 4 THEN
			what := 'dealer closed';
			UPDATE o2o.dealer SET active = false WHERE dealer_id = d AND active;
		ELSE
			what := 'dealer reopened';
			UPDATE o2o.dealer x SET active = true
			 WHERE x.dealer_id = (SELECT y.dealer_id FROM o2o.dealer y JOIN stress.dealer0 w USING (dealer_id)
								   WHERE w.active AND NOT y.active ORDER BY random() LIMIT 1);
	END CASE;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO stress.change_log VALUES (what, n);
END
\$\$;

-- a checkout: the promise, a hold for 1-60 seconds, and in 2 of 3 cases the
-- order placed with it and routed at once; else the hold is left to expire
-- (or, 1 in 4, released); now and then expired holds are swept
CREATE FUNCTION stress.checkout(id bigint) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
	o o2o.orders;
	h bigint;
	new_id bigint;
	d int;
BEGIN
	SELECT * INTO o FROM o2o.orders WHERE order_id = id;
	PERFORM * FROM o2o_promise(o.sku, o.location, o.qty);
	h := o2o_hold(o.sku, o.location, o.qty, make_interval(secs => 1 + floor(random() * 60)::int));
	IF h IS NULL THEN
		RETURN;
	END IF;
	IF random() < 0.67 THEN
		INSERT INTO o2o.orders (sku, qty, location, hold_id) VALUES (o.sku, o.qty, o.location, h)
		RETURNING order_id INTO new_id;
		d := o2o_assign(new_id);
		INSERT INTO stress.hold_log VALUES (h, new_id, (SELECT dealer_id FROM o2o.hold WHERE hold_id = h), d);
	ELSIF random() < 0.25 THEN
		PERFORM o2o_release_hold(h);
	END IF;
END
\$\$;

CREATE FUNCTION stress.step(id bigint, op int) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
	what text;
BEGIN
	what := CASE WHEN op <= 40 THEN 'assign' WHEN op <= 48 THEN 'decline' WHEN op <= 54 THEN 'cancel'
				 WHEN op <= 60 THEN 'complete' WHEN op <= 76 THEN 'progress' WHEN op <= 84 THEN 'checkout'
				 WHEN op = 85 THEN 'sweep' WHEN op <= 95 THEN 'sync' ELSE 'change' END;
	BEGIN
		CASE what
			WHEN 'assign' THEN PERFORM o2o_assign(id);
			WHEN 'decline' THEN PERFORM o2o_decline(id, 'stress');
			WHEN 'cancel' THEN PERFORM o2o_cancel(id);
			WHEN 'complete' THEN PERFORM o2o_complete(id);
			WHEN 'progress' THEN PERFORM stress.progress(1 + id % 800);
			WHEN 'checkout' THEN PERFORM stress.checkout(id);
			WHEN 'sweep' THEN PERFORM o2o_expire_holds(50);
			WHEN 'sync' THEN PERFORM stress.sync(op = 95 AND id % 5 = 0);
			ELSE PERFORM stress.change(id);
		END CASE;
	EXCEPTION
		WHEN SQLSTATE 'O2006' THEN
			INSERT INTO stress.refusal VALUES (what, SQLSTATE);
		WHEN SQLSTATE 'O2013' OR SQLSTATE '55P03' THEN
			-- a reschedule finding nobody free; a change giving up on a busy order
			IF SQLSTATE = 'O2013' AND what <> 'progress' OR SQLSTATE = '55P03' AND what <> 'change' THEN
				RAISE;
			END IF;
			INSERT INTO stress.refusal VALUES (what, SQLSTATE);
	END;
END
\$\$;
SQL

cat >"$TMP/stress.pgbench" <<'PGB'
\set id random(1, 8000)
\set op random(1, 100)
SELECT stress.step(:id, :op);
PGB

deadlocks_before=$(grep -c "deadlock detected" "$TMP/postgres.log" || true)
echo "pgbench: 16 clients, $secs s, assign 40% / decline 8% / cancel 6% / complete 6% / progress step 16% /"
echo "  checkout (promise, hold, order) 8% / sweep of expired holds 1% / stock sync 10% (1 in 50 full) /"
echo "  installer or dealer change 5%"
"$PGBIN/pgbench" -n -c 16 -j 2 -T "$secs" -f "$TMP/stress.pgbench" $DB >"$TMP/stress.out" 2>&1 || true
grep -E "number of (transactions actually processed|failed transactions)|tps =|aborted" "$TMP/stress.out" || cat "$TMP/stress.out"
deadlocks=$(( $(grep -c "deadlock detected" "$TMP/postgres.log" || true) - deadlocks_before ))

psql -X -q -At -F ' ' -d $DB >"$TMP/stress.check" <<'SQL'
SELECT 'stock_rows_wrong', count(*) FROM o2o.stock s
 WHERE s.reserved <> coalesce((SELECT sum(a.qty) FROM o2o.assignment a JOIN o2o.orders o USING (order_id)
							   WHERE a.dealer_id = s.dealer_id AND o.sku = s.sku AND a.state = 'active'), 0)
					+ coalesce((SELECT sum(h.qty) FROM o2o.hold h
								 WHERE h.dealer_id = s.dealer_id AND h.sku = s.sku AND h.state = 'held'), 0)
	OR s.reserved < 0 OR s.reserved > s.on_hand;
SELECT 'ledger_rows_wrong', count(*) FROM o2o.stock s
  LEFT JOIN (SELECT dealer_id, sku, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved
			   FROM o2o.stock_ledger GROUP BY 1, 2) l USING (dealer_id, sku)
 WHERE s.on_hand <> coalesce(l.on_hand, 0) OR s.reserved <> coalesce(l.reserved, 0);
SELECT 'ledger_without_row_wrong', count(*)
  FROM (SELECT dealer_id, sku, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved
		  FROM o2o.stock_ledger GROUP BY 1, 2) l
 WHERE NOT EXISTS (SELECT 1 FROM o2o.stock s WHERE s.dealer_id = l.dealer_id AND s.sku = l.sku)
   AND (l.on_hand <> 0 OR l.reserved <> 0);
SELECT 'bookings_wrong', count(*) FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id)
 WHERE b.booked > i.daily_capacity
	OR b.booked <> (SELECT count(*) FROM o2o.assignment a
					 WHERE a.installer_id = b.installer_id AND a.install_day = b.day AND a.state = 'active')
				  + (SELECT count(*) FROM o2o.hold h
					 WHERE h.installer_id = b.installer_id AND h.install_day = b.day AND h.state = 'held');
SELECT 'orders_two_active', count(*) FROM (SELECT order_id FROM o2o.assignment WHERE state = 'active'
											GROUP BY 1 HAVING count(*) > 1) x;
SELECT 'status_wrong', count(*) FROM o2o.orders o
 WHERE (o.status = 'assigned') <> EXISTS (SELECT 1 FROM o2o.assignment a
										   WHERE a.order_id = o.order_id AND a.state = 'active');
SELECT 'work_done', count(*) FROM o2o.order_event;
SELECT 'assigned_now', count(*) FROM o2o.orders WHERE status = 'assigned';
SELECT 'completed', count(*) FROM o2o.orders WHERE status = 'completed';
SELECT 'declined', count(*) FROM o2o.assignment WHERE state = 'declined';
SELECT 'syncs', count(*), 'full', count(*) FILTER (WHERE full_sync), 'items', coalesce(sum(items), 0),
	   'applied', coalesce(sum(applied), 0), 'unchanged', coalesce(sum(unchanged), 0),
	   'stale', coalesce(sum(stale), 0), 'rejected', coalesce(sum(rejected), 0) FROM stress.sync_log;
SELECT 'released_by_shortfall', coalesce(sum(released), 0), 'ledger', (SELECT count(*) FROM o2o.stock_ledger
	   WHERE kind = 'release' AND reason LIKE 'stock shortfall at dealer %') FROM stress.sync_log;
SELECT 'ledger_entries', count(*) FROM o2o.stock_ledger;
-- an order placed with a hold that was still held got the hold's dealer
SELECT 'hold_taken_wrong', count(*) FROM stress.hold_log l JOIN o2o.hold h USING (hold_id)
 WHERE h.state = 'taken' AND (h.order_id <> l.order_id OR l.taken_by IS DISTINCT FROM l.dealer_id);
SELECT 'holds', count(*), 'taken', count(*) FILTER (WHERE state = 'taken'), 'expired', count(*) FILTER (WHERE state = 'expired'),
	   'released', count(*) FILTER (WHERE state = 'released'), 'held', count(*) FILTER (WHERE state = 'held') FROM o2o.hold;
-- live slots: no job or hold left on an inactive installer or at a closed
-- dealer, no window booked beyond its share
SELECT 'assignment_on_removed_slot_wrong', count(*) FROM o2o.assignment a
  JOIN o2o.dealer d USING (dealer_id) LEFT JOIN o2o.installer i ON i.installer_id = a.installer_id
 WHERE a.state = 'active' AND (NOT d.active OR NOT i.active);
SELECT 'hold_on_removed_slot_wrong', count(*) FROM o2o.hold h
  JOIN o2o.dealer d USING (dealer_id) LEFT JOIN o2o.installer i ON i.installer_id = h.installer_id
 WHERE h.state = 'held' AND (NOT d.active OR NOT i.active);
SELECT 'window_beyond_share_wrong', count(*) FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id)
 CROSS JOIN LATERAL (VALUES ('morning', b.morning), ('afternoon', b.afternoon), ('evening', b.evening)) w (time_window, n)
 WHERE w.n > o2o._window_capacity(i.daily_capacity, w.time_window)
	OR b.booked <> b.morning + b.afternoon + b.evening;
SELECT 'progress_steps', coalesce(sum(n), 0), string_agg(event || ' ' || n, ' ' ORDER BY k) FROM (
	SELECT event, count(*) AS n, array_position(ARRAY['dispatched', 'en_route', 'arrived', 'installed', 'delivered',
													 'failed', 'rescheduled'], event) AS k
	  FROM o2o.order_event WHERE event IN ('dispatched', 'en_route', 'arrived', 'installed', 'delivered', 'failed', 'rescheduled')
	 GROUP BY event) x;
SELECT 'completed_after_progress', count(*) FROM o2o.assignment WHERE state = 'completed' AND progress IN ('installed', 'delivered');
SELECT 'changes', coalesce(sum(n), 0), string_agg(change || ' ' || n, ', ' ORDER BY change)
  FROM (SELECT change, sum(rows) AS n FROM stress.change_log GROUP BY change) x;
SELECT 'jeopardy', 'moved', count(*) FILTER (WHERE event = 'moved'), 'rerouted', count(*) FILTER (WHERE event = 'jeopardy'),
	   'holds_released', (SELECT count(*) FROM o2o.hold WHERE state = 'released'
						   AND (end_reason LIKE 'installer % deactivated' OR end_reason LIKE 'installer % cut %'
								OR end_reason LIKE 'installer % lost a skill' OR end_reason LIKE 'dealer % closed'))
  FROM o2o.order_event;
SELECT 'rerouted_now', 'assigned', count(*) FILTER (WHERE o.status = 'assigned'), 'pending', count(*) FILTER (WHERE o.status = 'pending'),
	   'unassignable', count(*) FILTER (WHERE o.status = 'unassignable'), 'other', count(*) FILTER (WHERE o.status NOT IN ('assigned', 'pending', 'unassignable'))
  FROM o2o.orders o WHERE EXISTS (SELECT 1 FROM o2o.order_event e WHERE e.order_id = o.order_id AND e.event = 'jeopardy');
SELECT 'refusals', coalesce(sum(n), 0), string_agg(op || ' ' || sqlstate || ' ' || n, ', ' ORDER BY op, sqlstate)
  FROM (SELECT op, sqlstate, count(*) AS n FROM stress.refusal GROUP BY 1, 2) x;
SELECT 'invariant_violations_view', count(*) FROM o2o.invariant_violations;
SQL
cat "$TMP/stress.check"
echo "deadlocks $deadlocks"
failed=$(sed -n 's/.*number of failed transactions: \([0-9]*\).*/\1/p' "$TMP/stress.out")
processed=$(sed -n 's/.*number of transactions actually processed: \([0-9]*\).*/\1/p' "$TMP/stress.out")
bad=$(awk '$1 ~ /wrong|two_active|violations/ && $2 != 0' "$TMP/stress.check")
psql -X -q -d postgres -c "DROP DATABASE $DB"
if [ -n "$bad" ] || [ "$deadlocks" != 0 ] || [ "${failed:-1}" != 0 ] || [ "${processed:-0}" -lt 1000 ] \
	|| grep -q "aborted" "$TMP/stress.out"; then
	echo "stress run FAILED: invariant violations, deadlocks or failed transactions" >&2
	exit 1
fi
echo "stress run: $processed transactions, invariants hold, no deadlock"
