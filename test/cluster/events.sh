#!/usr/bin/env bash
# Events: 16 pgbench clients drive orders through their life cycle (assign,
# the progress steps, failed and rescheduled, complete, cancel, decline),
# one or several steps of one order per transaction, and some transactions
# write events and then roll back.  Meanwhile
#   - a bare listener counts the notifications on channel o2o_events;
#   - examples/o2o_consumer.py reads the events from the first one into an
#     output file, and is killed with SIGKILL five times mid-burst and
#     started again on the same cursor file.
# Exactly-once across a SIGKILL needs no deduplication here: the consumer
# appends a batch to its output and fsyncs it, then renames a new cursor
# file into place holding the snapshot and the output's length; started
# again, it truncates the output to that length (a batch written but not
# yet acknowledged by the cursor is dropped) and reads that batch again.
# After the burst the consumer drains what is left (--once), then:
#   every event in o2o.order_event appears exactly once in the output
#   (0 missing, 0 duplicates, none that is not in the table -- a rolled
#   back one), the seq values of each order arrive strictly increasing,
#   and the listener got one notification per transaction that committed
#   events (count(DISTINCT xid)), none for the rolled back ones.
# EVENTS_SECONDS (default 16) sets the length of the burst.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cluster_env
export PGOPTIONS='-c client_min_messages=warning'
export PGDATABASE=o2o_events
DB=$PGDATABASE
secs=${EVENTS_SECONDS:-16}
# Debian's python3 has psycopg 3 (python3-psycopg, scripts/deps.sh): not
# whatever python3 comes first on PATH
PY=/usr/bin/python3
W=$TMP/events
rm -rf "$W"
mkdir -p "$W"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION o2o_route CASCADE;
\i '$ROOT/test/fixtures/worldgen.sql'
SQL
SQL_WORLD=$(cat <<'SQL'
-- orders of products with and without installation
SELECT o2o_gen.build(21, n_grids => 40, n_dealers => 400, n_orders => 3000);
CREATE SCHEMA ev;
-- events written by transactions that then rolled back (nextval outlives the rollback)
CREATE SEQUENCE ev.rolled_back;

-- up to n steps of an order's life, each the next one its state allows:
-- pending -> assigned -> dispatched -> en_route -> arrived (or failed ->
-- rescheduled -> dispatched ...) -> installed or delivered -> completed,
-- with now and then a cancel or a decline (and the re-route it makes).
-- Another client may move the order first (O2006), or nobody is free on
-- the new day (O2013): the step is then undone and the loop ends.
CREATE FUNCTION ev.advance(id bigint, n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	o o2o.orders;
	progress text;
	install boolean;
	r float8;
	done int := 0;
BEGIN
	FOR i IN 1 .. n LOOP
		SELECT * INTO o FROM o2o.orders x WHERE x.order_id = id;
		EXIT WHEN o.status NOT IN ('pending', 'assigned');
		SELECT p.needs_install INTO install FROM o2o.product p WHERE p.sku = o.sku;
		SELECT a.progress INTO progress FROM o2o.assignment a WHERE a.order_id = id AND a.state = 'active';
		r := random();
		BEGIN
			IF o.status = 'pending' THEN
				PERFORM o2o_assign(id);
			ELSIF r < 0.03 THEN
				PERFORM o2o_cancel(id);
			ELSIF r < 0.08 AND progress = 'scheduled' THEN
				PERFORM o2o_decline(id, 'events test');
			ELSIF progress = 'scheduled' THEN
				PERFORM o2o_progress(id, 'dispatched');
			ELSIF progress = 'dispatched' THEN
				PERFORM o2o_progress(id, 'en_route', now(), now() + interval '1 hour');
			ELSIF progress = 'en_route' AND r < 0.25 THEN
				PERFORM o2o_progress(id, 'failed', reason => 'nobody home');
			ELSIF progress = 'en_route' THEN
				PERFORM o2o_progress(id, 'arrived');
			ELSIF progress = 'arrived' THEN
				PERFORM o2o_progress(id, CASE WHEN install THEN 'installed' ELSE 'delivered' END);
			ELSIF progress = 'failed' THEN
				PERFORM o2o_progress(id, 'rescheduled', day => current_date + 1 + floor(random() * 3)::int);
			ELSE
				PERFORM o2o_complete(id);
			END IF;
		EXCEPTION WHEN SQLSTATE 'O2006' OR SQLSTATE 'O2013' THEN
			EXIT;
		END;
		done := done + 1;
	END LOOP;
	RETURN done;
END
$$;
SQL
)
psql -X -q -v ON_ERROR_STOP=1 -c "$SQL_WORLD" >/dev/null
# the transactions of the burst are those of the events after these
before=$(psql -X -At -c "SELECT coalesce(max(event_id), 0) FROM o2o.order_event")

# three kinds of transactions: one step; two statements of up to 2 steps
# each on the same order; up to 3 steps then ROLLBACK
cat >"$W/one.pgbench" <<'PGB'
\set id random(1, 3000)
SELECT ev.advance(:id, 1);
PGB
cat >"$W/several.pgbench" <<'PGB'
\set id random(1, 3000)
BEGIN;
SELECT ev.advance(:id, 2);
SELECT ev.advance(:id, 2);
COMMIT;
PGB
cat >"$W/rollback.pgbench" <<'PGB'
\set id random(1, 3000)
BEGIN;
SELECT ev.advance(:id, 3);
SELECT count(nextval('ev.rolled_back')) FROM o2o.order_event WHERE xid = pg_current_xact_id_if_assigned();
ROLLBACK;
PGB

# the bare listener: LISTEN, then count notifications until told to stop
# and nothing came for a second
cat >"$W/listener.py" <<'PYL'
import select, signal, sys, psycopg
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
conn = psycopg.connect(autocommit=True)
conn.execute("LISTEN o2o_events")
open(sys.argv[1], "w").close()  # ready
pg, n = conn.pgconn, 0
while True:
	ready, _, _ = select.select([pg.socket], [], [], 1.0)
	pg.consume_input()
	while pg.notifies() is not None:
		n += 1
	if stop and not ready:
		break
print(n)
PYL
"$PY" "$W/listener.py" "$W/listener.ready" >"$W/notifications" &
listener=$!
pids+=("$listener")

# exec: run with &, $! is then the consumer itself, which SIGKILL must hit
# (not a subshell whose child would live on); run it in ( ) in the foreground
consumer() {
	exec "$PY" "$ROOT/examples/o2o_consumer.py" --cursor "$W/cursor" --out "$W/events.jsonl" "$@" 2>>"$W/consumer.log"
}
consumer --from-start &
cons=$!
pids+=("$cons")
for _ in $(seq 100); do [ -e "$W/listener.ready" ] && [ -e "$W/cursor" ] && break; sleep 0.1; done
if [ ! -e "$W/listener.ready" ] || [ ! -e "$W/cursor" ]; then die "the listener or the consumer did not start"; fi

echo "pgbench: 16 clients, $secs s: one step 60% / two statements on one order 25% / steps then ROLLBACK 15%;"
echo "  the consumer killed with SIGKILL 5 times and started again on its cursor"
"$PGBIN/pgbench" -n -c 16 -j 4 -T "$secs" -f "$W/one.pgbench@60" -f "$W/several.pgbench@25" \
	-f "$W/rollback.pgbench@15" >"$W/pgbench.out" 2>&1 &
bench=$!
pids+=("$bench")
# SIGKILL preferably between writing a batch and moving the cursor past it
# (the output is longer than the cursor says), the case the truncation is
# for; after 2 s of waiting for one, anywhere
kill_consumer() {
	local end=$((SECONDS + 2)) size acked
	while [ $SECONDS -lt $end ]; do
		size=$(stat -c %s "$W/events.jsonl" 2>/dev/null || echo 0)
		acked=$(sed -n 's/.*"out_bytes": \([0-9]*\).*/\1/p' "$W/cursor")
		[ "$size" -gt "${acked:-0}" ] && break
	done
	kill -KILL "$cons" 2>/dev/null || die "the consumer died before it was killed"
}
for _ in 1 2 3 4 5; do
	sleep "$(awk -v s="$secs" 'BEGIN { print s / 7 }')"
	kill_consumer
	wait "$cons" 2>/dev/null || true
	consumer &
	cons=$!
	pids+=("$cons")
done
wait "$bench" || true
grep -E "^(number of (transactions actually processed|failed transactions)|tps =)|aborted" "$W/pgbench.out" || cat "$W/pgbench.out"

# a clean stop (SIGTERM), then the rest drained.  The last restart may be
# only just started (the kills can outlast the burst): wait until it has
# its SIGTERM handler (bit 15 of SigCgt), or the signal would kill it.
for _ in $(seq 100); do
	caught=$(awk '/^SigCgt:/ { print $2 }' "/proc/$cons/status" 2>/dev/null || true)
	(( (16#${caught:-0} >> 14) & 1 )) && break
	sleep 0.1
done
kill -TERM "$cons"
wait "$cons" || die "the consumer did not exit cleanly on SIGTERM"
(consumer --once) || die "the consumer failed to drain"
kill -TERM "$listener"
wait "$listener" || die "the listener failed"

rc=0
"$PY" - "$W/events.jsonl" "$(cat "$W/notifications")" "$before" >"$W/summary" <<'PYC' || rc=$?
import collections, json, sys, psycopg
lines = [json.loads(l) for l in open(sys.argv[1])]
notifications = int(sys.argv[2])
conn = psycopg.connect(autocommit=True)
ids = {r[0] for r in conn.execute("SELECT event_id FROM o2o.order_event")}
transactions, = conn.execute("SELECT count(DISTINCT xid) FROM o2o.order_event WHERE event_id > %s",
							 (int(sys.argv[3]),)).fetchone()
rolled_back, = conn.execute("SELECT last_value - 1 + is_called::int FROM ev.rolled_back").fetchone()
seen = collections.Counter(e["event_id"] for e in lines)
# per order: seq strictly increasing; and, the consumer reading from the
# first event, 1, 2, 3 ... without a gap
last = {}
out_of_order = gaps = 0
for e in lines:
	prev = last.get(e["order_id"], 0)
	out_of_order += e["seq"] <= prev
	gaps += e["seq"] > prev + 1
	last[e["order_id"]] = e["seq"]
kinds = collections.Counter(e["event"] for e in lines)
several, = conn.execute("""SELECT count(*) FROM (SELECT 1 FROM o2o.order_event WHERE event_id > %s
						   GROUP BY xid HAVING count(*) > 1) x""", (int(sys.argv[3]),)).fetchone()
missing = len(ids - seen.keys())
duplicates = sum(c - 1 for c in seen.values())
unknown = len(seen.keys() - ids)
print(f"events {len(ids)}, transactions {transactions}, notifications {notifications}, missing {missing}, "
	  f"duplicates {duplicates}, out-of-order {out_of_order}; not in the table {unknown}, "
	  f"seq gaps {gaps}, rolled back {rolled_back}")
print(f"  {several} transactions wrote several events; by event:",
	  ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
ok = (missing == 0 and duplicates == 0 and out_of_order == 0 and unknown == 0 and gaps == 0
	  and notifications == transactions and len(ids) > 1000 and rolled_back > 0)
sys.exit(0 if ok else 1)
PYC
cat "$W/summary"
echo "  consumer restarts that dropped a batch written but not acknowledged by its cursor:" \
	"$(grep -c "dropped" "$W/consumer.log" || true) of 5"
grep -v dropped "$W/consumer.log" | sed 's/^/consumer: /' || true
processed=$(sed -n 's/.*number of transactions actually processed: \([0-9]*\).*/\1/p' "$W/pgbench.out")
psql -X -q -d postgres -c "DROP DATABASE $DB"
if [ $rc != 0 ] || [ "${processed:-0}" -lt 1000 ] || grep -q "aborted" "$W/pgbench.out"; then
	echo "events FAILED: an event lost, repeated or out of order, a notification missing or extra, or a failed transaction" >&2
	exit 1
fi
echo "events: every event once, in order per order, one notification per transaction"
