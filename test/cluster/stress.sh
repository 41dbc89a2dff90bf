#!/usr/bin/env bash
# Stress run: 16 pgbench clients assign, decline, cancel and complete orders
# at random on a small world whose hot SKUs have little stock and whose
# installers have little capacity; then the invariants must hold:
#   every stock row: reserved = sum(qty) of its active assignments, 0 <= reserved <= on_hand;
#   every installer day: booked = its active assignments, booked <= capacity;
#   no order with two active assignments; assigned <=> one active assignment;
#   no deadlock, no failed transaction.
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

-- one random life-cycle step; a step that does not fit the order's state
-- (O2006) is a no-op, anything else -- a deadlock above all -- fails
CREATE SCHEMA stress;
CREATE FUNCTION stress.step(id bigint, op int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
	CASE
		WHEN op <= 60 THEN PERFORM o2o_assign(id);
		WHEN op <= 75 THEN PERFORM o2o_decline(id, 'stress');
		WHEN op <= 85 THEN PERFORM o2o_cancel(id);
		ELSE PERFORM o2o_complete(id);
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
echo "pgbench: 16 clients, $secs s, assign 60% / decline 15% / cancel 10% / complete 15%"
"$PGBIN/pgbench" -n -c 16 -j 2 -T "$secs" -f "$TMP/stress.pgbench" $DB >"$TMP/stress.out" 2>&1 || true
grep -E "number of (transactions actually processed|failed transactions)|tps =|aborted" "$TMP/stress.out" || cat "$TMP/stress.out"
deadlocks=$(( $(grep -c "deadlock detected" "$TMP/postgres.log" || true) - deadlocks_before ))

psql -X -q -At -F ' ' -d $DB >"$TMP/stress.check" <<'SQL'
SELECT 'stock_rows_wrong', count(*) FROM o2o.stock s
 WHERE s.reserved <> coalesce((SELECT sum(a.qty) FROM o2o.assignment a JOIN o2o.orders o USING (order_id)
							   WHERE a.dealer_id = s.dealer_id AND o.sku = s.sku AND a.state = 'active'), 0)
	OR s.reserved < 0 OR s.reserved > s.on_hand;
SELECT 'bookings_wrong', count(*) FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id)
 WHERE b.booked > i.daily_capacity
	OR b.booked <> (SELECT count(*) FROM o2o.assignment a
					 WHERE a.installer_id = b.installer_id AND a.install_day = b.day AND a.state = 'active');
SELECT 'orders_two_active', count(*) FROM (SELECT order_id FROM o2o.assignment WHERE state = 'active'
											GROUP BY 1 HAVING count(*) > 1) x;
SELECT 'status_wrong', count(*) FROM o2o.orders o
 WHERE (o.status = 'assigned') <> EXISTS (SELECT 1 FROM o2o.assignment a
										   WHERE a.order_id = o.order_id AND a.state = 'active');
SELECT 'work_done', count(*) FROM o2o.order_event;
SELECT 'assigned_now', count(*) FROM o2o.orders WHERE status = 'assigned';
SELECT 'completed', count(*) FROM o2o.orders WHERE status = 'completed';
SELECT 'declined', count(*) FROM o2o.assignment WHERE state = 'declined';
SQL
cat "$TMP/stress.check"
echo "deadlocks $deadlocks"
failed=$(sed -n 's/.*number of failed transactions: \([0-9]*\).*/\1/p' "$TMP/stress.out")
processed=$(sed -n 's/.*number of transactions actually processed: \([0-9]*\).*/\1/p' "$TMP/stress.out")
bad=$(awk '$1 ~ /wrong|two_active/ && $2 != 0' "$TMP/stress.check")
psql -X -q -d postgres -c "DROP DATABASE $DB"
if [ -n "$bad" ] || [ "$deadlocks" != 0 ] || [ "${failed:-1}" != 0 ] || [ "${processed:-0}" -lt 1000 ] \
	|| grep -q "aborted" "$TMP/stress.out"; then
	echo "stress run FAILED: invariant violations, deadlocks or failed transactions" >&2
	exit 1
fi
echo "stress run: $processed transactions, invariants hold, no deadlock"
