#!/usr/bin/env bash
# Soak: pgbench clients run the mixed workload of test/cluster/workload.sql
# -- assign, batches of o2o_assign_pending, orders placed, decline, cancel,
# complete, delivery progress
# (every step, 1 in 10 failing and rescheduled), checkouts (promise, hold,
# an order placed with it or the hold released or left to expire), sweeps
# of expired holds, stock syncs (1 in 50 full) and installer and dealer
# changes (capacity cut and restored, deactivated and reactivated, closed
# and reopened, with their jeopardy triggers) -- on a small world whose hot
# SKUs have little stock and whose installers take 1-3 jobs a day, so that
# counts often land below what is reserved and slots run out.  Then every
# invariant of test/cluster/invariants.sql must hold, no deadlock may have
# been logged, and no transaction may have failed: the documented refusals
# a step can meet under concurrency (O2006 a step that no longer fits the
# order, O2013 a reschedule nobody can take, 55P03 a change that gave up
# waiting for an order another client held) are caught, counted and
# reported, not failures.  It reports the throughput of each op.
#
#   bash test/cluster/soak.sh           make test: 32 clients for 60 s, on the running cluster
#   bash test/cluster/soak.sh --setup   make soak: set up (packages, build, install, cluster)
#                                       first, 64 clients for 600 s, stop the cluster after
#   SOAK_CLIENTS, SOAK_SECONDS override the number of clients and the length.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
if [ "${1:-}" = --setup ]; then
	bash "$ROOT/scripts/setup.sh" || die "set-up failed"
	trap 'bash "$ROOT/scripts/cluster.sh" stop >/dev/null' EXIT
	clients=${SOAK_CLIENTS:-64}
	secs=${SOAK_SECONDS:-600}
else
	[ $# = 0 ] || die "usage: $0 [--setup]"
	clients=${SOAK_CLIENTS:-32}
	secs=${SOAK_SECONDS:-60}
fi
cluster_env
export PGOPTIONS='-c client_min_messages=warning'
DB=o2o_soak
threads=$([ "$clients" -ge 2 ] && echo 2 || echo 1)

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d $DB <<SQL
CREATE EXTENSION o2o_route CASCADE;
\i '$ROOT/test/fixtures/worldgen.sql'
SELECT o2o_gen.build(21, n_grids => 40, n_dealers => 400, n_orders => 8000);
\i '$ROOT/test/cluster/workload.sql'
SQL

# one pgbench script per op, weighted as stress.op says: pgbench reports each
# script's transactions, so each op's throughput
scripts=()
while read -r what weight; do
	printf '\\set id random(1, 8000)\nSELECT stress.step(:id, '\''%s'\'');\n' "$what" >"$TMP/soak_$what.pgbench"
	scripts+=(-f "$TMP/soak_$what.pgbench@$weight")
done < <(psql -X -q -At -F ' ' -d $DB -c "SELECT what, weight FROM stress.op ORDER BY what")

deadlocks_before=$(grep -c "deadlock detected" "$TMP/postgres.log" || true)
echo "pgbench: $clients clients, $secs s; ops and weights:"
psql -X -q -At -F ' ' -d $DB -c "SELECT '  ' || what || ' ' || weight || '%: ' || about FROM stress.op ORDER BY weight DESC, what"
"$PGBIN/pgbench" -n -c "$clients" -j "$threads" -T "$secs" "${scripts[@]}" $DB >"$TMP/soak.out" 2>&1 || true
deadlocks=$(( $(grep -c "deadlock detected" "$TMP/postgres.log" || true) - deadlocks_before ))
grep -E "^(number of (transactions actually processed|failed transactions)|tps =)|aborted" "$TMP/soak.out" \
	|| cat "$TMP/soak.out"
# per op: "SQL script N: .../soak_WHAT.pgbench" then " - N transactions (x% of total, tps = T)" and its failures
echo "throughput per op (transactions, per second, failed):"
awk '/^SQL script [0-9]+:/ { split($4, p, "soak_"); sub(/\.pgbench$/, "", p[2]); op = p[2] }
	 / - [0-9]+ transactions \(/ && op != "" { n = $2; tps = $0; sub(/.*tps = /, "", tps); sub(/\).*/, "", tps) }
	 / - number of failed transactions: / && op != "" { f = $6; printf "  %-9s %8d  %8.1f/s  %s failed\n", op, n, tps, f; op = "" }' \
	"$TMP/soak.out"

psql -X -q -At -F ' ' -d $DB -f "$ROOT/test/cluster/invariants.sql" >"$TMP/soak.check"
cat "$TMP/soak.check"
echo "deadlocks $deadlocks"
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$TMP/soak.out")
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$TMP/soak.out")
bad=$(awk '$1 ~ /wrong|two_active|violations/ && $2 != 0' "$TMP/soak.check")
psql -X -q -d postgres -c "DROP DATABASE $DB"
if [ -n "$bad" ] || [ "$deadlocks" != 0 ] || [ "${failed:-1}" != 0 ] || [ "${processed:-0}" -lt 1000 ] \
	|| grep -q "aborted" "$TMP/soak.out"; then
	echo "soak FAILED: invariant violations, deadlocks or failed transactions" >&2
	exit 1
fi
echo "soak: $processed transactions by $clients clients in $secs s, invariants hold, no deadlock, no failed transaction"
