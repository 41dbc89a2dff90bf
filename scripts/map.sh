#!/usr/bin/env bash
# make map: the coverage map of the world in a database of the running
# throwaway cluster, as an SVG (drawn in SQL by scripts/map.sql with PostGIS's
# ST_AsSVG) and a PNG (rendered from it by rsvg-convert, palette-reduced by
# pngquant).  Prints the two paths and the legend.
#   DB=o2o_demo        the database
#   SKU=AC-001         one SKU, or
#   CATEGORY=ac        one category (not both; SKU=AC-001 when neither is given)
#   MEASURE=units      units available per grid (on hand − reserved − safety at
#                      the grid's active dealers), or fill (fill rate of the
#                      grid's orders), or in_grid (share of the grid's served
#                      orders served by a dealer of the same grid)
#   OUT=map            the directory written to (created if missing)
# On bad input it says why and exits non-zero, and writes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DB=${DB:-o2o_demo}
SKU=${SKU:-}
CATEGORY=${CATEGORY:-}
MEASURE=${MEASURE:-units}
OUT=${OUT:-$ROOT/map}

[ -n "$SKU" ] && [ -n "$CATEGORY" ] && die "give SKU= or CATEGORY=, not both (SKU=$SKU CATEGORY=$CATEGORY)"
[ -n "$SKU$CATEGORY" ] || SKU=AC-001
case $MEASURE in
	units | fill | in_grid) ;;
	*) die "unknown MEASURE=$MEASURE: units (available per grid), fill (fill rate) or in_grid (in-grid share)" ;;
esac
for tool in rsvg-convert pngquant; do
	command -v $tool >/dev/null || die "$tool is missing: run bash scripts/deps.sh (or make demo)"
done

cluster_env
psql -X -q -At -d postgres -c "SELECT 1" >/dev/null 2>&1 || die "the throwaway cluster is not running: make start"
[ "$(psql -X -q -At -d postgres -v db="$DB" <<<"SELECT count(*) FROM pg_database WHERE datname = :'db'")" = 1 ] \
	|| die "no database $DB in the throwaway cluster (make demo makes o2o_demo; DB= names another)"
[ "$(psql -X -q -At -d "$DB" -c "SELECT count(*) FROM pg_extension WHERE extname = 'o2o_route'")" = 1 ] \
	|| die "database $DB has no o2o_route extension, so no world to draw (make demo makes one in o2o_demo)"

what=${SKU:-$CATEGORY}
name="coverage-$DB-$what-$MEASURE"
name=${name//[^A-Za-z0-9_.-]/_}
work=$(mktemp -d "${TMPDIR:-/tmp}/o2o_map.XXXXXX")
trap 'rm -rf "$work"' EXIT

t0=$(date +%s.%N)
if ! psql -X -q -d "$DB" -v sku="$SKU" -v category="$CATEGORY" -v measure="$MEASURE" -v db="$DB" \
	-v svg="$work/map.svg" -f "$ROOT/scripts/map.sql" >"$work/legend.txt" 2>"$work/err.txt"; then
	msg=$(sed -n 's/^.*ERROR:  //p' "$work/err.txt" | head -1)
	[ -n "$msg" ] || msg=$(cat "$work/err.txt")
	die "$msg"
fi
t1=$(date +%s.%N)
rsvg-convert -f png -o "$work/full.png" "$work/map.svg" || die "rsvg-convert could not render the SVG"
# 256 colours are plenty for a map: the PNG shrinks to about a third
pngquant --force --output "$work/map.png" "$work/full.png" || die "pngquant could not reduce the PNG"
t2=$(date +%s.%N)

mkdir -p "$OUT"
mv -f "$work/map.svg" "$OUT/$name.svg"
mv -f "$work/map.png" "$OUT/$name.png"
size() { numfmt --to=iec --suffix=B "$(stat -c %s "$1")"; }
wh=$(sed -n '2s/.* width="\([0-9]*\)" height="\([0-9]*\)".*/\1×\2 px/p' "$OUT/$name.svg")
printf 'map of %s, %s %s, measure %s\n' "$DB" "$([ -n "$SKU" ] && echo SKU || echo category)" "$what" "$MEASURE"
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
printf '  %s  (%s, drawn in SQL in %s s)\n' "$OUT/$name.svg" "$(size "$OUT/$name.svg")" "$(secs "$t0" "$t1")"
printf '  %s  (%s, %s, rendered in %s s)\n' "$OUT/$name.png" "$(size "$OUT/$name.png")" "$wh" "$(secs "$t1" "$t2")"
cat "$work/legend.txt"
