#!/usr/bin/env bash
# bench/inventory.sh (the last part of make bench): the stock feed and the
# stock ledger on the default world (seed 42: 20,000 dealers, ~500,000 stock
# rows), in copies of it (the world itself is not changed):
#   a) a full sync of every stock row: COPY into o2o.stock_feed, then
#      CALL o2o_stock_apply(full_sync => true); against a plain UPDATE of
#      the same rows, with the ledger trigger disabled and enabled;
#   b) o2o_assign at 4 clients with and without a full sync running
#      beside it; then no deadlock, and the invariants (the ledger's
#      running sum is the stock, 0 <= reserved <= on_hand, reserved is the
#      active assignments' qty);
#   c) the ledger's cost on o2o_assign (trigger enabled vs disabled), and
#      o2o_assign against the PL/pgSQL + PostGIS baseline with the ledger.
# Prints figures and ratios measured in one run; the machines are shared and
# noisy, so only the ratios are worth comparing.  About 10 minutes (less once
# the sync meets its target: a)'s capped run ends sooner and its diagnosis
# is skipped).
#
#   BENCH_SECS          pgbench run length in c) (default 20)
#   BENCH_SYNC_SECS     pgbench run length in b), the time a full sync should
#                       take at most while 4 clients assign (default 60)
#   BENCH_SYNC_CAP      a full sync alone in a) is cancelled after this many
#                       seconds, its rate taken from the rows it applied
#                       (default 90)
#   BENCH_SYNC_PLAN     auto (default) or custom: the plan_cache_mode the syncs
#                       of a) and b) run with (custom: force_custom_plan, the
#                       workaround for the generic plans described in a))
#   BENCH_SKIP_SETUP=1  the build, install and cluster are ready (make bench)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"

[ "${BENCH_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
# (make bench: the part before stopped the cluster on its way out)
bash scripts/cluster.sh start >/dev/null
cluster_env
export PGOPTIONS='-c client_min_messages=warning -c max_parallel_workers_per_gather=0 -c jit=off'
DB=o2o_bench					# the default world, as bench/bench.sh makes it
BASE=o2o_bench_inv				# the world with some reservations, the template of every run
RUN=o2o_bench_inv_run			# a fresh copy of $BASE for each run
SECS=${BENCH_SECS:-20}
SYNC_SECS=${BENCH_SYNC_SECS:-60}
SYNC_CAP=${BENCH_SYNC_CAP:-90}
SYNC_PLAN=${BENCH_SYNC_PLAN:-auto}
case $SYNC_PLAN in
	auto) SYNC_OPTS= ;;
	custom) SYNC_OPTS='-c plan_cache_mode=force_custom_plan' ;;
	*) die "BENCH_SYNC_PLAN is auto or custom, not $SYNC_PLAN" ;;
esac
OUT=$TMP/bench_inventory.txt	# "key value..." lines, printed as a table at the end
LOG=$TMP/postgres.log
FEED_COLS="o2o.stock_feed (dealer_id, sku, on_hand, source)"
SYNC_PID=

cleanup() {
	touch "$TMP/inv_stop"
	[ -n "$SYNC_PID" ] && kill "$SYNC_PID" 2>/dev/null
	psql -X -q -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'o2o_inv_sync'" \
		-c "DROP DATABASE IF EXISTS $RUN WITH (FORCE)" -c "DROP DATABASE IF EXISTS $BASE" >/dev/null 2>&1 || true
	bash "$ROOT/scripts/cluster.sh" stop >/dev/null
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
q() { psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 "$@"; }

# the extension's functions as installed: a world made by an older install
# script of the same version (sql/src changed, the version did not) has to
# be made again
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $RUN" -c "DROP DATABASE IF EXISTS $BASE"
# the default world, generated unless $DB already holds it (as bench.sh)
bench_default_world $DB

# ---- the template of every run: the world with its orders twice over (a
# copy of each, placed after the last: 4 clients assign more than 200,000
# orders in 60 s), the baseline, and 3,000 orders (the last ones, which no
# pgbench run reaches) assigned, so that some stock is reserved and a count
# can come in below it
psql -X -q -d postgres -c "CREATE DATABASE $BASE TEMPLATE $DB STRATEGY FILE_COPY"
psql -X -q -v ON_ERROR_STOP=1 -d $BASE <<'SQL' >/dev/null
\i bench/baseline_assign.sql
CREATE SEQUENCE IF NOT EXISTS bench_order_seq;
INSERT INTO o2o.orders (sku, qty, location, address, unit_price, origin_dealer_id, status, created_at, price_from)
SELECT sku, qty, location, address, unit_price, origin_dealer_id, status, created_at, price_from
  FROM o2o.orders ORDER BY order_id;
SELECT count(o2o_assign(order_id)) FROM o2o.orders WHERE order_id > (SELECT max(order_id) - 3000 FROM o2o.orders);
VACUUM ANALYZE o2o.stock, o2o.orders, o2o.assignment, o2o.installer_day;
SQL
psql -X -q -d postgres -c "CHECKPOINT"

# Two feeds of every stock row of the world, as a store's till would send
# them (CSV: dealer_id, sku, on_hand, source); counted_at is the time of the
# COPY.  A: 30% of the counts differ from on_hand (up or down by 1-3,
# never below what is reserved) and 1 in 20 of the reserved rows comes in one
# below its reservations (orders are released); B: on_hand as it was, so
# that a sync after A changes 30% of the rows again.
q -d $BASE -c "COPY (SELECT dealer_id, sku,
		CASE WHEN reserved > 0 AND h % 20 = 0 THEN reserved - 1
			 WHEN h % 100 < 30 THEN
				CASE WHEN (h / 100) % 2 = 0 AND on_hand - reserved >= 1 + (h / 200) % 3 THEN on_hand - 1 - (h / 200) % 3
					 ELSE on_hand + 1 + (h / 200) % 3 END
			 ELSE on_hand END, 'bench'
	  FROM (SELECT s.*, abs(hashtext(dealer_id || '/' || sku)::bigint) AS h FROM o2o.stock s) s
	 ORDER BY dealer_id, sku) TO STDOUT (FORMAT csv)" >"$TMP/inv_feed_a.csv"
q -d $BASE -c "COPY (SELECT dealer_id, sku, on_hand, 'bench' FROM o2o.stock ORDER BY dealer_id, sku)
	TO STDOUT (FORMAT csv)" >"$TMP/inv_feed_b.csv"
read -r rows dealers reserved_rows changed below < <(q -d $BASE \
	-c "CREATE TEMP TABLE a (dealer_id int, sku text, on_hand int, source text)" \
	-c "\\copy a FROM '$TMP/inv_feed_a.csv' (FORMAT csv)" \
	-c "SELECT count(*), count(DISTINCT dealer_id), count(*) FILTER (WHERE s.reserved > 0),
			   count(*) FILTER (WHERE a.on_hand <> s.on_hand), count(*) FILTER (WHERE a.on_hand < s.reserved)
		  FROM o2o.stock s LEFT JOIN a USING (dealer_id, sku)")
echo "world $rows $dealers $reserved_rows $changed $below" >"$OUT"
say "inventory: $rows stock rows ($dealers dealers, $(awk -v r=$rows -v d=$dealers 'BEGIN {printf "%.1f", r / d}') SKUs each)"
if [ "$rows" -lt 400000 ]; then
	echo "note: the world has $rows stock rows, well below the issue's 500,000: the sync figures are for $rows rows"
fi
echo "feed A: $changed of $rows counts differ from on_hand ($(awk -v c=$changed -v r=$rows 'BEGIN {printf "%.1f", 100 * c / r}')%), $below below what is reserved ($reserved_rows rows hold reservations)"

clone() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $RUN" \
		-c "CREATE DATABASE $RUN TEMPLATE $BASE STRATEGY FILE_COPY" -c "CHECKPOINT"
}
copy_feed() {	# copy_feed a|b -> ms
	local t0
	t0=$(now_ms)
	q -d $RUN -c "\\copy $FEED_COLS FROM '$TMP/inv_feed_$1.csv' (FORMAT csv)"
	echo $(($(now_ms) - t0))
}
invariants() {	# invariants LABEL: ledger sum = stock, 0 <= reserved <= on_hand, reserved = active qty
	local r
	r=$(q -d $RUN -c "SELECT
		(SELECT count(*) FROM o2o.stock s
		   FULL JOIN (SELECT dealer_id, sku, sum(d_on_hand) AS on_hand, sum(d_reserved) AS reserved
						FROM o2o.stock_ledger GROUP BY dealer_id, sku) l USING (dealer_id, sku)
		  WHERE coalesce(s.on_hand, 0) <> coalesce(l.on_hand, 0) OR coalesce(s.reserved, 0) <> coalesce(l.reserved, 0)),
		(SELECT count(*) FROM o2o.stock WHERE reserved < 0 OR reserved > on_hand OR on_hand < 0),
		(SELECT count(*) FROM o2o.stock s
		   FULL JOIN (SELECT a.dealer_id, o.sku, sum(a.qty) AS qty FROM o2o.assignment a
						JOIN o2o.orders o USING (order_id) WHERE a.state = 'active' GROUP BY a.dealer_id, o.sku) a
				  USING (dealer_id, sku)
		  WHERE coalesce(s.reserved, 0) <> coalesce(a.qty, 0)),
		(SELECT count(*) FROM o2o.stock), (SELECT count(*) FROM o2o.stock_ledger)")
	echo "invariants $1 $r" >>"$OUT"
	set -- $1 $r
	echo "  invariants after $1: $2 rows differ from the ledger's running sum, $3 outside 0 <= reserved <= on_hand," \
		"$4 whose reserved is not the active assignments' qty ($5 rows, $6 ledger entries)"
}
log_mark() { stat -c %s "$LOG"; }
log_check() {	# log_check LABEL OFFSET: deadlocks and errors in the server log since OFFSET
	local dl errs
	dl=$(tail -c +$(($2 + 1)) "$LOG" | grep -c 'deadlock detected' || true)
	errs=$(tail -c +$(($2 + 1)) "$LOG" | grep 'ERROR:' | grep -vc 'canceling statement due to' || true)
	echo "log $1 $dl $errs" >>"$OUT"
	echo "  server log during $1: $dl deadlock(s), $errs other error(s)"
	tail -c +$(($2 + 1)) "$LOG" | grep 'ERROR:' | grep -v 'canceling statement due to' \
		| sed 's/^.*ERROR: */    /' | sort | uniq -c | sort -rn | head -5 || true
}

# ---------------------------------------------------------------------------
say "a) a full sync of every stock row: COPY into o2o.stock_feed, CALL o2o_stock_apply(full_sync => true), alone (plan_cache_mode $SYNC_PLAN)"
# the procedure as it is, cancelled after $SYNC_CAP s if it has not finished
clone
copy_ms=$(copy_feed a)
mark=$(log_mark)
t0=$(now_ms)
if res=$(PGOPTIONS="$PGOPTIONS $SYNC_OPTS -c statement_timeout=${SYNC_CAP}s" q -d $RUN \
		-c "CALL o2o_stock_apply(full_sync => true)" 2>"$TMP/inv_sync.err"); then
	done_rows=$rows
else
	grep -q 'statement timeout' "$TMP/inv_sync.err" || { cat "$TMP/inv_sync.err"; exit 1; }
	res="- - - - -"
	done_rows=$(q -d $RUN -c "SELECT count(*) FROM o2o.stock_feed WHERE outcome IS NOT NULL")
fi
sync_ms=$(($(now_ms) - t0))
echo "sync default $sync_ms $done_rows $copy_ms $res" >>"$OUT"
echo "  COPY of $rows rows: $copy_ms ms; o2o_stock_apply: $sync_ms ms for $done_rows rows" \
	"(applied unchanged stale rejected released: $res)"
invariants sync
log_check sync "$mark"

# the same with custom plans for every statement: the plans PL/pgSQL caches
# after five chunks estimate 10 rows for each unnest(array), and join
# 2,500 outcomes to 2,500 counts by a nested loop (o2o._stock_apply's UPDATE
# of o2o.stock), chunk after chunk -- a diagnosis, run when the sync missed
# the target
if [ $SYNC_PLAN = auto ] && { [ "$done_rows" -lt "$rows" ] || [ "$sync_ms" -gt $((SYNC_SECS * 1000)) ]; }; then
	clone
	copy_feed a >/dev/null
	t0=$(now_ms)
	res=$(PGOPTIONS="$PGOPTIONS -c plan_cache_mode=force_custom_plan -c statement_timeout=${SYNC_CAP}s" q -d $RUN \
		-c "CALL o2o_stock_apply(full_sync => true)" 2>"$TMP/inv_sync.err") || res="- - - - -"
	sync2_ms=$(($(now_ms) - t0))
	done2=$(q -d $RUN -c "SELECT count(*) FROM o2o.stock_feed WHERE outcome IS NOT NULL")
	echo "sync custom $sync2_ms $done2 0 $res" >>"$OUT"
	echo "  o2o_stock_apply with plan_cache_mode = force_custom_plan: $sync2_ms ms for $done2 rows ($res)"
fi

# the plain UPDATE of the same rows, from the same feed rows; greatest(...,
# reserved), or the counts below reservations break the CHECK; best of 2
for trig in off on; do
	best=
	for i in 1 2; do
		clone
		copy_feed a >/dev/null
		if [ $trig = off ]; then dis="ALTER TABLE o2o.stock DISABLE TRIGGER stock_ledger;"; en="ALTER TABLE o2o.stock ENABLE TRIGGER stock_ledger;"
		else dis=; en=; fi
		t0=$(now_ms)
		q -d $RUN >/dev/null <<SQL
BEGIN;
$dis
UPDATE o2o.stock s SET on_hand = greatest(f.on_hand::int, s.reserved)
  FROM o2o.stock_feed f WHERE f.dealer_id = s.dealer_id AND f.sku = s.sku AND f.outcome IS NULL;
$en
COMMIT;
SQL
		ms=$(($(now_ms) - t0))
		{ [ -z "$best" ] || [ "$ms" -lt "$best" ]; } && best=$ms
	done
	echo "update $trig $best" >>"$OUT"
	echo "  plain UPDATE of the $rows rows, ledger trigger $trig: $best ms (best of 2)"
done

# ---------------------------------------------------------------------------
say "b) o2o_assign, 4 clients, ${SYNC_SECS} s, with and without a full sync (COPY + o2o_stock_apply, looping) beside it"
cat >"$TMP/bench_inv_assign.pgbench" <<'PGB'
SELECT o2o_assign(nextval('bench_order_seq'));
PGB
pgbench_run() {	# pgbench_run NAME CLIENTS SECS -> "tps assigned attempted failed p50_ms p99_ms max_ms"
	local name=$1 clients=$2 secs=$3 tps failed p50 p99 pmax
	rm -f "$TMP"/pgbench_inv_log.*
	(cd "$TMP" && PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" "$PGBIN/pgbench" -n -c "$clients" -j "$clients" \
		-T "$secs" -l --log-prefix=pgbench_inv_log -f "$TMP/bench_inv_assign.pgbench" $RUN \
		>"$TMP/pgbench_inv_$name.out" 2>&1) || true
	read -r p50 p99 pmax < <(cat "$TMP"/pgbench_inv_log.* | awk '{print $3}' | sort -n \
		| awk '{a[NR] = $1} END {printf "%.2f %.2f %.0f\n", a[int(NR * 0.5) + 1] / 1000, a[int(NR * 0.99) + 1] / 1000, a[NR] / 1000}')
	rm -f "$TMP"/pgbench_inv_log.*
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$TMP/pgbench_inv_$name.out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$TMP/pgbench_inv_$name.out")
	failed=$((${failed:-0} + $(grep -c 'aborted' "$TMP/pgbench_inv_$name.out" || true)))
	grep -q 'unknown order' "$TMP/pgbench_inv_$name.out" && echo "warning: pgbench run $name ran out of orders" >&2
	read -r assigned attempted < <(q -d $RUN -c "SELECT count(*) FILTER (WHERE EXISTS
			(SELECT 1 FROM o2o.assignment a WHERE a.order_id = o.order_id)), count(*)
		  FROM o2o.orders o WHERE o.order_id <= (SELECT last_value FROM bench_order_seq)")
	printf '%.0f %s %s %s %s %s %s\n' "${tps:-0}" "$assigned" "$attempted" "$failed" "$p50" "$p99" "$pmax"
}
setseq() { q -d $RUN -c "SELECT setval('bench_order_seq', 1, false)" >/dev/null; }

clone
setseq
read -r tps0 as0 at0 f0 p50 p99 pmax < <(pgbench_run nosync 4 "$SYNC_SECS")
echo "assign4 nosync $tps0 $as0 $at0 $f0 $p50 $p99 $pmax" >>"$OUT"
echo "  without a sync: $tps0 tps, p50 $p50 ms, p99 $p99 ms, max $pmax ms; $as0 of $at0 orders got a dealer; $f0 failed"

clone
setseq
rm -f "$TMP/inv_stop"
: >"$TMP/inv_sync_times.txt"
echo "0 $(now_ms)" >"$TMP/inv_sync_now.txt"
mark=$(log_mark)
sync_loop() {	# COPY a feed and apply it, again and again, until told to stop
	local i=0 f t0 t1 t2 r
	while [ ! -e "$TMP/inv_stop" ]; do
		f=a; [ $((i % 2)) = 1 ] && f=b
		t0=$(now_ms)
		q -d $RUN -c "\\copy $FEED_COLS FROM '$TMP/inv_feed_$f.csv' (FORMAT csv)" 2>>"$TMP/inv_loop.err" || break
		t1=$(now_ms)
		echo "$i $t1" >"$TMP/inv_sync_now.txt"
		r=$(PGAPPNAME=o2o_inv_sync PGOPTIONS="$PGOPTIONS $SYNC_OPTS" q -d $RUN -c "CALL o2o_stock_apply(full_sync => true)" 2>>"$TMP/inv_loop.err") \
			|| r="- - - - -"
		t2=$(now_ms)
		echo "$i $t0 $t1 $t2 $r" >>"$TMP/inv_sync_times.txt"
		i=$((i + 1))
	done
}
: >"$TMP/inv_loop.err"
sync_loop &
SYNC_PID=$!
start=$(now_ms)
read -r tps1 as1 at1 f1 p50 p99 pmax < <(pgbench_run sync 4 "$SYNC_SECS")
end=$(now_ms)
# progress of the sync running when the clients stopped (rows of its feed applied)
inflight=$(q -d $RUN -c "SELECT count(*) FILTER (WHERE outcome IS NOT NULL), count(*) FROM o2o.stock_feed
	WHERE feed_id > (SELECT coalesce(max(feed_id), 0) FROM o2o.stock_feed) - $rows")
touch "$TMP/inv_stop"
q -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'o2o_inv_sync'" >/dev/null
wait "$SYNC_PID" || true
SYNC_PID=
echo "assign4 sync $tps1 $as1 $at1 $f1 $p50 $p99 $pmax" >>"$OUT"
echo "  with a sync beside: $tps1 tps, p50 $p50 ms, p99 $p99 ms, max $pmax ms; $as1 of $at1 orders got a dealer; $f1 failed"
# the syncs that ran wholly while the clients assigned
while read -r i t0 t1 t2 a u s rj rel; do
	if [ "$t2" -le "$end" ] && [ "$a" != - ]; then
		echo "loadsync $i $((t1 - t0)) $((t2 - t1)) $a $u $s $rj $rel" >>"$OUT"
		echo "  sync $i under load: COPY $((t1 - t0)) ms + o2o_stock_apply $((t2 - t1)) ms (applied unchanged stale rejected released: $a $u $s $rj $rel)"
	fi
done <"$TMP/inv_sync_times.txt"
if ! grep -q '^loadsync' "$OUT"; then
	read -r doing feedrows <<<"$inflight"
	read -r _ t1 <"$TMP/inv_sync_now.txt"
	echo "loadsync_partial $((end - t1)) $doing $feedrows" >>"$OUT"
	echo "  no sync finished in $SYNC_SECS s under load: the one running had applied $doing of $feedrows rows in $((end - t1)) ms"
fi
grep '^ERROR:' "$TMP/inv_loop.err" | grep -v 'canceling statement due to user request' | head -5 | sed 's/^/  sync error: /' || true
invariants "sync+assign"
log_check sync+assign "$mark"

# ---------------------------------------------------------------------------
say "c) the ledger's cost on o2o_assign, and o2o_assign vs the PL/pgSQL + PostGIS baseline (with the ledger); pgbench, $SECS s per run, best of 2"
for round in 1 2; do
for clients in 1 4; do
	for who in ledger noledger baseline; do
		clone
		setseq
		[ $who = noledger ] && q -d $RUN -c "ALTER TABLE o2o.stock DISABLE TRIGGER stock_ledger"
		if [ $who = baseline ]; then
			echo "SELECT baseline.assign(nextval('bench_order_seq'));" >"$TMP/bench_inv_assign.pgbench"
		else
			echo "SELECT o2o_assign(nextval('bench_order_seq'));" >"$TMP/bench_inv_assign.pgbench"
		fi
		read -r tps as at f p50 p99 pmax < <(pgbench_run "$who$clients" $clients "$SECS")
		echo "assign $who $clients $tps $as $at $f $p50 $p99" >>"$OUT"
		echo "  $who, $clients client(s): $tps tps, p50 $p50 ms, p99 $p99 ms; $as of $at orders got a dealer; $f failed"
	done
done
done
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $RUN" -c "DROP DATABASE IF EXISTS $BASE"

# ---------------------------------------------------------------------------
echo
awk -v plan="$SYNC_PLAN" '
	$1 == "world" { rows = $2 }
	$1 == "sync" && $2 == "default" { sms = $3; sdone = $4; copy = $5; sres = $6 }
	$1 == "sync" && $2 == "custom" { cms = $3; cdone = $4 }
	$1 == "update" { upd[$2] = $3 }
	$1 == "assign4" { a4[$2] = $3; a4p99[$2] = $8; a4max[$2] = $9 }
	$1 == "loadsync" && !lcopy { lcopy = $3; lapply = $4 }
	$1 == "loadsync_partial" { pms = $2; pdone = $3; prows = $4 }
	$1 == "invariants" { bad += $3 + $4 + $5 }
	$1 == "log" { dl += $3 }
	$1 == "assign" && $4 > tps[$2 "/" $3] { tps[$2 "/" $3] = $4 }
	END {
		rate = sdone / (sms / 1000)
		if (plan != "auto") printf "(the syncs ran with plan_cache_mode = force_custom_plan)\n"
		printf "%-58s %12d\n", "stock rows (full sync = every row)", rows
		printf "%-58s %12.0f rows/s  (%.1f s)\n", "COPY into o2o.stock_feed", rows / (copy / 1000), copy / 1000
		if (sdone == rows)
			printf "%-58s %12.0f rows/s  (%.1f s; target <= 60 s under load)\n", "CALL o2o_stock_apply(full_sync => true), alone", rate, sms / 1000
		else
			printf "%-58s %12.0f rows/s  (cancelled after %.0f s at %d of %d rows: %.0f s at that rate)\n",
				"CALL o2o_stock_apply(full_sync => true), alone", rate, sms / 1000, sdone, rows, rows / rate
		if (cms)
			printf "%-58s %12.0f rows/s  (%.1f s%s)\n", "  the same, plan_cache_mode = force_custom_plan", cdone / (cms / 1000),
				cms / 1000, cdone == rows ? "" : ", cancelled"
		printf "%-58s %12.0f rows/s  (%.1f s)\n", "plain UPDATE, ledger trigger disabled", rows / (upd["off"] / 1000), upd["off"] / 1000
		printf "%-58s %12.0f rows/s  (%.1f s)\n", "plain UPDATE, ledger trigger enabled", rows / (upd["on"] / 1000), upd["on"] / 1000
		printf "%-58s %12.2fx\n", "o2o_stock_apply / plain UPDATE without the trigger", rate / (rows / (upd["off"] / 1000))
		printf "%-58s %12.2fx\n", "o2o_stock_apply / plain UPDATE with the trigger", rate / (rows / (upd["on"] / 1000))
		printf "%-58s %12.0f\n", "o2o_assign, 4 clients, tps, no sync", a4["nosync"]
		printf "%-58s %12.0f\n", "o2o_assign, 4 clients, tps, a full sync beside", a4["sync"]
		printf "%-58s %11.0f%%  (target >= 70%%)\n", "  with / without the sync", 100 * a4["sync"] / a4["nosync"]
		printf "%-58s %12.1f %12.1f\n", "  p99 latency, ms: no sync, a sync beside", a4p99["nosync"], a4p99["sync"]
		printf "%-58s %12.0f %12.0f\n", "  max latency, ms: no sync, a sync beside", a4max["nosync"], a4max["sync"]
		if (lapply)
			printf "%-58s %12.1f s  (COPY %.1f s + apply %.1f s; target <= 60 s)\n", "full sync while 4 clients assign",
				(lcopy + lapply) / 1000, lcopy / 1000, lapply / 1000
		else
			printf "%-58s %12s    (%d of %d rows applied in %.0f s: %.0f s at that rate; target <= 60 s)\n",
				"full sync while 4 clients assign", "unfinished", pdone, prows, pms / 1000,
				pdone ? prows / (pdone / (pms / 1000)) : -1
		printf "%-58s %12s\n", "deadlocks in the log; invariant violations", sprintf("%d; %d", dl, bad)
		printf "%-58s %12.0f %12.0f\n", "o2o_assign tps with the ledger: 1 client, 4 clients", tps["ledger/1"], tps["ledger/4"]
		printf "%-58s %12.0f %12.0f\n", "  ledger trigger disabled", tps["noledger/1"], tps["noledger/4"]
		printf "%-58s %11.0f%% %11.0f%%\n", "  with / without the ledger", 100 * tps["ledger/1"] / tps["noledger/1"],
			100 * tps["ledger/4"] / tps["noledger/4"]
		printf "%-58s %12.0f %12.0f\n", "PL/pgSQL + PostGIS baseline tps: 1 client, 4 clients", tps["baseline/1"], tps["baseline/4"]
		printf "%-58s %11.1fx %11.1fx  (target >= 3x)\n", "  o2o_assign (with the ledger) / baseline",
			tps["ledger/1"] / tps["baseline/1"], tps["ledger/4"] / tps["baseline/4"]
	}' "$OUT"
