#!/usr/bin/python3
"""Place an order and route it in one transaction, retrying on 40001 and 40P01.

    place_and_route.py --sku SKU --lon LON --lat LAT [--qty N] [--address TEXT]
                       [--dsn DSN] [--isolation LEVEL] [--attempts N]

One transaction: the national price in force now (o2o_national_price), the
order at that price (INSERT ... RETURNING order_id), o2o_assign(order_id),
then what the order got; COMMIT.  The buyer pays the price the transaction
read: the price trigger checks it against the one in force at the order's
created_at (the transaction's start), so a price period that changes meanwhile
cannot slip in between.

The transaction runs at REPEATABLE READ by default: everything it reads -- the
price, the stock and installer slots o2o_assign ranks -- is one snapshot, and
when another transaction changed a row it must then write (another buyer
reserved a unit of the same stock row after the snapshot), PostgreSQL refuses
with 40001 (serialization_failure) instead of acting on what it read.  A
deadlock (40P01, deadlock_detected) can abort a transaction at any level.  In
both cases nothing of the transaction remains, and the whole transaction --
price, order, routing -- is run again with a fresh snapshot, after a jittered
exponential backoff, up to --attempts times.  psycopg 3 has no built-in retry.
Any other error is raised as is, not retried: the documented refusals
(O2003 unknown SKU, O2007 no price in force, ...) would only fail again.  At
READ COMMITTED o2o_assign never fails with 40001 (it waits for the concurrent
change and goes on with the committed row); only 40P01 is retried there.

Prints one line per attempt that was rolled back, then the order: its dealer,
installer, day (relative to today) and time window, or why nobody could serve
it (status unassignable: committed too; o2o_assign retries it when called
again).  Exit status 0 when the transaction committed, 1 on an error.
The role needs what README's Privileges recipe grants an application: SELECT
on o2o's tables, INSERT on o2o.orders, USAGE on its sequence, EXECUTE on
o2o_assign.  Needs psycopg 3: run it with Debian's /usr/bin/python3
(python3-psycopg).
"""
import argparse
import random
import sys
import time

import psycopg
from psycopg import IsolationLevel

# serialization_failure, deadlock_detected: the transaction was rolled back
# as a whole and may succeed when run again
RETRY = {"40001", "40P01"}
BACKOFF_BASE = 0.05  # seconds, doubled at each attempt ...
BACKOFF_CAP = 2.0    # ... up to this

ISOLATION = {"read committed": IsolationLevel.READ_COMMITTED,
             "repeatable read": IsolationLevel.REPEATABLE_READ,
             "serializable": IsolationLevel.SERIALIZABLE}

ORDER = """INSERT INTO o2o.orders (sku, qty, location, address, unit_price)
           VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s)
           RETURNING order_id"""

# what the order got, in the same transaction; days relative to the
# transaction's date, which is the "today" o2o_assign counts from
OUTCOME = """SELECT o.sku, o.qty, o.unit_price, o.grid_id, o.status, o.status_reason,
                    a.dealer_id, d.name, round(a.distance_m)::int, a.installer_id, i.name,
                    o.promised_date - current_date, o.promised_window
               FROM o2o.orders o
               LEFT JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state = 'active'
               LEFT JOIN o2o.dealer d ON d.dealer_id = a.dealer_id
               LEFT JOIN o2o.installer i ON i.installer_id = a.installer_id
              WHERE o.order_id = %s"""


def place_and_route(conn, args, steps):
    """The transaction's statements, once: the order's id and what it got.
    Appends each statement to steps, so that a failure can say where."""
    # NULL when no price is in force: the order's trigger then refuses it (O2007)
    steps.append("o2o_national_price")
    price, = conn.execute("SELECT o2o_national_price(%s)", (args.sku,)).fetchone()
    steps.append("INSERT INTO o2o.orders")
    order_id, = conn.execute(ORDER, (args.sku, args.qty, args.lon, args.lat, args.address,
                                     price)).fetchone()
    steps.append("o2o_assign(%d)" % order_id)
    conn.execute("SELECT o2o_assign(%s)", (order_id,))
    steps.append("reading the order back")
    outcome = conn.execute(OUTCOME, (order_id,)).fetchone()
    steps.append("COMMIT")  # at the end of the transaction block
    return order_id, outcome


def with_retry(conn, args):
    """Run the transaction until it commits, or fails with an error that is
    not worth retrying, or --attempts have failed."""
    for attempt in range(1, args.attempts + 1):
        steps = []
        try:
            # BEGIN ISOLATION LEVEL ... (conn.isolation_level), then COMMIT,
            # or ROLLBACK if the block raises
            with conn.transaction():
                order_id, outcome = place_and_route(conn, args, steps)
            return attempt, order_id, outcome
        except psycopg.Error as e:
            if e.sqlstate not in RETRY or attempt == args.attempts:
                raise
            print("attempt %d: %s failed with %s (%s); rolled back, trying again"
                  % (attempt, steps[-1], e.sqlstate, e.diag.message_primary))
            # full jitter: a random wait up to the exponential bound, so that
            # the transactions that collided do not collide again
            time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="", help="libpq connection string (default: the PG* variables)")
    ap.add_argument("--sku", required=True)
    ap.add_argument("--qty", type=int, default=1)
    ap.add_argument("--lon", type=float, required=True, help="delivery point, degrees")
    ap.add_argument("--lat", type=float, required=True)
    ap.add_argument("--address", default=None)
    ap.add_argument("--isolation", choices=sorted(ISOLATION), default="repeatable read")
    ap.add_argument("--attempts", type=int, default=5, help="at most this many tries (default 5)")
    args = ap.parse_args()
    if args.attempts < 1:
        ap.error("--attempts must be 1 or more")

    try:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.isolation_level = ISOLATION[args.isolation]
            attempt, order_id, outcome = with_retry(conn, args)
    except psycopg.Error as e:
        sys.stdout.flush()
        print("error %s: %s" % (e.sqlstate, e.diag.message_primary or e), file=sys.stderr)
        if e.diag.message_detail:
            print("  detail: %s" % e.diag.message_detail, file=sys.stderr)
        if e.sqlstate in RETRY:
            print("  (gave up after %d attempts)" % args.attempts, file=sys.stderr)
        elif e.sqlstate:
            print("  (not retried: only 40001 and 40P01 are)", file=sys.stderr)
        return 1

    (sku, qty, price, grid, status, reason, dealer, dealer_name, distance, installer,
     installer_name, days, window) = outcome
    print("order %d: %s x%d at %s, %s: %s" % (order_id, sku, qty, price,
                                             "outside every grid" if grid is None else "grid %d" % grid,
                                             status))
    if status == "assigned":
        print("  dealer %d (%s), %d m away" % (dealer, dealer_name, distance))
        if installer is not None:
            print("  installer %d (%s)" % (installer, installer_name))
        print("  day +%d, %s" % (days, window))
    else:
        print("  %s" % reason)
    print("committed at attempt %d (%s)" % (attempt, args.isolation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
