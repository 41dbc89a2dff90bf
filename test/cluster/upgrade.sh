#!/usr/bin/env bash
# Upgrade path: install the oldest released version, ALTER EXTENSION ... UPDATE
# to the default version, and compare every object of the extension with a
# fresh install of the default version.  Exits non-zero on any difference.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cluster_env
export PGOPTIONS='-c client_min_messages=warning'

versions=$(ls "$ROOT"/sql/o2o_route--*.sql | sed -n 's/.*o2o_route--\([0-9.]*\)\.sql$/\1/p' | sort -V)
oldest=$(echo "$versions" | head -1)
default=$(control_version)
echo "versions: $(echo $versions); upgrading $oldest -> $default"

# every object of the extension, described with its full definition and privileges
describe() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension WHERE extname = 'o2o_route';
WITH m AS (
	SELECT classid, objid FROM pg_depend
	 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'o2o_route'))
SELECT pg_describe_object(classid, objid, 0) ||
	   coalesce(' :: ' || CASE classid
		   WHEN 'pg_proc'::regclass THEN
			   CASE WHEN (SELECT prokind FROM pg_proc WHERE oid = objid) = 'a'
					THEN (SELECT format('aggregate %s sfunc %s stype %s final %s combine %s serial %s deserial %s',
										pg_get_function_identity_arguments(objid), aggtransfn::regproc,
										format_type(aggtranstype, NULL), aggfinalfn::regproc, aggcombinefn::regproc,
										aggserialfn::regproc, aggdeserialfn::regproc)
							FROM pg_aggregate WHERE aggfnoid = objid)
					ELSE pg_get_functiondef(objid) END
			   || ' ' || coalesce(obj_description(objid, 'pg_proc'), '')
			   || ' acl ' || coalesce((SELECT proacl::text FROM pg_proc WHERE oid = objid), 'default')
		   WHEN 'pg_class'::regclass THEN coalesce(obj_description(objid, 'pg_class'), '') || ' acl '
			   || coalesce((SELECT relacl::text FROM pg_class WHERE oid = objid), 'default') || ' ' ||
			   (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END
								  || coalesce(' default ' || pg_get_expr(adbin, adrelid), ''), ', ' ORDER BY attnum)
				  FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
				 WHERE attrelid = objid AND attnum > 0 AND NOT attisdropped) || ' ' ||
			   coalesce((SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ', ' ORDER BY conname)
						   FROM pg_constraint WHERE conrelid = objid), '') || ' ' ||
			   coalesce((SELECT string_agg(pg_get_indexdef(indexrelid), ', ' ORDER BY indexrelid::regclass::text)
						   FROM pg_index WHERE indrelid = objid), '') || ' ' ||
			   coalesce((SELECT string_agg(pg_get_triggerdef(oid), ', ' ORDER BY tgname)
						   FROM pg_trigger WHERE tgrelid = objid AND NOT tgisinternal), '') ||
			   coalesce((SELECT ' view ' || pg_get_viewdef(objid) FROM pg_class WHERE oid = objid AND relkind = 'v'), '')
		   END, '')
  FROM m ORDER BY 1;
SELECT 'config ' || string_agg(c::regclass::text, ', ' ORDER BY c::regclass::text)
  FROM pg_extension, unnest(extconfig) c WHERE extname = 'o2o_route';
SQL
}

for db in o2o_upgrade o2o_fresh; do
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
done
psql -X -q -d o2o_upgrade -c "SET client_min_messages = warning" \
	-c "CREATE EXTENSION o2o_route VERSION '$oldest' CASCADE" \
	-c "ALTER EXTENSION o2o_route UPDATE"
psql -X -q -d o2o_fresh -c "SET client_min_messages = warning" -c "CREATE EXTENSION o2o_route CASCADE"

mkdir -p "$TMP"
describe o2o_upgrade >"$TMP/upgrade.upgraded.txt"
describe o2o_fresh >"$TMP/upgrade.fresh.txt"
psql -X -q -d o2o_upgrade -Atc "SELECT o2o_route_version()" >/dev/null
if [ "$(wc -l <"$TMP/upgrade.fresh.txt")" -lt 100 ]; then
	echo "describing the extension's objects failed: only $(wc -l <"$TMP/upgrade.fresh.txt") lines" >&2
	exit 1
fi
if ! diff -u "$TMP/upgrade.fresh.txt" "$TMP/upgrade.upgraded.txt"; then
	echo "upgrade $oldest -> $default differs from a fresh install of $default" >&2
	exit 1
fi
echo "upgrade $oldest -> $default matches a fresh install ($(wc -l <"$TMP/upgrade.fresh.txt") objects compared)"
for db in o2o_upgrade o2o_fresh; do psql -X -q -d postgres -c "DROP DATABASE $db"; done
