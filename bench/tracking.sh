#!/usr/bin/env bash
# bench/tracking.sh (part of make bench): what the tracking writes cost per
# order on the default world (seed 42: 200,000 pending orders), in fresh
# copies of it (the world itself is not changed).  Per order, in turn from
# a sequence (each order routed once, by one client):
#   A   o2o_assign alone (one transaction);
#   B1  o2o_assign, then the four steps of its delivery with o2o_progress
#       (dispatched, en_route with an ETA window, arrived, installed or
#       delivered as the product needs), all in one transaction;
#   B5  the same as five transactions, one per statement: the realistic
#       form, the steps coming hours apart.
# An order o2o_assign leaves unassignable (NULL) gets no steps.  pgbench at
# 1 and 4 clients, -M prepared, synchronous_commit = off, A, B1 and B5 in
# turn in each round; every run on a fresh copy and checked afterwards:
# every order taken is unassignable, or assigned with the progress its run
# reaches (scheduled for A, installed or delivered for B), its steps in its
# timeline; the invariants (o2o.invariant_violations) on the last copy.
# Prints, per client count, the medians over the rounds of orders/s, of the
# ratio cost(B)/cost(A) (time per order, each round's runs measured
# together) and of the cost of one step (the time per order B adds, over
# the steps run per order).  A is what o2o_assign costs now, with the share
# locks it takes on the dealer and installer rows (no baseline without them
# here).  The machines are shared and noisy: only the ratios are worth
# comparing.  About 4 minutes.
#
#   BENCH_SECS          pgbench run length (default 8)
#   BENCH_ROUNDS        rounds of A, B1, B5 at each client count (default 3)
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
RUN=o2o_bench_tracking_run		# a fresh copy for each run
SECS=${BENCH_SECS:-8}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=$TMP/bench_tracking.txt		# "run kind clients round tps ..." lines, printed as a table at the end

cleanup() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $RUN WITH (FORCE)" >/dev/null 2>&1 || true
	bash "$ROOT/scripts/cluster.sh" stop >/dev/null
}
trap cleanup EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

bench_default_world $DB
: >"$OUT"

# The first statement is the same in A and B: the next order, routed; its
# id and dealer (0: unassignable) kept for the steps.
first="SELECT x.id, coalesce(o2o_assign(x.id), 0) AS dealer FROM nextval('bench_order_seq') AS x (id) \\gset"
steps="\\if :dealer > 0
SELECT o2o_progress(:id, 'dispatched');
SELECT o2o_progress(:id, 'en_route', now() + interval '1 hour', now() + interval '3 hours');
SELECT o2o_progress(:id, 'arrived');
SELECT o2o_progress(:id, (SELECT CASE WHEN p.needs_install THEN 'installed' ELSE 'delivered' END
						   FROM o2o.orders o JOIN o2o.product p ON p.sku = o.sku WHERE o.order_id = :id));
\\endif"
printf '%s\n' "$first" >"$TMP/bench_tr_A.pgbench"
printf '%s\n%s\n' "$first" "$steps" >"$TMP/bench_tr_B5.pgbench"
printf 'BEGIN;\n%s\n%s\nCOMMIT;\n' "$first" "$steps" >"$TMP/bench_tr_B1.pgbench"

# run KIND CLIENTS ROUND: a fresh copy, pgbench, then the check of every order taken;
# KIND A, B1 or B5, or A-quiet or B5-quiet: the same with the outbox's NOTIFY
# trigger (order_event_notify) disabled in the copy
run() {
	local kind=$1 clients=$2 round=$3 script=${1%-quiet} tps aborted failed taken
	local log=$TMP/pgbench_tr_$kind$clients.out
	q -d postgres -c "DROP DATABASE IF EXISTS $RUN" -c "CREATE DATABASE $RUN TEMPLATE $DB"
	q -d $RUN -c "CREATE SEQUENCE bench_order_seq" >/dev/null
	[ "$script" = "$kind" ] || q -d $RUN -c "ALTER TABLE o2o.order_event DISABLE TRIGGER order_event_notify"
	(cd "$TMP" && PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" "$PGBIN/pgbench" -n -M prepared -c "$clients" \
		-j "$clients" -T "$SECS" --failures-detailed -f "$TMP/bench_tr_$script.pgbench" $RUN >"$log" 2>&1) || true
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")
	aborted=$(grep -c 'aborted' "$log" || true)
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
	grep -E 'ERROR|aborted' "$log" | head -5 | sed 's/^/    /' || true
	# the orders the sequence gave out: each one unassignable, or assigned
	# with the progress of its run, its steps in its timeline (bad); an order
	# of B a client had not finished when the run ended (cut, at most one
	# per client) is told apart
	read -r taken unassignable ndone cut bad steps < <(q -F ' ' -d $RUN -v kind="$script" <<'SQL'
SELECT max(n), count(*) FILTER (WHERE c = 'unassignable'), count(*) FILTER (WHERE c = 'done'),
	   count(*) FILTER (WHERE c = 'cut'), count(*) FILTER (WHERE c = 'bad'), coalesce(sum(steps), 0)
  FROM (SELECT s.n, e.steps,
			   CASE WHEN o.status = 'unassignable' AND a.order_id IS NULL AND e.steps = 0 THEN 'unassignable'
					WHEN o.status <> 'assigned' THEN 'bad'
					WHEN :'kind' = 'A' AND a.progress = 'scheduled' AND e.steps = 0 THEN 'done'
					WHEN :'kind' <> 'A' AND a.progress = CASE WHEN p.needs_install THEN 'installed' ELSE 'delivered' END
						 AND e.steps = 4 THEN 'done'
					WHEN :'kind' <> 'A' AND e.steps = array_position(ARRAY['scheduled', 'dispatched', 'en_route', 'arrived'],
																	   a.progress) - 1 THEN 'cut'
					ELSE 'bad' END AS c
		  FROM (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM bench_order_seq) s
		  JOIN o2o.orders o ON o.order_id <= s.n
		  LEFT JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'active'
		  LEFT JOIN o2o.product p ON p.sku = o.sku
		 CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE x.event IN ('dispatched', 'en_route', 'arrived', 'installed',
																		  'delivered')) AS steps
							   FROM o2o.order_event x WHERE x.order_id = o.order_id) e) r;
SQL
	)
	echo "run $kind $clients $round ${tps:-0} $taken $unassignable $ndone $cut $bad $steps $((aborted + ${failed:-0}))" >>"$OUT"
	printf '  %-2s %d client(s), round %d: %7.0f orders/s; %d orders: %d unassignable, %d done, %d cut by the end, %d bad; %d aborted or failed\n' \
		"$kind" "$clients" "$round" "${tps:-0}" "$taken" "$unassignable" "$ndone" "$cut" "$bad" "$((aborted + ${failed:-0}))"
}

say "tracking: o2o_assign alone (A) vs o2o_assign + 4 o2o_progress steps in one (B1) or five transactions (B5); pgbench, $SECS s per run, $ROUNDS rounds"
# a short run first, not counted: the caches of the server and of the OS warm
SECS=2 run A 1 0 >/dev/null
: >"$OUT"
for round in $(seq 1 "$ROUNDS"); do
	for clients in 1 4; do
		for kind in A B1 B5; do
			run $kind $clients "$round"
		done
	done
done
# the invariants after the last run of the rounds (4 clients, five transactions per order)
violations=$(q -d $RUN -c "SELECT count(*) FROM o2o.invariant_violations")
echo "violations $violations" >>"$OUT"
q -d $RUN -c "SELECT invariant, subject, actual, expected FROM o2o.invariant_violations LIMIT 5" | sed 's/^/    /'
# what the outbox's NOTIFY costs at 4 clients: each transaction that writes
# an event (o2o_assign's too) notifies, and PostgreSQL serializes the commits
# of notifying transactions (a lock on the database object) -- one round
say "the same at 4 clients with the outbox's NOTIFY trigger disabled (one round)"
run A-quiet 4 1
run B5-quiet 4 1

# In the server alone, one session, on a fresh copy: blocks of 100 orders
# in turn as A, B1 and B5 (a DO block that commits as pgbench would), with
# the backend's CPU time (/proc/self/stat, in ticks of 10 ms) beside the
# wall time: CPU time is what the noise of a shared machine changes least.
say "in the server alone: blocks of 100 orders as A, B1, B5 in turn, one session"
q -d postgres -c "DROP DATABASE IF EXISTS $RUN" -c "CREATE DATABASE $RUN TEMPLATE $DB"
q -F ' ' -d $RUN -v blocks="${BENCH_INSERVER_BLOCKS:-8}" >>"$OUT" <<'SQL'
SET synchronous_commit = off;
CREATE TABLE bench_blocks (kind text, cpu float8, wall float8, orders int, steps int);
CREATE FUNCTION pg_temp.cpu() RETURNS float8 LANGUAGE sql AS $$
	SELECT (f[12]::float8 + f[13]::float8) / 100
	  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s $$;
SELECT set_config('bench.blocks', :'blocks', false) \g /dev/null
DO $$
DECLARE
	id bigint := 0;
	kind text;
	c0 float8;
	w0 timestamptz;
	d int;
	n int;
BEGIN
	FOR blk IN 0 .. 3 * current_setting('bench.blocks')::int - 1 LOOP
		kind := (ARRAY['A', 'B1', 'B5'])[blk % 3 + 1];
		n := 0;
		c0 := pg_temp.cpu();
		w0 := clock_timestamp();
		FOR i IN 1 .. 100 LOOP
			id := id + 1;
			d := o2o_assign(id);
			IF kind = 'B5' THEN COMMIT; END IF;
			IF kind <> 'A' AND d IS NOT NULL THEN
				PERFORM o2o_progress(id, 'dispatched');
				IF kind = 'B5' THEN COMMIT; END IF;
				PERFORM o2o_progress(id, 'en_route', now() + interval '1 hour', now() + interval '3 hours');
				IF kind = 'B5' THEN COMMIT; END IF;
				PERFORM o2o_progress(id, 'arrived');
				IF kind = 'B5' THEN COMMIT; END IF;
				PERFORM o2o_progress(id, (SELECT CASE WHEN p.needs_install THEN 'installed' ELSE 'delivered' END
											FROM o2o.orders o JOIN o2o.product p ON p.sku = o.sku WHERE o.order_id = id));
				n := n + 4;
			END IF;
			COMMIT;
		END LOOP;
		INSERT INTO bench_blocks VALUES (kind, pg_temp.cpu() - c0, extract(epoch FROM clock_timestamp() - w0), 100, n);
		COMMIT;
	END LOOP;
END $$;
SELECT 'inserver', kind, sum(cpu), sum(wall), sum(orders), sum(steps) FROM bench_blocks GROUP BY kind ORDER BY kind;
SELECT 'inserver_bad', count(*) FROM o2o.orders o JOIN o2o.product p ON p.sku = o.sku
  LEFT JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'active'
 WHERE o.order_id <= 300 * current_setting('bench.blocks')::int
   AND o.status <> 'unassignable'
   AND a.progress IS DISTINCT FROM CASE WHEN (o.order_id - 1) / 100 % 3 = 0 THEN 'scheduled'
										WHEN p.needs_install THEN 'installed' ELSE 'delivered' END;
SQL
q -d postgres -c "DROP DATABASE IF EXISTS $RUN"

# ---------------------------------------------------------------------------
echo
awk '
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$1 == "run" {
		k = $2 "/" $3; r = $3 "/" $4
		tps[k] = tps[k] " " $5; t[$2 "/" r] = $5
		orders[k] += $6; unas[k] += $7; done[k] += $8; cut[k] += $9; bad[k] += $10; steps[k] += $11; fail[k] += $12
		if ($2 == "A") rounds[$3] = rounds[$3] " " $4
	}
	$1 == "violations" { violations = $2 }
	$1 == "inserver" { ic[$2] = $3; iw[$2] = $4; io[$2] = $5; is[$2] = $6 }
	$1 == "inserver_bad" { ibad = $2 }
	END {
		printf "%-8s %14s %18s %18s %9s %9s %12s %12s\n", "clients", "A orders/s", "B1 orders/s", "B5 orders/s",
			"B1/A", "B5/A", "step us B1", "step us B5"
		for (c = 1; c <= 4; c += 3) {
			rb1 = ""; rb5 = ""; sb1 = ""; sb5 = ""
			n = split(rounds[c], rr, " ")
			for (i = 1; i <= n; i++) {
				a = t["A/" c "/" rr[i]]; b1 = t["B1/" c "/" rr[i]]; b5 = t["B5/" c "/" rr[i]]
				if (a <= 0 || b1 <= 0 || b5 <= 0) continue
				rb1 = rb1 " " a / b1; rb5 = rb5 " " a / b5
				# time per order B adds, over the steps run per order
				sb1 = sb1 " " 1e6 * (1 / b1 - 1 / a) / (steps["B1/" c] / orders["B1/" c])
				sb5 = sb5 " " 1e6 * (1 / b5 - 1 / a) / (steps["B5/" c] / orders["B5/" c])
			}
			printf "%-8d %14.0f %18.0f %18.0f %8.2fx %8.2fx %12.0f %12.0f\n", c, median(tps["A/" c]), median(tps["B1/" c]),
				median(tps["B5/" c]), median(rb1), median(rb5), median(sb1), median(sb5)
		}
		printf "(medians over the rounds; B/A = cost(B)/cost(A), time per order; step us: per o2o_progress step, wall time\n"
		printf " per order at that client count, so at 4 clients the cost to the machine shared by 4)\n"
		for (c = 1; c <= 4; c += 3)
			for (i = 1; i <= split("A B1 B5", kk, " "); i++) {
				k = kk[i] "/" c
				printf "%-3s %d client(s): %d orders taken in all, %d unassignable, %d done, %d cut by the end of a run, %d bad; %d aborted or failed; %.2f steps per order\n",
					kk[i], c, orders[k], unas[k], done[k], cut[k], bad[k], fail[k], steps[k] / orders[k]
			}
		printf "invariant violations after the last run: %s\n", violations
		a = t["A-quiet/4/1"]; b5 = t["B5-quiet/4/1"]; a0 = median(tps["A/4"]); b0 = median(tps["B5/4"])
		if (a > 0 && b5 > 0) {
			printf "4 clients, NOTIFY trigger disabled (one round): A %.0f orders/s (%.2fx the median with it), B5 %.0f orders/s (%.2fx); B5/A %.2fx\n",
				a, a / a0, b5, b5 / b0, a / b5
			printf "%-3s 4 client(s), NOTIFY off: %d orders taken, %d unassignable, %d done, %d cut, %d bad; %d aborted or failed\n",
				"A", orders["A-quiet/4"], unas["A-quiet/4"], done["A-quiet/4"], cut["A-quiet/4"], bad["A-quiet/4"], fail["A-quiet/4"]
			printf "%-3s 4 client(s), NOTIFY off: %d orders taken, %d unassignable, %d done, %d cut, %d bad; %d aborted or failed\n",
				"B5", orders["B5-quiet/4"], unas["B5-quiet/4"], done["B5-quiet/4"], cut["B5-quiet/4"], bad["B5-quiet/4"], fail["B5-quiet/4"]
		}
		printf "\nin the server alone, one session (%d orders each, blocks of 100 in turn): per order, ms\n", io["A"]
		printf "%-26s %10s %10s %12s %12s\n", "", "CPU", "wall", "CPU x A", "CPU us/step"
		for (i = 1; i <= split("A B1 B5", kk, " "); i++) {
			k = kk[i]
			printf "%-26s %10.3f %10.3f %11.2fx", k, 1000 * ic[k] / io[k], 1000 * iw[k] / io[k], (ic[k] / io[k]) / (ic["A"] / io["A"])
			if (is[k] > 0) printf " %12.0f", 1e6 * (ic[k] - ic["A"] * io[k] / io["A"]) / is[k]
			printf "\n"
		}
		printf "orders not ending as their block meant (scheduled, or installed/delivered): %s\n", ibad
	}' "$OUT"
