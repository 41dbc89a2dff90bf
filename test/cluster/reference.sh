#!/usr/bin/env bash
# The README's reference against what exists: every function, aggregate,
# view and setting of the installed extension, and every SQLSTATE of the
# project's one list (src/o2o_route.h), is in the README; everything the
# README's reference names exists.  Codes raised in the SQL source or the C
# code must be in the list.  Exits non-zero on any difference.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cluster_env
export PGOPTIONS='-c client_min_messages=warning'
cd "$ROOT"
DB=o2o_reference
out=$TMP/reference
mkdir -p "$out"

# the rows of the README table under the heading that starts with $1,
# whose first cell is `something`: that something
section() {
	awk -v h="$1" '
		/^#/ { on = (index($0, h) == 1); next }
		on && /^\| `/ { sub(/^\| `/, ""); sub(/`.*/, ""); print }' README.md
}
section '### Functions' | sed 's/(.*//' | sort -u >"$out/readme.functions"
section '### Views' | sort -u >"$out/readme.views"
section '### Settings' | sort -u >"$out/readme.settings"
section '## Errors' | grep '^O2' | sort -u >"$out/readme.errors"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d $DB -c "CREATE EXTENSION o2o_route CASCADE"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $DB -c "$1" | sort -u; }
members="SELECT classid, objid FROM pg_depend WHERE deptype = 'e' AND refclassid = 'pg_extension'::regclass
		   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'o2o_route')"
# functions and aggregates that users call: all but the internal o2o._* ones
q "SELECT p.proname FROM ($members) m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
	WHERE p.proname NOT LIKE '\_%'" >"$out/catalog.functions"
q "SELECT 'o2o.' || c.relname FROM ($members) m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	WHERE c.relkind = 'v'" >"$out/catalog.views"
psql -X -q -At -v ON_ERROR_STOP=1 -d $DB -c "LOAD 'o2o_route'" \
	-c "SELECT name FROM pg_settings WHERE name LIKE 'o2o\_route.%'" | sort -u >"$out/catalog.settings"
# the one list of the project's SQLSTATEs
sed -n "s/.*MAKE_SQLSTATE('O', *'2', *'\([0-9A-Z]\)', *'\([0-9A-Z]\)', *'\([0-9A-Z]\)').*/O2\1\2\3/p" src/o2o_route.h \
	| sort -u >"$out/list.errors"
# and the codes the code raises: ERRCODE = 'O2...' in SQL, ERRCODE_O2O_* in C
{
	grep -oh "ERRCODE *= *'O2[0-9A-Z]*'" sql/src/*.sql | grep -o "O2[0-9A-Z]*"
	for name in $(grep -oh 'ERRCODE_O2O_[A-Z_]*' src/*.c | sort -u); do
		grep -q "define $name[[:space:]]" src/o2o_route.h || echo "$name (not defined in src/o2o_route.h)"
	done
} | sort -u >"$out/used.errors"
psql -X -q -d postgres -c "DROP DATABASE $DB"

status=0
compare() {	# compare WHAT README-FILE OTHER-FILE OTHER-NAME
	local missing extra
	missing=$(comm -13 "$2" "$3")
	extra=$(comm -23 "$2" "$3")
	[ -z "$missing" ] || { echo "$1 missing from the README: $(echo $missing)"; status=1; }
	[ -z "$extra" ] || { echo "$1 in the README but not in $4: $(echo $extra)"; status=1; }
	if [ ! -s "$3" ]; then echo "found no $1 in $4"; status=1; fi
	echo "$1: $(wc -l <"$3") in $4, $(wc -l <"$2") in the README"
}
compare functions "$out/readme.functions" "$out/catalog.functions" "the catalog"
compare views "$out/readme.views" "$out/catalog.views" "the catalog"
compare settings "$out/readme.settings" "$out/catalog.settings" "pg_settings"
compare SQLSTATEs "$out/readme.errors" "$out/list.errors" "src/o2o_route.h"
unlisted=$(comm -23 "$out/used.errors" "$out/list.errors")
[ -z "$unlisted" ] || { echo "raised but not in src/o2o_route.h: $(echo $unlisted)"; status=1; }
exit $status
