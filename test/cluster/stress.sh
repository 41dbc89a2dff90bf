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
\i $ROOT/test/fixtures/worldgen.sql
SELECT o2o_gen.build(21, n_grids => 40, n_dealers => 400, n_orders => 8000);
-- hot SKUs: the three most popular models are scarce
UPDATE o2o.stock SET on_hand = least(on_hand, 1) WHERE sku IN ('FR-001', 'AC-001', 'WA-001');
UPDATE o2o.installer SET daily_capacity = 1;
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
BEGIN
	CASE
		WHEN op <= 50 THEN PERFORM o2o_assign(id);
		WHEN op <= 62 THEN PERFORM o2o_decline(id, 'stress');
		WHEN op <= 70 THEN PERFORM o2o_cancel(id);
		WHEN op <= 82 THEN PERFORM o2o_complete(id);
		WHEN op <= 90 THEN PERFORM stress.checkout(id);
		WHEN op = 91 THEN PERFORM o2o_expire_holds(50);
		ELSE PERFORM stress.sync(op = 100 AND id % 5 = 0);
	END CASE;
EXCEPTION WHEN SQLSTATE 'O2006' THEN
	NULL;
END
\$\$;
SQL

cat >"$TMP/stress.pgbench" <<'PGB'
\set id random(1, 8000)
\set op random(1, 100)
SELECT stress.step(:id, :op);
PGB

deadlocks_before=$(grep -c "deadlock detected" "$TMP/postgres.log" || true)
echo "pgbench: 16 clients, $secs s, assign 50% / decline 12% / cancel 8% / complete 12% / checkout (promise, hold, order) 8% /"
echo "  sweep of expired holds 1% / stock sync 9% (1 in 45 full)"
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
