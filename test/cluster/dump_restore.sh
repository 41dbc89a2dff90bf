#!/usr/bin/env bash
# pg_dump -> pg_restore round trip: a small generated world, with assignments
# and events, is dumped and restored into a new database; every row of every
# o2o table and the state of every sequence must come back.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cluster_env
export PGOPTIONS='-c client_min_messages=warning'

src=o2o_dump_src
dst=o2o_dump_dst
for db in $src $dst; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"; done

psql -X -q -v ON_ERROR_STOP=1 -d $src <<SQL
SET client_min_messages = warning;
CREATE EXTENSION o2o_route CASCADE;
\i '$ROOT/test/fixtures/worldgen.sql'
SELECT o2o_gen.build(11, n_grids => 40, n_dealers => 300, n_orders => 2000);
-- rows in the routing tables too
INSERT INTO o2o.assignment (order_id, dealer_id, grid_id, distance_m, score, detail)
SELECT o.order_id, d.dealer_id, o.grid_id, 1000, 0.5, jsonb_build_object('note', 'dump test')
  FROM o2o.orders o
  CROSS JOIN LATERAL (SELECT dealer_id FROM o2o.dealer ORDER BY location <-> o.location LIMIT 1) d
 WHERE o.order_id <= 50;
UPDATE o2o.orders SET status = 'assigned' WHERE order_id <= 50;
INSERT INTO o2o.order_event (order_id, event, status) SELECT order_id, 'assigned', 'assigned' FROM o2o.assignment;
SQL

# one line per table: row count and a checksum of the rows; one per sequence.
# An order event's xid is the transaction that wrote it, in this cluster: the
# restore stamps its own (an id from another cluster would mean nothing here).
fingerprint() {
	psql -X -q -At -d "$1" <<'SQL'
SELECT format('SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg((to_jsonb(t) - ''xid'')::text, ''|'' ORDER BY (to_jsonb(t) - ''xid'')::text)), ''-'') FROM %s t',
			  c.oid::regclass, c.oid::regclass)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'o2o' AND c.relkind = 'r' ORDER BY 1 \gexec
SELECT format('SELECT %L || '' '' || last_value || '' '' || is_called FROM %s',
			  c.oid::regclass, c.oid::regclass)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'o2o' AND c.relkind = 'S' ORDER BY 1 \gexec
SQL
}

mkdir -p "$TMP"
fingerprint $src >"$TMP/dump.before.txt"
"$PGBIN/pg_dump" -Fc -d $src -f "$TMP/o2o_dump.pgdump"
"$PGBIN/pg_restore" --exit-on-error -d $dst "$TMP/o2o_dump.pgdump"
fingerprint $dst >"$TMP/dump.after.txt"
cat "$TMP/dump.before.txt"
if ! diff -u "$TMP/dump.before.txt" "$TMP/dump.after.txt"; then
	echo "the restored database differs from the dumped one" >&2
	exit 1
fi
# the restored sequences go on where they were
psql -X -q -At -d $dst -v ON_ERROR_STOP=1 -c \
	"INSERT INTO o2o.orders (sku, location) SELECT sku, location FROM o2o.orders ORDER BY order_id LIMIT 1 RETURNING order_id" \
	| grep -qx "$(( $(psql -X -At -d $src -c 'SELECT max(order_id) FROM o2o.orders') + 1 ))" \
	|| { echo "orders_order_id_seq was not restored" >&2; exit 1; }
# the restored timeline is numbered as before, and o2o_events returns all of it
psql -X -q -At -d $dst -v ON_ERROR_STOP=1 -c \
	"SELECT (SELECT count(*) FROM o2o_events(NULL)) = (SELECT count(*) FROM o2o.order_event)
	        AND (SELECT count(*) FROM o2o.order_event) > 0" | grep -qx t \
	|| { echo "o2o_events does not return the restored events" >&2; exit 1; }
echo "dump/restore kept every row of $(wc -l <"$TMP/dump.before.txt") tables and sequences"
for db in $src $dst; do psql -X -q -d postgres -c "DROP DATABASE $db"; done
rm -f "$TMP/o2o_dump.pgdump"
