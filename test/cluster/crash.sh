#!/usr/bin/env bash
# Crash test: a cluster of its own, durable as a production server
# (fsync, full_page_writes and synchronous_commit on, the library
# preloaded), is stopped with an immediate shutdown -- every server process
# killed at once, as in a crash -- while clients write, and started again
# (crash recovery).  Twice:
#   1. during a full stock sync: CALL o2o_stock_apply(full_sync => true) of
#      a feed of every store's count, which commits every 5 stores, among 16
#      clients running the mixed workload of test/cluster/workload.sql
#      (assign, place, decline, cancel, complete, progress, checkout with
#      promise and hold, sweeps, stock syncs, installer and dealer changes);
#   2. during a burst of o2o_assign_pending: 8 clients assign batches of 20
#      of 3,000 new pending orders, among 8 clients of the mixed workload.
# After each restart:
#   - every transaction acknowledged to a client (its COMMIT returned) is
#     there: its row of crash.ack, written in the same transaction, and every
#     order event and ledger entry the transaction wrote (counted by the
#     transaction itself before its commit, found again by its xid);
#   - every chunk of the stock sync that another session saw committed is
#     there, every store's feed rows are applied all or none, and the sync
#     stopped midway (the crash hit it); CALLed again, it applies the rest;
#   - every invariant of test/cluster/invariants.sql holds (the ledger's
#     running sum, reservations, bookings and windows, no job or hold on a
#     removed slot, o2o.invariant_violations empty);
#   - every B-tree index of the extension's tables agrees with its table
#     (amcheck's bt_index_check with heapallindexed).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cluster_env
export PGOPTIONS='-c client_min_messages=warning'

DB=o2o_crash
CDATA=$TMP/crash
CLOG=$TMP/crash.log
OUT=$TMP/crash.out
BINDIR=$PGBIN
port=$(free_port $((PGPORT + 200)) "$PGHOST")
PY=/usr/bin/python3
SEED=${CRASH_SEED:-$((RANDOM))}

stop_crash_cluster() {
	if [ -f "$CDATA/PG_VERSION" ]; then
		as_pg "$BINDIR/pg_ctl" -D "$CDATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
}
trap 'stop_crash_cluster; ls "$CDATA"/core* >/dev/null 2>&1 || rm -rf "$CDATA"' EXIT
stop_crash_cluster
rm -rf "$CDATA" "$OUT"
mkdir -p "$OUT"
mkdir -m 0700 "$CDATA"
[ "$(id -u)" = 0 ] && chown "$PGOS_USER" "$CDATA"
as_pg "$BINDIR/initdb" -D "$CDATA" -U "$PGOS_USER" -A trust -E UTF8 --locale=C.UTF-8 >"$OUT/initdb.log" 2>&1 \
	|| { cat "$OUT/initdb.log"; die "initdb failed"; }
cat <<CONF | as_pg tee -a "$CDATA/postgresql.conf" >/dev/null
listen_addresses = ''
port = $port
unix_socket_directories = '$PGHOST'
max_connections = 60
shared_buffers = '256MB'
max_wal_size = '2GB'
fsync = on
full_page_writes = on
synchronous_commit = on
max_locks_per_transaction = 256
shared_preload_libraries = 'o2o_route'
lc_messages = 'C'
jit = off
CONF
: >"$CLOG"
[ "$(id -u)" = 0 ] && chown "$PGOS_USER" "$CLOG"
start_server() {
	as_pg "$BINDIR/pg_ctl" -D "$CDATA" -l "$CLOG" -c -w -t 120 start >/dev/null \
		|| { tail -30 "$CLOG"; die "the crash-test cluster did not start"; }
}
start_server
export PGPORT=$port
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $DB "$@"; }

echo "seed $SEED; a cluster of its own on port $port: fsync, full_page_writes, synchronous_commit on"
psql -X -q -d postgres -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<SQL
CREATE EXTENSION o2o_route CASCADE;
CREATE EXTENSION amcheck;
\i '$ROOT/test/fixtures/worldgen.sql'
SELECT o2o_gen.build(23, n_grids => 40, n_dealers => 400, n_orders => 8000);
\i '$ROOT/test/cluster/workload.sql'

-- what each acknowledged transaction wrote, recorded by itself
CREATE SCHEMA crash;
CREATE TABLE crash.ack (token bigint PRIMARY KEY, what text NOT NULL, txid xid8 NOT NULL, result int,
						events int NOT NULL, ledger bigint[] NOT NULL);
CREATE FUNCTION crash.step(token bigint, id bigint, what text) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
	ledger_from bigint := coalesce((SELECT max(entry_id) FROM o2o.stock_ledger), 0);
	n int;
BEGIN
	IF what = 'assign_pending' THEN
		n := o2o_assign_pending(20);
	ELSE
		PERFORM stress.step(id, what);
	END IF;
	-- the events of this transaction carry its xid; its ledger entries have
	-- larger entry_ids than any visible when it began, and an xmin (a
	-- subtransaction's, as often as not) still in progress: visible and in
	-- progress, it is this transaction's own
	INSERT INTO crash.ack
	SELECT token, what, pg_current_xact_id(), n,
		   (SELECT count(*) FROM o2o.order_event e WHERE e.xid = pg_current_xact_id()),
		   ARRAY(SELECT l.entry_id FROM o2o.stock_ledger l
				  WHERE l.entry_id > ledger_from
					AND pg_xact_status((((pg_current_xact_id()::text::bigint >> 32) << 32)
										+ l.xmin::text::bigint)::text::xid8) = 'in progress');
END
\$\$;
SQL

fail=0

# crash_at CONDITION-SQL: wait until the condition holds (at most 120 s),
# then stop the server with an immediate shutdown
crash_at() {
	local k
	for k in $(seq 1 1200); do
		[ "$(q -c "$1" 2>/dev/null)" = t ] && break
		sleep 0.1
	done
	[ "$k" -lt 1200 ] || { echo "FAILED: the moment to crash never came: $1"; fail=1; }
	as_pg "$BINDIR/pg_ctl" -D "$CDATA" -m immediate -w stop >/dev/null
	echo "server stopped with an immediate shutdown"
}

# after a crash: the clients' acknowledged transactions, the invariants, the indexes
verify() {	# verify PHASE CRASHES-SO-FAR
	local lost wrong bad idx
	cat "$OUT"/acked.* >"$OUT/acked_all" 2>/dev/null || : >"$OUT/acked_all"
	lost=$(q <<SQL
CREATE TEMP TABLE acked (token bigint, what text);
\copy acked FROM '$OUT/acked_all'
SELECT count(*) FILTER (WHERE a.token IS NULL) || ' of ' || count(*) FROM acked k LEFT JOIN crash.ack a USING (token);
SQL
)
	echo "$1: acknowledged transactions lost: $lost"
	check "$1: no acknowledged transaction lost" "0" "${lost%% *}"
	[ "${lost##* }" -gt 100 ] || { echo "FAILED: $1: too few transactions acknowledged before the crash (${lost##* })"; fail=1; }
	wrong=$(q -c "SELECT count(*) FROM crash.ack a
		WHERE a.events <> (SELECT count(*) FROM o2o.order_event e WHERE e.xid = a.txid)
		   OR cardinality(a.ledger) <> (SELECT count(*) FROM o2o.stock_ledger l WHERE l.entry_id = ANY (a.ledger))")
	check "$1: every event and ledger entry of each recorded transaction is there" 0 "$wrong"
	echo "$1: recorded: $(q -c "SELECT count(*) || ' transactions, ' || sum(events) || ' events, ' || sum(cardinality(ledger)) || ' ledger entries' FROM crash.ack")"
	check "$1: the server went through crash recovery" "$2" \
		"$(grep -c "database system was not properly shut down; automatic recovery in progress" "$CLOG" || true)"
	q -F ' ' -f "$ROOT/test/cluster/invariants.sql" >"$OUT/check.$1"
	bad=$(awk '$1 ~ /wrong|two_active|violations/ && $2 != 0' "$OUT/check.$1")
	check "$1: every invariant holds" "" "$bad"
	grep -E "^(work_done|ledger_entries|holds|progress_steps|changes|jeopardy) " "$OUT/check.$1" | sed "s/^/$1: /"
	idx=$(q -c "SELECT count(bt_index_check(c.oid, true)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am am ON am.oid = c.relam JOIN pg_class t ON t.oid = i.indrelid
		WHERE am.amname = 'btree' AND t.relnamespace = 'o2o'::regnamespace")
	echo "ok: $1: amcheck: $idx B-tree indexes of o2o agree with their tables"
}

# ---- 1: a crash during a full stock sync
say "1: crash during a full stock sync (CALL o2o_stock_apply, 5 stores per commit) among 16 clients"
q -c "INSERT INTO o2o.stock_feed (dealer_id, sku, on_hand, counted_at, source)
	  SELECT dealer_id, sku, floor(random() * 4), now(), 'crash: full sync' FROM o2o.stock ORDER BY dealer_id, sku"
feed_rows=$(q -c "SELECT count(*) FROM o2o.stock_feed WHERE outcome IS NULL")
stores=$(q -c "SELECT count(DISTINCT dealer_id) FROM o2o.stock_feed WHERE outcome IS NULL")
echo "feed: $feed_rows counts of $stores stores"
rm -f "$OUT"/acked.* "$OUT/stop"
"$PY" "$ROOT/test/cluster/crash_clients.py" "host=$PGHOST port=$port user=$PGUSER dbname=$DB" "$OUT" 16 0 "$SEED" \
	>"$OUT/clients.1" 2>&1 &
clients=$!
sleep 3
psql -X -q -d $DB -c "CALL o2o_stock_apply(full_sync => true, dealers_per_commit => 5)" >"$OUT/sync.1" 2>&1 &
sync=$!
# crash once 40 stores are applied and committed (and 300 client transactions)
crash_at "SELECT count(DISTINCT dealer_id) >= 40 AND (SELECT count(*) FROM crash.ack) >= 300
		  FROM o2o.stock_feed WHERE outcome IS NOT NULL"
wait $clients || fail=1
cat "$OUT/clients.1"
sync_rc=0; wait $sync || sync_rc=$?
start_server
verify 1 1
applied=$(q -c "SELECT count(DISTINCT dealer_id) FROM o2o.stock_feed WHERE outcome IS NOT NULL")
echo "1: the sync had applied $applied of $stores stores when the server stopped"
check "1: the crash hit the sync midway (the CALL failed, stores were left to apply)" "t" \
	"$([ $sync_rc != 0 ] && [ "$applied" -ge 40 ] && [ "$applied" -lt "$stores" ] && echo t || echo f)"
check "1: every store's counts applied all or none" 0 \
	"$(q -c "SELECT count(*) FROM (SELECT dealer_id FROM o2o.stock_feed GROUP BY 1
			 HAVING count(*) FILTER (WHERE outcome IS NULL) NOT IN (0, count(*))) x")"
q -c "CALL o2o_stock_apply(full_sync => true, dealers_per_commit => 50)" >/dev/null
check "1: CALLed again, the sync applies the rest" 0 "$(q -c "SELECT count(*) FROM o2o.stock_feed WHERE outcome IS NULL")"
check "1: and every invariant holds after it" 0 "$(q -c "SELECT count(*) FROM o2o.invariant_violations")"

# ---- 2: a crash during a burst of o2o_assign_pending
say "2: crash during a burst of o2o_assign_pending (8 clients, batches of 20) among 8 clients of the mixed workload"
q -c "INSERT INTO o2o.orders (sku, qty, location)
	  SELECT sku, qty, location FROM o2o.orders WHERE status IN ('assigned', 'completed') ORDER BY order_id LIMIT 3000"
pending0=$(q -c "SELECT count(*) FROM o2o.orders WHERE status = 'pending'")
echo "pending orders: $pending0"
rm -f "$OUT"/acked.* "$OUT/stop"
batches0=$(q -c "SELECT count(*) FROM crash.ack WHERE what = 'assign_pending'")
"$PY" "$ROOT/test/cluster/crash_clients.py" "host=$PGHOST port=$port user=$PGUSER dbname=$DB" "$OUT" 16 8 "$((SEED + 1))" \
	>"$OUT/clients.2" 2>&1 &
clients=$!
# crash once 30 batches (and 200 client transactions) are committed, with orders still pending
acks0=$(q -c "SELECT count(*) FROM crash.ack")
crash_at "SELECT count(*) FILTER (WHERE what = 'assign_pending') >= $batches0 + 30 AND count(*) >= $acks0 + 200
				 AND (SELECT count(*) FROM o2o.orders WHERE status = 'pending') > 500
		  FROM crash.ack"
wait $clients || fail=1
cat "$OUT/clients.2"
start_server
verify 2 2
echo "2: o2o_assign_pending batches committed before the crash: $(q -c "SELECT count(*) - $batches0 || ', ' || coalesce(sum(result), 0) || ' orders assigned'
	FROM crash.ack WHERE what = 'assign_pending'"); pending now: $(q -c "SELECT count(*) FROM o2o.orders WHERE status = 'pending'")"
check "2: every batch's assignments are there (an event per order it assigned)" 0 \
	"$(q -c "SELECT count(*) FROM crash.ack WHERE what = 'assign_pending' AND events < result")"
# the shared caches after a restart: the first use rebuilds them
check "2: routing works after the restart" t "$(q -c "SELECT o2o_assign_pending(50) >= 0")"
check "2: every invariant holds after more routing" 0 "$(q -c "SELECT count(*) FROM o2o.invariant_violations")"

# the only crashes are the two the test made (the server runs with core
# files allowed: a backtrace of each is printed, and the data directory kept)
if grep -q "PANIC\|terminated by signal" "$CLOG"; then
	echo "FAILED: the server crashed by itself:"; grep -B2 -A2 "PANIC\|terminated by signal" "$CLOG" | head -20; fail=1
	for core in "$CDATA"/core*; do
		[ -f "$core" ] || continue
		echo "---- backtrace of $core"
		command -v gdb >/dev/null && gdb -q -batch -ex "bt full" "$BINDIR/postgres" "$core" 2>&1 | head -150
	done
fi
[ $fail = 0 ] || { echo "crash test FAILED (server log: $CLOG; files: $OUT)" >&2; trap - EXIT; stop_crash_cluster; exit 1; }
echo "crash test: two crashes mid-load, no acknowledged transaction lost, every invariant holds"
