#!/usr/bin/env bash
# The examples, as an application runs them: in a database of their own
# holding the small world of examples/world.sql, connected as its
# application role o2o_example_app (the grants of README's Privileges recipe,
# not a superuser), through their drivers:
#   - examples/node/promise_cart.js (the pg package, installed by `npm ci`
#     from the lock file): the promise for a cart, and an unknown SKU;
#   - examples/place_and_route.py (psycopg 3): an order placed and routed in
#     one transaction; the same while the test's transaction makes its first
#     attempt fail with 40001, then with 40P01 (test/cluster/examples_race.py
#     waits until the example is blocked on it, no sleep decides); an order
#     nobody can serve; an unknown SKU.
# Each run's output (stdout and stderr) must equal examples/expected/NAME.out,
# its exit status the one expected, and README.md must show that output
# verbatim.  Afterwards the orders of the attempts that were rolled back
# must not exist, and o2o.invariant_violations must be empty.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cluster_env
export PGOPTIONS='-c client_min_messages=warning'
DB=o2o_examples
APP=o2o_example_app
PY=/usr/bin/python3	# Debian's, with psycopg 3 (python3-psycopg, scripts/deps.sh)
EXP=$ROOT/examples/expected
W=$TMP/examples
rm -rf "$W"
mkdir -p "$W"
cd "$ROOT"

command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (scripts/deps.sh installs them)"
echo "node $(node --version), npm $(npm --version), pg from examples/node/package-lock.json (npm ci)"
(cd examples/node && npm ci --no-audit --no-fund --loglevel=error) >"$W/npm.log" 2>&1 \
	|| { cat "$W/npm.log"; die "npm ci failed in examples/node"; }

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -d $DB -v ON_ERROR_STOP=1 -f examples/world.sql >/dev/null
[ "$(psql -X -At -d $DB -c "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = '$APP'")" = f ] \
	|| die "$APP must be an ordinary role"
export PGDATABASE=$DB

failed=0
# check NAME STATUS COMMAND...: run COMMAND as the application, compare
check() {
	local name=$1 want=$2 rc=0
	shift 2
	PGUSER=$APP "$@" >"$W/$name.out" 2>&1 || rc=$?
	compare "$name" "$want" "$rc"
}
compare() {
	local name=$1 want=$2 rc=$3 ok=1
	if [ "$rc" != "$want" ]; then
		echo "$name: exit status $rc, expected $want"; ok=0
	fi
	if ! diff -u "$EXP/$name.out" "$W/$name.out" >"$W/$name.diff"; then
		echo "$name: output differs from examples/expected/$name.out:"; cat "$W/$name.diff"; ok=0
	fi
	if ! "$PY" -c 'import sys; sys.exit(open(sys.argv[1]).read() not in open(sys.argv[2]).read())' \
			"$EXP/$name.out" README.md; then
		echo "$name: README.md does not show examples/expected/$name.out"; ok=0
	fi
	if [ $ok = 1 ]; then
		echo "ok      $name"
	else
		echo "FAILED  $name"; failed=$((failed + 1))
	fi
}
# race NAME SQLSTATE: place_and_route.py with its first attempt made to fail
race() {
	local name=$1 state=$2 rc=0
	"$PY" test/cluster/examples_race.py "$state" --role $APP --sku AC-001 --dealer 1 --lon 113.8 --lat 22.55 \
		-- examples/place_and_route.py --sku AC-001 --lon 113.8 --lat 22.55 \
		>"$W/$name.out" 2>"$W/$name.race" || rc=$?
	sed 's/^/  /' "$W/$name.race"
	compare "$name" 0 "$rc"
}

check promise_cart 0 node examples/node/promise_cart.js 113.8 22.55 AC-001 FR-001:2 WH-001 AC-100
check promise_cart_unknown 1 node examples/node/promise_cart.js 113.8 22.55 AC-001 NOPE-1
check place_and_route 0 examples/place_and_route.py --sku AC-001 --lon 113.8 --lat 22.55 --address 'No. 8, Jiang Road'
race place_and_route_40001 40001
race place_and_route_40P01 40P01
check place_and_route_unassignable 0 examples/place_and_route.py --sku WH-001 --lon 113.8 --lat 22.55
check place_and_route_unknown 1 examples/place_and_route.py --sku NOPE-1 --lon 113.8 --lat 22.55

# orders 3 and 5 were the first attempts, rolled back; 2 is the test's own
orders=$(psql -X -At -c "SELECT string_agg(order_id || ' ' || status, ', ' ORDER BY order_id) FROM o2o.orders")
violations=$(psql -X -At -c "SELECT count(*) FROM o2o.invariant_violations")
echo "orders: $orders; invariant violations: $violations"
if [ "$orders" != "1 assigned, 2 assigned, 4 assigned, 6 assigned, 7 unassignable" ] || [ "$violations" != 0 ]; then
	echo "FAILED  the orders left, or an invariant"; failed=$((failed + 1))
fi

psql -X -q -d postgres -c "DROP DATABASE $DB"
psql -X -q -d postgres -c "DROP ROLE $APP"
[ $failed = 0 ] || { echo "examples: $failed failed" >&2; exit 1; }
echo "examples: every output as expected and as the README shows it"
