#!/usr/bin/env bash
# The fuzz harness (issue 14, item 8): randomized calls of every C entry
# point, checked against PostGIS and plain SQL.  Needs the running
# throwaway cluster (scripts/cluster.sh start); `make fuzz` sets one up.
#
#   bash test/fuzz/fuzz.sh           FUZZ_CALLS (default 1,000,000) calls per entry point
#   bash test/fuzz/fuzz.sh --short   the short run of `make test` (fixed calls per entry point)
#   bash test/fuzz/fuzz.sh --setup   make fuzz: set up (packages, build, install, cluster)
#                                    first, like make bench, and stop the cluster after
#
# Families, each in a database of its own made from one template (a world
# generated from the seed, 40 grids):
#   grid   o2o_grid_of (both forms), o2o_grid_nearest, random grids + lookups
#   agg    o2o_best, o2o_topk, o2o_fairness (forced parallel plans and serial)
#   price  o2o_national_price over random price periods, and those periods
#   life   o2o_candidates, o2o_assign, o2o_assign_pending, o2o_decline,
#          o2o_cancel, o2o_complete under random o2o_route.* settings
#   dml    the C triggers through random INSERTs and UPDATEs
#   promise  o2o_promise, o2o_promise_skus, o2o_promise_places, o2o_hold,
#          o2o_release_hold, o2o_expire_holds, o2o_assign of orders with a hold_id
#   tracking o2o_progress, o2o_track, o2o_events, o2o_time_windows (and
#          o2o._window_capacity), the jeopardy triggers (installers cut,
#          deactivated or stripped of a skill, dealers closed)
#   stock  o2o_stock_sync, o2o_stock_apply_feed, o2o_stock_check_feed,
#          o2o_stock_rollup, o2o_cache_status, o2o_grid_index_stats, the
#          triggers of o2o.stock, stock_ledger and stock_feed, and the
#          procedure o2o_stock_apply (CALLed from psql at the top level, in
#          batches between the statements: it commits, which it cannot do
#          inside the PL/pgSQL of the other calls)
# The calls of a family run in PL/pgSQL (test/fuzz/*.sql), as statements of
# about half of statement_timeout each; psql runs one statement at a time,
# so a crash loses one statement, which is then run again with every call
# announced before it runs, to name the call that crashes.
#
# Environment:
#   FUZZ_SEED       the seed (default: random; --short: 4642933, so that CI
#                   is repeatable); printed, and every run is reproducible from it
#   FUZZ_CALLS      calls per entry point (default 1000000; --short: fixed)
#   FUZZ_FAMILIES   which families (default "grid agg price life dml promise tracking stock")
#   FUZZ_FIRST, FUZZ_LAST   run only calls FUZZ_FIRST..FUZZ_LAST of each family
#                   (to replay one failure; for life, dml, promise, tracking and
#                   stock start at 1; the CALLs of o2o_stock_apply are numbered
#                   apart, and depend on the calls before them)
#   FUZZ_TIMEOUT_MS statement_timeout of each call (default 1000)
#   FUZZ_SLOW_CAP   after this many calls of an entry point cancelled by the
#                   timeout on one kind of input, skip that kind (default 3;
#                   --short: 1)
#   FUZZ_JOBS       families run at once (default 2)
#   FUZZ_SECONDS    stop each family after this many seconds, and report how
#                   far it got and how long its target would take (default: no limit)
#   FUZZ_KEEP=1     keep the databases (they are kept anyway after a failure)
#   FUZZ_TARGETS_<family>  calls per entry point of one family, as an array
#                   in the order of fuzz.entry, e.g. FUZZ_TARGETS_grid='{0,0,5000,0}'
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

short=0
setup=0
for arg in "$@"; do
	case $arg in
		--short) short=1 ;;
		--setup) setup=1 ;;
		*) die "usage: $0 [--short] [--setup]" ;;
	esac
done
if [ $setup = 1 ]; then
	# make fuzz: its own set-up, like make bench; the cluster is stopped at the end
	bash "$ROOT/scripts/setup.sh" || die "set-up failed"
	cluster_env
	trap 'bash "$ROOT/scripts/cluster.sh" stop >/dev/null' EXIT
fi
# make test's short run has a fixed seed, so that CI is repeatable; make fuzz
# draws a new one each run
if [ $short = 1 ]; then
	SEED=${FUZZ_SEED:-4642933}
else
	SEED=${FUZZ_SEED:-$(( (RANDOM << 16 | RANDOM << 1 | RANDOM & 1) % 1000000000 ))}
fi
CALLS=${FUZZ_CALLS:-1000000}
FAMILIES=${FUZZ_FAMILIES:-grid agg price life dml promise tracking stock}
FIRST=${FUZZ_FIRST:-1}
LAST=${FUZZ_LAST:-9223372036854775806}
TIMEOUT_MS=${FUZZ_TIMEOUT_MS:-1000}
JOBS=${FUZZ_JOBS:-2}
SLOW_CAP=${FUZZ_SLOW_CAP:-$([ $short = 1 ] && echo 1 || echo 3)}
SECONDS_CAP=${FUZZ_SECONDS:-0}
TPL=o2o_fuzz_tpl
[ $setup = 1 ] || cluster_env
OUT=$TMP/fuzz
mkdir -p "$OUT"
export PGOPTIONS="-c client_min_messages=warning"
RUNOPTS="$PGOPTIONS -c statement_timeout=$TIMEOUT_MS"		# for the statements of calls
export PGAPPNAME=o2o_fuzz

# calls per entry point, in fuzz.entry order, for each family
targets() {	# targets FAMILY
	local over="FUZZ_TARGETS_$1"
	if [ -n "${!over:-}" ]; then
		echo "${!over}"
	elif [ $short = 0 ]; then
		case $1 in
			grid) echo "{$CALLS,$CALLS,$CALLS,$CALLS}" ;;
			agg) echo "{$CALLS,$CALLS,$CALLS}" ;;
			price) echo "{$CALLS,$CALLS}" ;;
			life) echo "{$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,0}" ;;
			dml) echo "{$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,0}" ;;
			promise) echo "{$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,0}" ;;
			tracking) echo "{$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,0}" ;;
			stock) echo "{$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,$CALLS,0}" ;;
		esac
	else
		# the short run of make test: over 100,000 calls in about 90 s on 2 cores
		case $1 in
			grid) echo "{15000,15000,5000,400}" ;;
			agg) echo "{15000,15000,15000}" ;;
			price) echo "{15000,3000}" ;;
			life) echo "{1500,1500,1500,1500,1500,1500,1500,0}" ;;
			dml) echo "{2000,2000,2000,2000,2000,2000,0}" ;;
			promise) echo "{800,400,400,400,400,400,400,0}" ;;
			tracking) echo "{1200,400,400,400,150,0}" ;;
			stock) echo "{400,200,130,130,130,130,130,60,0}" ;;
		esac
	fi
}

psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

echo "fuzz: FUZZ_SEED=$SEED, families: $FAMILIES, statement_timeout $TIMEOUT_MS ms, $([ $short = 1 ] && echo "short run" || echo "$CALLS calls per entry point")"
t_start=$(date +%s.%N)

# the template: a world generated from the seed, and the harness
wseed=$(( SEED % 100000 + 1 ))
psql_q -d postgres -c "DROP DATABASE IF EXISTS $TPL" -c "CREATE DATABASE $TPL" >/dev/null || die "cannot create $TPL"
psql_q -d $TPL >"$OUT/setup.log" 2>&1 <<SQL || { cat "$OUT/setup.log"; die "fuzz set-up failed"; }
SET statement_timeout = 0;
CREATE EXTENSION o2o_route CASCADE;
\i test/fixtures/worldgen.sql
SELECT o2o_gen.build($wseed, n_grids => 40, n_dealers => 400, n_orders => 3000);
\i test/fuzz/common.sql
\i test/fuzz/grid.sql
\i test/fuzz/agg.sql
\i test/fuzz/price.sql
\i test/fuzz/life.sql
\i test/fuzz/dml.sql
\i test/fuzz/promise.sql
\i test/fuzz/tracking.sql
\i test/fuzz/stock.sql
SELECT fuzz.prepare_world();
SELECT fuzz.prepare_price();
SELECT fuzz.prepare_life();
SELECT fuzz.prepare_promise();
SELECT fuzz.prepare_tracking();
SELECT fuzz.prepare_stock();
INSERT INTO fuzz.conf VALUES ('timeout_ms', '$TIMEOUT_MS'), ('slow_cap', '$SLOW_CAP');
VACUUM ANALYZE;
SQL
echo "world: seed $wseed, $(psql_q -d $TPL -c "SELECT format('%s grids, %s vertices, %s dealers, %s orders', (SELECT count(*) FROM o2o.grid), (SELECT nvtx FROM fuzz.world), (SELECT count(*) FROM o2o.dealer), (SELECT count(*) FROM o2o.orders))")"

# a connection lost in the middle of a statement: the server crashed
crashed() { grep -qE "server closed the connection|connection to server .* lost|terminating connection because of crash|no connection to the server|could not connect"; }

wait_server() {
	for _ in $(seq 1 120); do
		psql -X -q -At -d postgres -c "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}

# a call that crashed the server (or a statement that lost its connection)
record_crash() {	# record_crash DB FAMILY CALL SQL OUTPUT
	psql_q -d "$1" -v sql="$4" -v got="$5" >/dev/null <<SQL
INSERT INTO fuzz.failure (family, seed, call, entry, kind, sql, got)
VALUES ('$2', $SEED, $3, (SELECT name FROM fuzz.entry WHERE family = '$2' AND entry_no = fuzz.slot_of('$2', $3)),
		'the server crashed (connection lost)', :'sql', :'got');
UPDATE fuzz.tally SET calls = calls + 1, failed = failed + 1
 WHERE family = '$2' AND entry_no = fuzz.slot_of('$2', $3);
SQL
}

# the stock family's o2o_stock_apply: k CALLs at the top level of psql, each
# between fuzz.stock_proc_before (feed rows added, what it must do recorded)
# and fuzz.stock_proc_after (judged, counted as entry 8)
proc_batch() {	# proc_batch DB K
	local script=$OUT/stock_proc.sql
	for _ in $(seq 1 "$2"); do
		cat <<'PSQL'
SELECT * FROM fuzz.stock_proc_before(:seed) \gset p_
\echo fuzz procedure call :p_call : :p_sql
\set ON_ERROR_STOP 0
\set LAST_ERROR_SQLSTATE ''
\set LAST_ERROR_MESSAGE ''
\set r_applied ''
\set r_unchanged ''
\set r_stale ''
\set r_rejected ''
\set r_released ''
:p_pre
CALL o2o_stock_apply(:p_full_sync, :p_aon, :p_dpc) \gset r_
:p_post
\set ON_ERROR_STOP 1
SELECT fuzz.stock_proc_after(:seed, :'LAST_ERROR_SQLSTATE', :'LAST_ERROR_MESSAGE', :'r_applied', :'r_unchanged', :'r_stale', :'r_rejected', :'r_released');
PSQL
	done >"$script"
	PGOPTIONS="$RUNOPTS" timeout $(( TIMEOUT_MS / 1000 * 20 + 60 + $2 )) psql -X -q -At -v ON_ERROR_STOP=1 -v seed="$SEED" -d "$1" -f "$script" 2>&1
}

# run one family: statements of calls until every entry point made its calls
run_family() {	# run_family FAMILY
	local fam=$1 db=o2o_fuzz_$1 next=$FIRST tgt log=$OUT/$1.log out rc done t0 j
	tgt=$(targets "$fam")
	: >"$log"
	psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE $TPL" >/dev/null \
		&& psql_q -d $db -c "SELECT fuzz.family_prepare('$fam')" >/dev/null \
		|| { echo "cannot create $db" >>"$log"; return 1; }
	t0=$(date +%s.%N)
	while [ "$next" -le "$LAST" ]; do
		if [ "$SECONDS_CAP" != 0 ] && [ "$(echo "$(date +%s.%N) - $t0 > $SECONDS_CAP" | bc)" = 1 ]; then
			echo "stopped after FUZZ_SECONDS=$SECONDS_CAP s" >>"$log"
			break
		fi
		# the statement of calls under statement_timeout; then, in a statement
		# of its own without it, the checks of the whole world (fuzz.family_end)
		out=$(PGOPTIONS="$RUNOPTS" timeout $(( TIMEOUT_MS / 1000 * 20 + 60 )) psql -X -q -At -v ON_ERROR_STOP=1 -d $db 2>&1 <<SQL
SELECT fuzz.run('$fam', $SEED, $next, $LAST, '$tgt') AS next \gset
SELECT :next < 0 AS oracle_rerun, abs(:next) AS call \gset
\if :oracle_rerun
\echo call :call: its oracle outlived statement_timeout (the call did not): run again alone with $(( TIMEOUT_MS * 10 )) ms
SET statement_timeout = $(( TIMEOUT_MS * 10 ));
SET fuzz.oracle_rerun = on;
SELECT fuzz.run('$fam', $SEED, :call, :call, '$tgt') AS next \gset
RESET fuzz.oracle_rerun;
\endif
SET statement_timeout = 0;
SELECT fuzz.family_end('$fam', $SEED, :next - 1);
SELECT :next, fuzz.done('$fam', '$tgt'), fuzz.calls_outside('$fam', '$tgt');
SQL
)
		rc=$?
		if [ $rc = 0 ]; then
			grep '^call [0-9]*: its oracle' <<<"$out" >>"$log" || true
			read -r next done outside <<<"$(tail -1 <<<"$out" | tr '|' ' ')"
			[ "$done" = t ] && break
			if [ "$outside" -gt 0 ]; then
				run_procs "$db" "$outside" "$log" || break
			fi
			continue
		fi
		if [ $rc = 124 ]; then
			# the statement outlived statement_timeout by minutes
			psql_q -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid()" >/dev/null
			psql_q -d $db -c "INSERT INTO fuzz.failure (family, seed, call, entry, kind, sql)
				VALUES ('$fam', $SEED, $next, '(a call from $next on)', 'hang: the statement did not end minutes after statement_timeout', NULL)" >/dev/null
			echo "hang in calls from $next on" >>"$log"
			break
		fi
		if ! crashed <<<"$out"; then
			echo "harness error at call $next: $out" >>"$log"
			psql_q -d $db -v got="$(head -c 2000 <<<"$out")" >/dev/null <<SQL
INSERT INTO fuzz.failure (family, seed, call, entry, kind, got)
VALUES ('$fam', $SEED, $next, '(harness)', 'the harness failed', :'got');
SQL
			break
		fi
		# the server crashed: run the statement again, each call announced
		# before it runs, to find the call that crashes it
		wait_server || { echo "the server did not come back" >>"$log"; return 1; }
		echo "the statement of calls $next.. lost its connection ($(head -c 200 <<<"$out" | tr '\n' ' ')); running it again, traced" >>"$log"
		out=$(PGOPTIONS="$RUNOPTS -c fuzz.trace=on" timeout $(( TIMEOUT_MS / 1000 * 20 + 60 )) \
			psql -X -q -At -v ON_ERROR_STOP=1 -d $db -c "SELECT fuzz.run('$fam', $SEED, $next, $LAST, '$tgt')" 2>&1)
		rc=$?
		if [ $rc = 0 ]; then
			echo "  not again: a crash that depends on more than the calls" >>"$log"
			record_crash "$db" "$fam" "$next" "(a call from $next on; not reproduced when run again)" "$(head -c 1000 <<<"$out")"
			next=$(tail -1 <<<"$out")
			next=${next#-}	# a call whose oracle ran out of time: run it again next
			continue
		fi
		wait_server || { echo "the server did not come back" >>"$log"; return 1; }
		local j call
		j=$(grep -o 'fuzz call [0-9]* : ' <<<"$out" | tail -1 | grep -o '[0-9]*')
		call=$(grep -o 'fuzz call [0-9]* : .*' <<<"$out" | tail -1 | sed 's/^fuzz call [0-9]* : //')
		j=${j:-$next}
		record_crash "$db" "$fam" "$j" "$call" "$(grep -E 'FATAL|PANIC|server|connection|terminat|signal' <<<"$out" | head -c 1000)"
		echo "  call $j: $call" >>"$log"
		next=$(( j + 1 ))
	done
	echo "wall_s $(echo "$(date +%s.%N) - $t0" | bc)" >>"$log"
}

# the stock family's CALLs of o2o_stock_apply after a statement of the other
# calls: as many as fuzz.calls_outside says
run_procs() {	# run_procs DB K LOG
	local db=$1 k=$2 log=$3 out rc j call
	out=$(proc_batch "$db" "$k")
	rc=$?
	[ $rc = 0 ] && return 0
	j=$(grep -o 'fuzz procedure call [0-9]* : ' <<<"$out" | tail -1 | grep -o '[0-9]*')
	call=$(grep -o 'fuzz procedure call [0-9]* : .*' <<<"$out" | tail -1 | sed 's/^fuzz procedure call [0-9]* : //')
	if crashed <<<"$out"; then
		wait_server || { echo "the server did not come back" >>"$log"; return 1; }
		echo "  CALL $j of o2o_stock_apply lost its connection: $call" >>"$log"
		psql_q -d "$db" -v sql="$call" -v got="$(grep -E 'FATAL|PANIC|server|connection|terminat|signal' <<<"$out" | head -c 1000)" >/dev/null <<SQL
INSERT INTO fuzz.failure (family, seed, call, entry, kind, sql, got)
VALUES ('stock', $SEED, ${j:-0}, 'o2o_stock_apply (CALL)', 'the server crashed (connection lost)', :'sql', :'got');
UPDATE fuzz.tally SET calls = calls + 1, failed = failed + 1 WHERE family = 'stock' AND entry_no = 8;
SQL
		return 0
	fi
	echo "harness error in CALL $j of o2o_stock_apply: $out" >>"$log"
	psql_q -d "$db" -v got="$(head -c 2000 <<<"$out")" >/dev/null <<SQL
INSERT INTO fuzz.failure (family, seed, call, entry, kind, got)
VALUES ('stock', $SEED, ${j:-0}, '(harness)', 'the harness failed', :'got');
SQL
	return 1
}

pids=()
for fam in $FAMILIES; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.2; done
	echo "running family $fam"
	run_family "$fam" &
	pids+=($!)
done
wait

# the summary: calls per entry point, and every failure with its reproduction
total_fail=0
printf '\n%-34s %10s %10s %11s %8s %9s %9s %8s\n' "entry point" calls ok "documented" failed "call s" "max ms" "wall s"
for fam in $FAMILIES; do
	wall=$(sed -n 's/^wall_s //p' "$OUT/$fam.log" | tail -1)
	psql_q -F $'\t' -d o2o_fuzz_$fam -c "SELECT e.name, t.calls, t.ok, t.documented, t.failed, round((t.call_ms / 1000)::numeric, 1), round(t.max_ms::numeric, 1)
		FROM fuzz.tally t JOIN fuzz.entry e USING (family, entry_no) WHERE t.family = '$fam' ORDER BY t.entry_no" \
		| while IFS=$'\t' read -r name calls ok doc failed secs maxms; do
			printf '%-34s %10s %10s %11s %8s %9s %9s %8s\n' "$name" "$calls" "$ok" "$doc" "$failed" "$secs" "$maxms" "${wall%.*}"
			wall=""
		done
	grep -v '^wall_s' "$OUT/$fam.log" | sed "s/^/  $fam: /"
	psql_q -d o2o_fuzz_$fam -c "SELECT format('  %s: %s inputs of %s skipped after %s cancellations by statement_timeout on kind(s) %s',
			t.family, t.skipped, e.name, fuzz.conf('slow_cap'),
			(SELECT string_agg(s.kind, ', ') FROM fuzz.slow s WHERE s.family = t.family AND s.entry_no = t.entry_no
			   AND s.timeouts >= fuzz.conf('slow_cap')::int))
		FROM fuzz.tally t JOIN fuzz.entry e USING (family, entry_no) WHERE t.family = '$fam' AND t.skipped > 0"
	# a family stopped short of its target: how fast it went, how long the target would take
	wall=$(sed -n 's/^wall_s //p' "$OUT/$fam.log" | tail -1)
	psql_q -d o2o_fuzz_$fam -v wall="${wall:-0}" -v tgt="$(targets "$fam")" <<'SQL'
SELECT format('  %s: %s made %s calls in %s s (%s calls/s, sharing the family''s time): %s calls would take at most %s',
			  t.family, e.name, t.calls, round(:wall::numeric), round(t.calls / :wall::numeric),
			  (:'tgt'::bigint[])[t.entry_no], (interval '1 second' * round((:'tgt'::bigint[])[t.entry_no] * :wall::numeric / t.calls)))
  FROM fuzz.tally t JOIN fuzz.entry e USING (family, entry_no)
 WHERE t.calls < (:'tgt'::bigint[])[t.entry_no] AND t.calls > 0 AND :wall::numeric > 0
 ORDER BY t.entry_no;
SQL
done
for fam in $FAMILIES; do
	n=$(psql_q -d o2o_fuzz_$fam -c "SELECT count(*) FROM fuzz.failure")
	total_fail=$(( total_fail + n ))
done
calls=0
for fam in $FAMILIES; do
	calls=$(( calls + $(psql_q -d o2o_fuzz_$fam -c "SELECT sum(calls) FROM fuzz.tally WHERE family = '$fam'") ))
done
elapsed=$(echo "$(date +%s.%N) - $t_start" | bc)
printf '%-34s %10s\n' "total" "$calls"
echo "time: ${elapsed%.*} s"

if [ $total_fail -gt 0 ]; then
	echo
	echo "FAILURES ($total_fail; the first 3 of each kind and entry point):"
	for fam in $FAMILIES; do
		case $fam in
			life|dml|promise|tracking|stock) replay="FUZZ_SEED=$SEED FUZZ_FAMILIES=$fam FUZZ_LAST=%s" ;;
			*) replay="FUZZ_SEED=$SEED FUZZ_FAMILIES=$fam FUZZ_FIRST=%s FUZZ_LAST=%s" ;;
		esac
		psql_q -d o2o_fuzz_$fam -v replay="$replay" <<'SQL'
SELECT format(E'\n[%s] %s, call %s: %s\n  call:     %s\n  expected: %s\n  got:      %s\n  replay:   %s bash test/fuzz/fuzz.sh',
			  family, entry, call, kind, fuzz.cut(coalesce(sql, '(unknown)')), fuzz.cut(coalesce(expected, '')),
			  fuzz.cut(coalesce(got, '')), format(:'replay', call, call))
  FROM (SELECT f.*, row_number() OVER (PARTITION BY entry, regexp_replace(kind, '[0-9.]+ ms', '') ORDER BY failure_id) AS k
		  FROM fuzz.failure f) f
 WHERE k <= 3 ORDER BY failure_id;
SQL
	done
	echo
	echo "fuzz FAILED: $total_fail failures (FUZZ_SEED=$SEED); the databases o2o_fuzz_* are kept (full text: table fuzz.failure)"
	exit 1
fi
if [ "${FUZZ_KEEP:-0}" != 1 ]; then
	for fam in $FAMILIES; do psql_q -d postgres -c "DROP DATABASE IF EXISTS o2o_fuzz_$fam" >/dev/null; done
	psql_q -d postgres -c "DROP DATABASE IF EXISTS $TPL" >/dev/null
fi
echo "fuzz passed: $calls calls, no failure (FUZZ_SEED=$SEED)"
