#!/usr/bin/python3
"""The clients of the crash test (test/cluster/crash.sh).

Each client is a thread with its own connection (synchronous_commit = on)
that runs one transaction after another: SELECT crash.step(token, id, op),
then COMMIT.  crash.step runs the op of test/cluster/workload.sql (or a
batch of o2o_assign_pending) and records, in the same transaction, a row
of crash.ack with what the transaction wrote.  Only when COMMIT has
returned is the token acknowledged: appended to the client's file.  After
the crash every acknowledged token must be found in crash.ack, with every
event and ledger entry its transaction wrote.

The clients run until the server goes away (the test stops it with an
immediate shutdown), until STOPFILE exists, or for at most 300 s.  An error
other than a lost connection is a failure: it is printed, and the exit
status is 1.

usage: crash_clients.py CONNINFO OUTDIR CLIENTS PENDING_CLIENTS SEED
  PENDING_CLIENTS of the CLIENTS run batches of o2o_assign_pending(20),
  the others the mixed workload (stress.op weights).
"""
import os
import random
import sys
import threading
import time

import psycopg

conninfo, outdir, n_clients, n_pending, seed = sys.argv[1:6]
n_clients, n_pending, seed = int(n_clients), int(n_pending), int(seed)
stopfile = os.path.join(outdir, "stop")
deadline = time.monotonic() + 300

with psycopg.connect(conninfo) as c:
    ops = c.execute("SELECT what, weight FROM stress.op ORDER BY what").fetchall()
names = [o[0] for o in ops]
weights = [o[1] for o in ops]

lock = threading.Lock()
failures = []
acked = {}


def client(k):
    rnd = random.Random(seed * 1000 + k)
    pending = k < n_pending
    n = 0
    try:
        conn = psycopg.connect(conninfo, options="-c synchronous_commit=on -c client_min_messages=warning")
    except psycopg.OperationalError:
        return
    with open(os.path.join(outdir, "acked.%d" % k), "a") as out:
        while not os.path.exists(stopfile) and time.monotonic() < deadline:
            n += 1
            token = (k + 1) * 1000000000 + seed % 1000 * 1000000 + n
            what = "assign_pending" if pending else rnd.choices(names, weights)[0]
            try:
                conn.execute("SELECT crash.step(%s, %s, %s)", (token, rnd.randint(1, 8000), what))
                conn.commit()
            except psycopg.OperationalError:
                break  # the server went away: this transaction is not acknowledged
            except psycopg.Error as e:
                with lock:
                    failures.append("client %d, %s: %s %s" % (k, what, e.sqlstate, str(e).strip()))
                try:
                    conn.rollback()
                except psycopg.OperationalError:
                    break
                continue
            # acknowledged: COMMIT returned
            out.write("%d\t%s\n" % (token, what))
            out.flush()
            with lock:
                acked[what] = acked.get(what, 0) + 1
    try:
        conn.close()
    except psycopg.Error:
        pass


threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("acknowledged: %d (%s)" % (sum(acked.values()),
                                  ", ".join("%s %d" % (w, acked[w]) for w in sorted(acked))))
for f in failures:
    print("FAILED: " + f)
sys.exit(1 if failures else 0)
