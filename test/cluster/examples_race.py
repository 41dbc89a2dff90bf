#!/usr/bin/python3
"""Run examples/place_and_route.py against a transaction that makes its first
attempt fail, deterministically (test/cluster/examples.sh).

    examples_race.py 40001|40P01 --role ROLE --sku SKU --dealer ID --lon X --lat Y -- COMMAND...

The test's own transaction (T, on this script's connection: the superuser of
the PG* variables) takes its locks first; COMMAND (the example, connecting as
ROLE, with application_name o2o_example_race) is started, and the script
waits until pg_stat_activity shows it blocked by T inside o2o_assign.  Then:

  40001  T is another buyer's checkout: it placed an order for the same SKU
         to the same point and routed it (o2o_assign reserved a unit of the
         stock row the example's o2o_assign now waits for).  T commits: the
         example, at REPEATABLE READ, finds the row changed since its
         snapshot and fails with 40001.
  40P01  T holds the stock row FOR UPDATE (no change), then asks for the
         product row FOR UPDATE, which the example's INSERT holds FOR KEY
         SHARE (its foreign key check): each waits for the other.  T runs
         with deadlock_timeout 60 s, the example with the server's (1 s), so
         the example's deadlock check finds the cycle first and aborts it
         with 40P01.  T then rolls back, having changed nothing.

No sleep decides anything: each step waits for the state it needs.  Prints
COMMAND's output (stdout and stderr, merged) and exits with its status; a
race that did not go as described exits 3 with a message on stderr.
"""
import argparse
import os
import subprocess
import sys
import time

import psycopg

APP = "o2o_example_race"
TIMEOUT = 60.0


def fail(msg, child=None):
    if child is not None and child.poll() is None:
        child.kill()
        out = child.communicate()[0]
        sys.stderr.write(out.decode(errors="replace"))
    print("examples_race: " + msg, file=sys.stderr)
    sys.exit(3)


def wait_blocked(monitor, t_pid, child):
    """Until the example's backend waits for a lock T holds, inside o2o_assign."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        if child.poll() is not None:
            fail("the example ended before it was blocked by the test's transaction", child)
        row = monitor.execute("""SELECT pid, wait_event_type, query FROM pg_stat_activity
                                  WHERE application_name = %s AND %s = ANY (pg_blocking_pids(pid))""",
                              (APP, t_pid)).fetchone()
        if row is not None:
            if "o2o_assign" not in row[2]:
                fail("the example is blocked in %r, not in o2o_assign" % row[2], child)
            print("examples_race: the example (pid %d) waits for the test's transaction (pid %d): %s, in %s"
                  % (row[0], t_pid, row[1], row[2].strip()), file=sys.stderr)
            return
        time.sleep(0.01)
    fail("the example was not blocked by the test's transaction within %d s" % TIMEOUT, child)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", choices=["40001", "40P01"])
    ap.add_argument("--role", required=True, help="the role the example connects as")
    ap.add_argument("--sku", required=True)
    ap.add_argument("--dealer", type=int, required=True, help="the dealer whose stock row is raced for")
    ap.add_argument("--lon", type=float, required=True)
    ap.add_argument("--lat", type=float, required=True)
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()

    monitor = psycopg.connect(autocommit=True)
    t = psycopg.connect(autocommit=True)
    t_pid = t.info.backend_pid
    if args.scenario == "40P01":
        t.execute("SET deadlock_timeout = '60s'")
    t.execute("BEGIN")
    if args.scenario == "40001":
        order_id, = t.execute("""INSERT INTO o2o.orders (sku, location, address)
                                 VALUES (%s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'another buyer')
                                 RETURNING order_id""", (args.sku, args.lon, args.lat)).fetchone()
        dealer, = t.execute("SELECT o2o_assign(%s)", (order_id,)).fetchone()
        if dealer != args.dealer:
            fail("the test's order %d went to dealer %s, not %d" % (order_id, dealer, args.dealer))
        print("examples_race: the test's transaction routed order %d to dealer %d, not committed yet"
              % (order_id, dealer), file=sys.stderr)
    else:
        if t.execute("SELECT 1 FROM o2o.stock WHERE dealer_id = %s AND sku = %s FOR UPDATE",
                     (args.dealer, args.sku)).fetchone() is None:
            fail("no stock row (%d, %s)" % (args.dealer, args.sku))
        print("examples_race: the test's transaction holds stock row (%d, %s) FOR UPDATE"
              % (args.dealer, args.sku), file=sys.stderr)

    env = dict(os.environ, PGUSER=args.role, PGAPPNAME=APP)
    child = subprocess.Popen(args.command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_blocked(monitor, t_pid, child)

    if args.scenario == "40001":
        t.execute("COMMIT")
        print("examples_race: committed", file=sys.stderr)
    else:
        try:
            t.execute("SELECT 1 FROM o2o.product WHERE sku = %s FOR UPDATE", (args.sku,))
        except psycopg.errors.DeadlockDetected:
            fail("the test's transaction, not the example, was aborted by the deadlock check "
                 "(did the example wait longer than its deadlock_timeout before the cycle closed?)", child)
        print("examples_race: the test's transaction got the product row (the example was aborted); rolling back",
              file=sys.stderr)
        t.execute("ROLLBACK")

    try:
        out = child.communicate(timeout=TIMEOUT)[0]
    except subprocess.TimeoutExpired:
        fail("the example did not end within %d s" % TIMEOUT, child)
    sys.stdout.buffer.write(out)
    t.close()
    monitor.close()
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
