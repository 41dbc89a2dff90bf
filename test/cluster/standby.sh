#!/usr/bin/env bash
# A real hot standby of the throwaway cluster (pg_basebackup, streaming
# replication): the read-only functions answer there as on the primary, a
# change committed on the primary is seen by the standby's next statement
# once replayed (the shared caches are rebuilt there on the first use after a
# replayed change to their tables).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cluster_env
export PGOPTIONS='-c client_min_messages=warning'

DB=o2o_standby
SDATA=$TMP/standby
SLOG=$TMP/standby.log
BINDIR=$PGBIN
sport=$(free_port $((PGPORT + 100)) "$PGHOST")

stop_standby() {
	if [ -f "$SDATA/PG_VERSION" ]; then
		as_pg "$BINDIR/pg_ctl" -D "$SDATA" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$SDATA"
}
trap stop_standby EXIT
stop_standby

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<SQL
CREATE EXTENSION o2o_route CASCADE;
\i '$ROOT/test/fixtures/worldgen.sql'
SELECT o2o_gen.build(5, n_grids => 30, n_dealers => 200, n_orders => 500);
SQL


# the standby: a base backup that follows the primary over its socket
mkdir -p "$SDATA"
chmod 0700 "$SDATA"
[ "$(id -u)" = 0 ] && chown "$PGOS_USER" "$SDATA"
as_pg "$BINDIR/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -D "$SDATA" -R -X stream -c fast >/dev/null
touch "$SLOG"
[ "$(id -u)" = 0 ] && chown "$PGOS_USER" "$SLOG"
as_pg "$BINDIR/pg_ctl" -D "$SDATA" -l "$SLOG" -w -t 60 \
	-o "-p $sport -c hot_standby=on -c unix_socket_directories='$PGHOST' -c listen_addresses=''" start >/dev/null

standby() { psql -X -q -At -p "$sport" -d $DB "$@"; }
primary() { psql -X -q -At -d $DB "$@"; }
wait_replay() {
	local lsn
	lsn=$(primary -c "SELECT pg_current_wal_insert_lsn()")
	for k in $(seq 1 100); do
		[ "$(standby -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && return 0
		# an insert position just past a page header is reached only by the
		# next record: write one when the primary is idle
		[ $((k % 20)) != 0 ] || primary -c "SELECT pg_logical_emit_message(false, 'o2o_standby', '')" >/dev/null
		sleep 0.1
	done
	echo "the standby did not replay up to $lsn"; return 1
}
wait_replay

fail=0

check "the standby is in recovery" t "$(standby -c "SELECT pg_is_in_recovery()")"
# the same answers on both servers, for the read-only functions
q="SELECT count(*), sum(coalesce(o2o_grid_of(location), -1)), sum(coalesce(o2o_grid_nearest(location, 20000), -1))
	 FROM o2o.orders"
check "o2o_grid_of and o2o_grid_nearest agree with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
q="SELECT md5(string_agg(c::text, '|' ORDER BY o.order_id, c.dealer_id))
	 FROM (SELECT order_id FROM o2o.orders ORDER BY order_id LIMIT 40) o, LATERAL o2o_candidates(o.order_id, 5) c"
check "o2o_candidates agrees with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
q="SELECT md5(string_agg(p::text, '|' ORDER BY o.order_id))
	 FROM (SELECT * FROM o2o.orders ORDER BY order_id LIMIT 200) o, LATERAL o2o_promise(o.sku, o.location, o.qty) p"
check "o2o_promise agrees with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
q="SELECT md5(string_agg(p::text, '|' ORDER BY o.order_id, p.line))
	 FROM (SELECT * FROM o2o.orders ORDER BY order_id LIMIT 20) o,
		  LATERAL o2o_promise_skus(o.location, ARRAY(SELECT sku FROM o2o.product ORDER BY sku)) p"
check "o2o_promise_skus agrees with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
q="SELECT md5(string_agg(p::text, '|' ORDER BY p.place))
	 FROM o2o_promise_places((SELECT min(sku) FROM o2o.product),
							 ARRAY(SELECT location FROM o2o.orders ORDER BY order_id LIMIT 300)) p"
check "o2o_promise_places agrees with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
q="SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM o2o.product p, LATERAL o2o_stock_rollup(p.sku) r"
check "o2o_stock_rollup agrees with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
q="SELECT md5(string_agg(o2o_national_price(sku, now())::text, '|' ORDER BY sku)) FROM o2o.product"
check "o2o_national_price agrees with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
q="SELECT count(*) FROM o2o.grid_coverage"
check "the coverage view reads" "$(primary -c "$q")" "$(standby -c "$q")"
check "the standby's caches are shared, built there" "dealer cache shared true|grid index shared true" \
	"$(standby -c "SELECT string_agg(cache || ' ' || mode || ' ' || (builds >= 1), '|' ORDER BY cache) FROM o2o_cache_status()")"
# a second standby session maps the same image: nothing is built again
b0=$(standby -c "SELECT builds FROM o2o_cache_status() WHERE cache = 'grid index'")
b1=$(standby -c "SELECT o2o_grid_of(0, 0)" -c "SELECT builds FROM o2o_cache_status() WHERE cache = 'grid index'")
check "a new standby session builds nothing" "$b0" "$(echo "$b1" | tail -1)"
check "writing is refused there (25006)" "25006" \
	"$(standby -v VERBOSITY=verbose -c "SELECT o2o_assign(1)" 2>&1 | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' | head -1)"

check "a life-cycle step is refused there (25006)" "25006" \
	"$(standby -v VERBOSITY=verbose -c "SELECT o2o_cancel(1)" 2>&1 | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' | head -1)"
check "a checkout hold is refused there (25006)" "25006" \
	"$(standby -v VERBOSITY=verbose -c "SELECT o2o_hold(sku, location) FROM o2o.orders WHERE order_id = 1" 2>&1 \
		| sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' | head -1)"

# tracking: progress reported on the primary is tracked on the standby as
# there, and the outbox reads the same events; progress is refused there
torder=$(primary -c "SELECT o2o_assign_pending(50) >= 0" -c "SELECT o.order_id FROM o2o.orders o JOIN o2o.assignment a
	 ON a.order_id = o.order_id AND a.state = 'active' AND a.progress = 'scheduled' WHERE o.status = 'assigned'
	 ORDER BY o.order_id LIMIT 1" | tail -1)
[ -n "$torder" ] || { echo "FAILED: no assigned order to track on the primary"; fail=1; }
since=$(primary -c "SELECT pg_current_snapshot()")
primary -c "SELECT o2o_progress($torder, 'dispatched')" \
	-c "SELECT o2o_progress($torder, 'en_route', now(), now() + interval '1 hour')" >/dev/null
upto=$(primary -c "SELECT pg_current_snapshot()")
wait_replay
q="SELECT md5(o2o_track($torder)::text)"
check "o2o_track agrees with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
check "o2o_track on the standby shows the progress" "en_route|3" \
	"$(standby -c "SELECT t->>'progress', jsonb_array_length(t->'steps') FROM o2o_track($torder) t")"
q="SELECT count(*), md5(coalesce(string_agg(e::text, '|' ORDER BY e.event_id), '')) FROM o2o_events('$since', '$upto') e"
check "o2o_events (since, upto) agrees with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
check "o2o_events reads the 2 steps" "2" "$(standby -c "SELECT count(*) FROM o2o_events('$since', '$upto')")"
q="SELECT count(*), md5(coalesce(string_agg(e::text, '|' ORDER BY e.event_id), '')) FROM o2o_events(NULL) e"
check "o2o_events (NULL, now) agrees with the primary" "$(primary -c "$q")" "$(standby -c "$q")"
q="SELECT count(*) FROM o2o_events('$upto')"
check "o2o_events after the last snapshot is empty on both" "0|0" "$(primary -c "$q")|$(standby -c "$q")"
check "o2o_progress is refused there (25006)" "25006" \
	"$(standby -v VERBOSITY=verbose -c "SELECT o2o_progress($torder, 'arrived')" 2>&1 | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' | head -1)"
check "o2o_time_windows agrees with the primary" "$(primary -c "SELECT md5(string_agg(w::text, '|')) FROM o2o_time_windows() w")" \
	"$(standby -c "SELECT md5(string_agg(w::text, '|')) FROM o2o_time_windows() w")"

# the dealer a promise names is closed on the primary: an open standby
# session's next promise, once replayed, names another (the dealer cache
# is rebuilt from the replayed change), the one the primary names
read -r psku ploc pdealer < <(primary -F ' ' -c "SELECT o.sku, o.location, p.dealer_id
	 FROM o2o.orders o, LATERAL o2o_promise(o.sku, o.location, o.qty) p WHERE p.deliverable ORDER BY o.order_id LIMIT 1")
coproc PROMISE { psql -X -q -At -p "$sport" -d $DB 2>&1; }
echo "SELECT 'before', dealer_id FROM o2o_promise('$psku', '$ploc');" >&"${PROMISE[1]}"
read -r line <&"${PROMISE[0]}"
check "an open standby session is promised dealer $pdealer" "before|$pdealer" "$line"
primary -c "UPDATE o2o.dealer SET active = false WHERE dealer_id = $pdealer" >/dev/null
wait_replay
want=$(primary -c "SELECT 'after|' || coalesce(dealer_id::text, 'none') FROM o2o_promise('$psku', '$ploc')")
echo "SELECT 'after|' || coalesce(dealer_id::text, 'none') FROM o2o_promise('$psku', '$ploc');" >&"${PROMISE[1]}"
read -r line <&"${PROMISE[0]}"
check "its next promise follows the primary's (dealer $pdealer closed)" "$want" "$line"
[ "$want" != "after|$pdealer" ] || { echo "FAILED: the closed dealer is still promised on the primary"; fail=1; }
ppid_=${PROMISE_PID:-}
pfd=${PROMISE[1]:-}
[ -z "$pfd" ] || exec {pfd}>&-
[ -z "$ppid_" ] || wait "$ppid_" 2>/dev/null || true

# a grid added on the primary: a standby session open before the change sees
# it at its next statement once replayed
coproc STANDBY { psql -X -q -At -p "$sport" -d $DB 2>&1; }
echo "SELECT 'before', coalesce(o2o_grid_of(60.5, 10.5), -1);" >&"${STANDBY[1]}"
read -r line <&"${STANDBY[0]}"
check "an open standby session finds no grid at (60.5, 10.5)" "before|-1" "$line"
primary -c "INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom)
	VALUES (9001, 'X', 'Island', 'P', 'C', 'K', 1, 'south', 'SRID=4326;MULTIPOLYGON(((60 10,61 10,61 11,60 11,60 10)))')" >/dev/null
wait_replay
echo "SELECT 'after', coalesce(o2o_grid_of(60.5, 10.5), -1);" >&"${STANDBY[1]}"
read -r line <&"${STANDBY[0]}"
check "the same session's next statement sees the new grid" "after|9001" "$line"
pid=${STANDBY_PID:-}
fd=${STANDBY[1]:-}
[ -z "$fd" ] || exec {fd}>&-
[ -z "$pid" ] || wait "$pid" 2>/dev/null || true

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
exit $fail
