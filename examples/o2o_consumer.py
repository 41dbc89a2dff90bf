#!/usr/bin/python3
"""Consume o2o_route's order events exactly once (see doc/events.md).

    o2o_consumer.py --cursor STATE [--out FILE] [--dsn DSN] [--once] [--from-start]

Prints one JSON line per event, in event_id order within a batch and in seq
order per order.  The cursor is the pg_snapshot of the last batch handled:
o2o_events(cursor, upto) returns the events of the transactions that
committed in between (reading event_id > last would lose events, as ids are
drawn before commit).  With --out, events and cursor are made durable
together: the batch is appended and fsynced, then the cursor file -- the
snapshot plus the length of the output file -- is replaced by a rename.  A
restart after a crash truncates the output to that length and reads the
batch again: no event lost, none written twice.  On stdout a crash between
the two may repeat the last batch (at-least-once).
Needs psycopg 3: run it with Debian's /usr/bin/python3 (python3-psycopg).
"""
import argparse
import json
import os
import select
import signal
import sys

import psycopg

EVENTS = """SELECT event_id, order_id, seq, event, status, detail, at, region_id
              FROM o2o_events(%s::pg_snapshot, %s::pg_snapshot)"""


def load_cursor(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def save_cursor(path, state):
    # write aside, fsync, rename over, fsync the directory: the cursor file
    # is always the old one or the new one, never half of either
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    d = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(d)
    finally:
        os.close(d)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="", help="libpq connection string (default: the PG* variables)")
    ap.add_argument("--cursor", required=True, help="file that keeps the cursor")
    ap.add_argument("--out", help="append events to this file (default: stdout)")
    ap.add_argument("--once", action="store_true", help="read what has committed by now, then exit")
    ap.add_argument("--from-start", action="store_true",
                    help="without a cursor file, start at the first event (default: at now)")
    ap.add_argument("--wait", type=float, default=1.0,
                    help="seconds to wait for a notification before reading anyway")
    args = ap.parse_args()

    # SIGTERM/SIGINT: finish the batch in hand, then leave; the wakeup fd
    # interrupts the wait for a notification at once
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)

    conn = psycopg.connect(args.dsn, autocommit=True)
    notified = []
    conn.add_notify_handler(lambda n: notified.append(1))
    # LISTEN before the first read: a commit after it is either in that
    # read or wakes us up
    conn.execute("LISTEN o2o_events")

    out = open(args.out, "ab") if args.out else sys.stdout.buffer
    state = load_cursor(args.cursor)
    if state is None:
        since = None if args.from_start else conn.execute("SELECT pg_current_snapshot()::text").fetchone()[0]
        state = {"snapshot": since, "out_bytes": out.tell() if args.out else None}
        save_cursor(args.cursor, state)
    elif args.out and state.get("out_bytes") is not None:
        # drop what a crash left after the last cursor: it is read again
        if os.fstat(out.fileno()).st_size > state["out_bytes"]:
            print("o2o_consumer: dropped %d bytes written after the last cursor: read again"
                  % (os.fstat(out.fileno()).st_size - state["out_bytes"]), file=sys.stderr)
        out.truncate(state["out_bytes"])
        out.seek(0, os.SEEK_END)

    while not stop:
        notified.clear()
        upto = conn.execute("SELECT pg_current_snapshot()::text").fetchone()[0]
        with conn.cursor() as cur:
            for (event_id, order_id, seq, event, status, detail, at, region_id) in cur.stream(
                    EVENTS, (state["snapshot"], upto)):
                out.write(json.dumps({"event_id": event_id, "order_id": order_id, "seq": seq,
                                      "event": event, "status": status, "at": at.isoformat(),
                                      "region_id": region_id, "detail": detail},
                                     separators=(",", ":")).encode() + b"\n")
        out.flush()
        if args.out:
            os.fsync(out.fileno())  # the events are on disk before the cursor moves past them
        if upto != state["snapshot"]:
            state = {"snapshot": upto, "out_bytes": out.tell() if args.out else None}
            save_cursor(args.cursor, state)
        if args.once:
            break
        # wait for a commit, a signal, or the timeout (a safety net: a
        # notification is only a hint that there is something to read)
        if not notified and not stop:
            ready, _, _ = select.select([conn.pgconn.socket, wake_r], [], [], args.wait)
            if wake_r in ready:
                os.read(wake_r, 64)
    conn.close()
    if args.out:
        out.close()


if __name__ == "__main__":
    main()
