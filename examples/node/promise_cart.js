#!/usr/bin/env node
// The delivery promise for a cart, from Node with the pg package (npm).
//
//   node promise_cart.js LON LAT SKU[:QTY]...
//
// Asks o2o_promise_skus, in one parameterised query, what o2o_assign would do
// now for each line of the cart to the point (LON, LAT), and prints per line
// the day (relative to today) and time window promised, the dealer and its
// distance, or why the line cannot be delivered there.  o2o_promise_skus
// reads only and takes no lock beyond a SELECT's: it runs under any role
// that may read o2o's tables, on a hot standby too.
// Connects with the PG* environment variables (PGHOST, PGPORT, PGDATABASE,
// PGUSER, ...), as libpq does.  Exit status 0, 1 on a database error (its
// SQLSTATE and message on stderr: O2003 for an unknown SKU), 2 on bad
// arguments.
'use strict';

const { Pool } = require('pg');

const PROMISE = `
  SELECT p.line, p.sku, p.qty, p.deliverable, p.grid_id, p.same_grid,
         p.promised_date - current_date AS in_days, p.promised_window,
         p.dealer_id, d.name AS dealer, round(p.distance_m)::int AS distance_m, p.reason
    FROM o2o_promise_skus(ST_SetSRID(ST_MakePoint($1, $2), 4326), $3::text[], $4::int[]) p
    LEFT JOIN o2o.dealer d ON d.dealer_id = p.dealer_id
   ORDER BY p.line`;

function usage(msg) {
  console.error(`promise_cart.js: ${msg}\nusage: node promise_cart.js LON LAT SKU[:QTY]...`);
  process.exit(2);
}

function parseArgs(argv) {
  if (argv.length < 3) usage('a point and at least one SKU are needed');
  const [lon, lat] = argv.slice(0, 2).map(Number);
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) usage('LON and LAT must be numbers (degrees)');
  const skus = [];
  const qtys = [];
  for (const item of argv.slice(2)) {
    const m = /^([^:]+)(?::([0-9]+))?$/.exec(item);
    if (!m || (m[2] !== undefined && Number(m[2]) < 1)) usage(`bad cart line "${item}": SKU or SKU:QTY, QTY 1 or more`);
    skus.push(m[1]);
    qtys.push(m[2] === undefined ? 1 : Number(m[2]));
  }
  return { lon, lat, skus, qtys };
}

function describe(r) {
  const head = `  ${r.line}  ${r.sku} x${r.qty}  `;
  if (!r.deliverable) return `${head}not deliverable: ${r.reason}`;
  const window = r.promised_window === 'day' ? 'all day (delivery)' : r.promised_window;
  const from = r.same_grid ? 'same grid' : 'a neighbouring grid';
  return `${head}day +${r.in_days}, ${window}; dealer ${r.dealer_id} (${r.dealer}, ${from}), ${r.distance_m} m`;
}

async function main() {
  const { lon, lat, skus, qtys } = parseArgs(process.argv.slice(2));
  // a server would keep one Pool for its lifetime; this script ends it
  const pool = new Pool({ max: 1 });
  try {
    const { rows } = await pool.query(PROMISE, [lon, lat, skus, qtys]);
    const grid = rows[0].grid_id === null ? 'outside every grid' : `grid ${rows[0].grid_id}`;
    console.log(`cart of ${rows.length} line${rows.length === 1 ? '' : 's'} to (${lon}, ${lat}), ${grid}:`);
    for (const r of rows) console.log(describe(r));
  } finally {
    await pool.end();
  }
}

main().catch((e) => {
  // a database error carries its SQLSTATE (e.code) and detail
  if (e.code) {
    console.error(`error ${e.code}: ${e.message}`);
    if (e.detail) console.error(`  detail: ${e.detail}`);
  } else {
    console.error(e.stack || String(e));
  }
  process.exitCode = 1;
});
