#!/usr/bin/env bash
# make map (scripts/map.sh) on a small generated world: a SKU and a category,
# each measure.  Each SVG must be well-formed (xmllint) and hold one path per
# grid whose value, class and hole mark equal what plain SQL computes apart
# (test/cluster/map_check.py; the holes of a category are o2o.grid_holes'
# rows); the PNG a PNG of the SVG's size.  Bad input must fail with its
# message and write nothing.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cluster_env
export PGOPTIONS='-c client_min_messages=warning'
unset SKU CATEGORY MEASURE OUT
DB=o2o_map
W=$TMP/map_test
rm -rf "$W"
mkdir -p "$W"
failures=0
check() {	# check WHAT STATUS
	if [ "$2" = 0 ]; then echo "ok    $1"; else echo "FAIL  $1"; failures=$((failures + 1)); fi
}
try() {	# try WHAT COMMAND...: check that COMMAND succeeds
	local what=$1
	shift
	if "$@"; then check "$what" 0; else check "$what" 1; fi
}
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d $DB "$@"; }

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" \
	-c "DROP DATABASE IF EXISTS ${DB}_empty" -c "CREATE DATABASE ${DB}_empty" \
	-c "DROP DATABASE IF EXISTS ${DB}_noext" -c "CREATE DATABASE ${DB}_noext"
psql -X -q -d ${DB}_empty -c "CREATE EXTENSION o2o_route CASCADE"
# the world, then holes of both kinds for the category 'washer' and its
# first SKU, an inactive dealer that has stock, and safety stock
sql >/dev/null <<SQL
CREATE EXTENSION o2o_route CASCADE;
\i '$ROOT/test/fixtures/worldgen.sql'
SELECT o2o_gen.build(11, n_grids => 60, n_dealers => 400, n_orders => 3000);
-- two grids whose dealers have no washer to offer
UPDATE o2o.stock s SET safety = s.on_hand
  FROM o2o.product p WHERE p.sku = s.sku AND p.category = 'washer'
   AND s.grid_id IN (SELECT grid_id FROM o2o.dealer WHERE active GROUP BY grid_id
					  HAVING count(*) >= 2 ORDER BY grid_id LIMIT 2);
-- a grid whose dealers all close
UPDATE o2o.dealer SET active = false
 WHERE grid_id = (SELECT grid_id FROM o2o.dealer GROUP BY grid_id ORDER BY count(*) DESC, grid_id LIMIT 1 OFFSET 3);
-- in a grid that keeps others, a dealer with washers closes
UPDATE o2o.dealer SET active = false
 WHERE dealer_id = (SELECT min(s.dealer_id) FROM o2o.stock s JOIN o2o.dealer d USING (dealer_id)
					 WHERE s.sku = 'WA-001' AND s.on_hand > 0 AND d.active
					   AND (SELECT count(*) FROM o2o.dealer x WHERE x.grid_id = d.grid_id AND x.active) >= 3);
-- some safety stock
UPDATE o2o.stock SET safety = least(on_hand, 2) WHERE dealer_id % 3 = 0 AND safety = 0;
SQL
grids=$(sql -c "SELECT count(*) FROM o2o.grid")
read -r holes_nodealer holes_nostock < <(sql -F ' ' -c "SELECT count(*) FILTER (WHERE reason = 'no active dealer'),
	count(*) FILTER (WHERE reason = 'no stock') FROM o2o.grid_holes WHERE category = 'washer'")
echo "world: $grids grids; washer holes: $holes_nodealer without an active dealer, $holes_nostock without stock"
try "the test world has holes of both kinds" [ "$holes_nodealer" -gt 0 -a "$holes_nostock" -gt 0 ]

# expected values, computed apart from scripts/map.sql: units as the sum of
# greatest(available, 0) at active dealers; SKU holes from those units;
# category holes from o2o.grid_holes; fill and in-grid from the orders'
# statuses and the dealer's grid (not the assignment's cross_grid)
expected() {	# expected SKU CATEGORY MEASURE > csv
	sql -v sku="$1" -v category="$2" -v measure="$3" <<'SQL'
\pset format csv
\pset tuples_only on
WITH s AS (SELECT sku FROM o2o.product WHERE sku = :'sku' OR category = :'category'),
u AS (SELECT g.grid_id,
			 (SELECT coalesce(sum(greatest(st.on_hand - st.reserved - st.safety, 0)), 0)
				FROM o2o.dealer d JOIN o2o.stock st ON st.dealer_id = d.dealer_id
			   WHERE d.grid_id = g.grid_id AND d.active AND st.sku IN (SELECT sku FROM s)) AS units,
			 EXISTS (SELECT 1 FROM o2o.dealer d WHERE d.grid_id = g.grid_id AND d.active) AS has_dealer
		FROM o2o.grid g),
o AS (SELECT o.grid_id,
			 count(*) FILTER (WHERE o.status NOT IN ('pending', 'cancelled')) AS routed,
			 count(*) FILTER (WHERE o.status IN ('assigned', 'completed')) AS served,
			 count(*) FILTER (WHERE o.status IN ('assigned', 'completed') AND d.grid_id = o.grid_id) AS same_grid
		FROM o2o.orders o
		LEFT JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state <> 'declined' AND a.state <> 'released'
		LEFT JOIN o2o.dealer d ON d.dealer_id = a.dealer_id
	   WHERE o.sku IN (SELECT sku FROM s) GROUP BY o.grid_id)
SELECT u.grid_id,
	   CASE WHEN :'measure' = 'units' THEN u.units::text ELSE '' END,
	   CASE :'measure' WHEN 'units' THEN u.units WHEN 'fill' THEN coalesce(o.served, 0) ELSE coalesce(o.same_grid, 0) END,
	   CASE :'measure' WHEN 'units' THEN NULL WHEN 'fill' THEN coalesce(o.routed, 0) ELSE coalesce(o.served, 0) END,
	   CASE WHEN :'category' <> '' THEN (SELECT h.reason FROM o2o.grid_holes h WHERE h.grid_id = u.grid_id AND h.category = :'category')
			WHEN u.units = 0 AND u.has_dealer THEN 'no stock'
			WHEN u.units = 0 THEN 'no active dealer' END
  FROM u LEFT JOIN o ON o.grid_id = u.grid_id ORDER BY 1;
SQL
}

draw() {	# draw SKU CATEGORY MEASURE: make map, then its checks
	local sku=$1 category=$2 measure=$3 name rc
	name=coverage-$DB-${sku:-$category}-$measure
	rc=0
	SKU=$sku CATEGORY=$category MEASURE=$measure DB=$DB OUT=$W/out bash "$ROOT/scripts/map.sh" >"$W/$name.log" 2>&1 || rc=$?
	check "make map SKU=$sku CATEGORY=$category MEASURE=$measure" $rc
	[ $rc = 0 ] || { cat "$W/$name.log"; return; }
	try "  it prints the paths of the SVG and the PNG" \
		grep -q "$W/out/$name.svg.*$W/out/$name.png" <(tr '\n' ' ' <"$W/$name.log")
	try "  the SVG is well-formed (xmllint)" xmllint --noout "$W/out/$name.svg"
	expected "$sku" "$category" "$measure" >"$W/$name.csv"
	try "  one path per grid; values, classes, holes and legend as computed apart; the PNG's size" \
		/usr/bin/python3 "$ROOT/test/cluster/map_check.py" "$W/out/$name.svg" "$W/out/$name.png" "$W/$name.csv" \
		"$measure" "$DB" "$sku" "$category"
}

bad() {	# bad MESSAGE VAR=VALUE...: make map fails with MESSAGE and writes nothing
	local msg=$1 rc=0
	shift
	rm -rf "$W/bad"
	env DB=$DB OUT="$W/bad" "$@" bash "$ROOT/scripts/map.sh" >"$W/bad.log" 2>&1 || rc=$?
	if [ $rc != 0 ] && grep -q -- "$msg" "$W/bad.log" && [ ! -e "$W/bad" ]; then rc=0; else rc=1; fi
	[ $rc = 0 ] || { echo "  expected a failure saying \"$msg\" and no $W/bad; got:"; cat "$W/bad.log"; ls -la "$W/bad" 2>/dev/null; }
	check "bad input $*: fails with \"$msg\", writes nothing" $rc
}

# before any routing
bad "needs routed orders" SKU=WA-001 MEASURE=fill
bad "needs routed orders" CATEGORY=washer MEASURE=in_grid
draw WA-001 "" units
draw "" washer units

say "routing the orders"
n=1
while [ "$n" != 0 ]; do n=$(sql -c "SELECT o2o_assign_pending(1000)"); done
sql -c "SELECT count(*) FILTER (WHERE status = 'assigned'), count(*) FILTER (WHERE status = 'unassignable') FROM o2o.orders"
# some deliveries complete (their assignment is then completed, not active)
sql -c "SELECT count(o2o_complete(order_id)) FROM (SELECT order_id FROM o2o.orders WHERE status = 'assigned' ORDER BY order_id LIMIT 200) x" >/dev/null

draw WA-001 "" fill
draw WA-001 "" in_grid
draw "" washer fill
draw "" washer in_grid
draw "" washer units

bad "unknown SKU \"XX-999\"" SKU=XX-999
bad "unknown category \"sofa\"" CATEGORY=sofa
bad "not both" SKU=WA-001 CATEGORY=washer
bad "unknown MEASURE=speed" MEASURE=speed
bad "no database o2o_map_nowhere" DB=o2o_map_nowhere
bad "has no world loaded" DB=${DB}_empty
bad "has no o2o_route extension" DB=${DB}_noext

psql -X -q -d postgres -c "DROP DATABASE ${DB}_empty" -c "DROP DATABASE ${DB}_noext"
echo "$failures failed"
[ $failures = 0 ]
