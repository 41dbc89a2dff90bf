#!/usr/bin/env bash
# make test: set up (packages, a warning-free build, install, throwaway
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

bash test/deps.sh || die "could not install the packages the project needs"
mkdir -p "$TMP"

say "build with -Wall -Wextra -Werror"
make -s clean >/dev/null 2>&1
make -s PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter" >"$TMP/build.log" 2>&1
rc=$?; [ $rc = 0 ] || cat "$TMP/build.log"
record "build without warnings" $rc
[ $rc = 0 ] || { echo "$passed passed, $failed failed"; exit 1; }
as_root make -s install >/dev/null || die "make install failed"

trap 'bash "$ROOT/test/cluster.sh" stop' EXIT
bash test/cluster.sh start || die "the test cluster did not start"
cluster_env

say "pg_regress and isolation tests (make installcheck)"
rm -f regression.diffs output_iso/regression.diffs
make -s installcheck >"$TMP/installcheck.log" 2>&1
rc=$?
cat "$TMP/installcheck.log"
while read -r name; do record "regress/$name" 0; done \
	< <(sed -n 's/^\(test \)\?[ ]*\([a-z_0-9]*\)[ ]*\.\.\. ok.*/\2/p' "$TMP/installcheck.log")
while read -r name; do record "regress/$name" 1; done \
	< <(sed -n 's/^\(test \)\?[ ]*\([a-z_0-9]*\)[ ]*\.\.\. FAILED.*/\2/p' "$TMP/installcheck.log")
if [ $rc != 0 ]; then
	grep -q '\.\.\. FAILED' "$TMP/installcheck.log" || record "make installcheck" $rc
	for d in regression.diffs output_iso/regression.diffs; do
		[ -f "$d" ] && { echo "---- $d"; cat "$d"; }
	done
fi

say "upgrade path"
bash test/upgrade.sh; record "upgrade path" $?

say "pg_dump / pg_restore round trip"
bash test/dump_restore.sh; record "dump and restore" $?

bash test/cluster.sh stop
trap - EXIT
echo
[ $failed = 0 ] || printf 'failed: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
