#!/usr/bin/env bash
# make test (scripts/test.sh): set up (packages, a warning-free build, install, throwaway
# cluster), run every suite against the real server, stop the cluster, and
# end with "N passed, N failed".  Exits non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

passed=0
failed=0
failures=()
record() {	# record NAME STATUS
	if [ "$2" = 0 ]; then
		passed=$((passed + 1)); echo "ok      $1"
	else
		failed=$((failed + 1)); failures+=("$1"); echo "FAILED  $1"
	fi
}

bash scripts/deps.sh node || die "could not install the packages the project needs"
mkdir -p "$TMP"

say "build with -Wall -Wextra -Werror"
make -s clean >/dev/null 2>&1
make -s PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter" >"$TMP/build.log" 2>&1
rc=$?; [ $rc = 0 ] || cat "$TMP/build.log"
record "build without warnings" $rc
[ $rc = 0 ] || { echo "$passed passed, $failed failed"; exit 1; }
as_root make -s install >/dev/null || die "make install failed"

trap 'bash "$ROOT/scripts/cluster.sh" stop' EXIT
bash scripts/cluster.sh start || die "the test cluster did not start"
cluster_env

# pg_regress and the isolation tests run as two steps, so that a failure in
# one does not keep the other from running
for suite in regress isolation; do
	say "$suite tests (make installcheck)"
	if [ $suite = regress ]; then
		args=(ISOLATION=)
		diffs=regression.diffs
	else
		args=(REGRESS=)
		diffs=output_iso/regression.diffs
	fi
	rm -f "$diffs"
	make -s installcheck "${args[@]}" >"$TMP/$suite.log" 2>&1
	rc=$?
	cat "$TMP/$suite.log"
	while read -r name; do record "$suite/$name" 0; done \
		< <(sed -n 's/^\(test \)\?[ ]*\([a-z_0-9]*\)[ ]*\.\.\. ok.*/\2/p' "$TMP/$suite.log")
	while read -r name; do record "$suite/$name" 1; done \
		< <(sed -n 's/^\(test \)\?[ ]*\([a-z_0-9]*\)[ ]*\.\.\. FAILED.*/\2/p' "$TMP/$suite.log")
	if [ $rc != 0 ]; then
		grep -q '\.\.\. FAILED' "$TMP/$suite.log" || record "$suite (make installcheck)" $rc
		[ -f "$diffs" ] && { echo "---- $diffs"; cat "$diffs"; }
	fi
done

# every regression test stands alone: two of them, each in a database of its own
for name in model pricing; do
	say "regress/$name alone (make installcheck REGRESS=$name)"
	make -s installcheck REGRESS=$name ISOLATION= >"$TMP/alone_$name.log" 2>&1
	rc=$?
	[ $rc = 0 ] || { cat "$TMP/alone_$name.log"; [ -f regression.diffs ] && cat regression.diffs; }
	record "regress/$name alone" $rc
done

# without shared_preload_libraries the caches are each backend's own: the
# tests that exercise them run once more on the server restarted that way
say "without o2o_route preloaded: own caches (restart, make installcheck, restart)"
if O2O_PRELOAD=0 bash scripts/cluster.sh start >"$TMP/nopreload.log" 2>&1; then
	cluster_env
	rm -f regression.diffs output_iso/regression.diffs
	make -s installcheck REGRESS="version grid caches assign" ISOLATION="grid_invalidation dealer_cache" \
		>>"$TMP/nopreload.log" 2>&1
	rc=$?
else
	rc=1
fi
[ $rc = 0 ] || { cat "$TMP/nopreload.log"; cat regression.diffs output_iso/regression.diffs 2>/dev/null; }
record "own caches without preloading" $rc
bash scripts/cluster.sh start >/dev/null || die "the test cluster did not restart"
cluster_env

say "the README's reference against the catalog and the SQLSTATE list"
bash test/cluster/reference.sh; record "README reference" $?

say "upgrade path"
bash test/cluster/upgrade.sh; record "upgrade path" $?

say "pg_dump / pg_restore round trip"
bash test/cluster/dump_restore.sh; record "dump and restore" $?

say "a hot standby: the read-only functions there, a change replayed"
bash test/cluster/standby.sh; record "hot standby" $?

say "soak: 32 clients for 60 s, the mixed workload; then the invariants (make soak: 64 clients, 10 minutes)"
bash test/cluster/soak.sh; record "soak and invariants" $?

say "crash: immediate shutdowns mid-load (a full stock sync, an o2o_assign_pending burst); nothing acknowledged lost"
bash test/cluster/crash.sh; record "crash test: no acknowledged transaction lost, invariants hold" $?

say "events: a 16-client burst, every event once, in order, one NOTIFY per transaction"
bash test/cluster/events.sh; record "events: exactly once, in order, one NOTIFY per transaction" $?

say "coverage map: make map on a small world, each grid's value, class and hole against SQL"
bash test/cluster/map.sh; record "coverage map (make map)" $?

say "examples: Python (psycopg) places and routes, retrying 40001 and 40P01; Node (pg) promises a cart"
bash test/cluster/examples.sh; record "examples: output as expected and as the README shows" $?

say "fuzz: a short run of randomized calls of every C entry point against PostGIS and SQL"
bash test/fuzz/fuzz.sh --short; record "fuzz (short run)" $?

say "PGXN: META.json against the spec and the control file, broken copies rejected; make dist's zip builds"
bash test/cluster/pgxn.sh; record "PGXN: META.json and make dist" $?

say "the Debian package (make deb): built, unpacked into a clean copy of PostgreSQL, CREATE EXTENSION from it"
bash test/cluster/package.sh; record "Debian package: installed and used" $?

bash scripts/cluster.sh stop
trap - EXIT
echo
[ $failed = 0 ] || printf 'failed: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
