#!/usr/bin/env bash
# make valgrind (scripts/valgrind.sh): the pg_regress suite (the Makefile's
# REGRESS list) against a PostgreSQL server run under valgrind's memcheck,
# with PostgreSQL's own suppressions, on a cluster started for it; then the
# valgrind logs are read and every error is reported as o2o_route's (a frame in
# its sources or its library) or not.  Exits non-zero when a test fails or an
# error is o2o_route's.  See doc/testing.md#valgrind.
#
# The server is PostgreSQL 15 built from Debian's source package (the
# upstream tarball, none of Debian's patches) with -DUSE_VALGRIND, so that
# palloc'd memory is tracked chunk by chunk, into a private prefix under
# $TMP/valgrind, once; later runs reuse it.  PostGIS is Debian's, linked into
# that prefix; btree_gist is built from the same source.  o2o_route is built
# from a copy of this clone with that server's pg_config and installed there
# only: nothing is installed into the system's PostgreSQL.
#
#   VALGRIND_REGRESS="grid assign"   run these tests only (default: all of REGRESS)
#   VALGRIND_KEEP=1                  leave the server running afterwards
set -euo pipefail
. "$(dirname "$0")/lib.sh"

V=$TMP/valgrind
PREFIX=$V/pg
DATA=$V/data
SOCK=$V/sock
LOGS=$V/logs
BUILD=$V/build
SUPP=$PREFIX/valgrind.supp
# the server's build; a change here rebuilds it
CONFIGURE=(--enable-debug --with-icu --with-libxml --with-openssl --without-readline
	--with-system-tzdata=/usr/share/zoneinfo
	CPPFLAGS=-DUSE_VALGRIND "CFLAGS=-O1 -ggdb -fno-omit-frame-pointer")
BUILD_ID="1 ${CONFIGURE[*]}"

# valgrind, apt-get source's dpkg-dev, and the server's build dependencies
# (the upstream tarball carries the generated parser files: no bison or flex)
bash "$ROOT/scripts/deps.sh" valgrind bzip2 dpkg-dev pkg-config libicu-dev libxml2-dev libssl-dev zlib1g-dev \
	|| die "could not install the packages make valgrind needs"
mkdir -p "$V"
chmod 0755 "$TMP" "$V"

# apt, with this project's own lists of Debian's source packages (deb-src),
# kept under $V: the system's sources and lists are left as they are
apt_src() {	# apt_src apt-get|apt-cache ARGS
	"$1" -o Dir::Etc::SourceList="$V/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$V/apt/lists" -o Dir::Cache="$V/apt/cache" \
		-o APT::Sandbox::User=root "${@:2}"
}

# Debian's source package of the installed major version: the installed
# version if the archive still has it, else the newest one it has.  Prints
# the directory of the unpacked upstream source.
fetch_source() {
	local codename keyring=/usr/share/keyrings/debian-archive-keyring.gpg v got="" upstream
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	mkdir -p "$V/apt/lists/partial" "$V/apt/cache/archives/partial" "$V/src"
	cat >"$V/apt/sources.list" <<LIST
deb-src [signed-by=$keyring] http://deb.debian.org/debian $codename main
deb-src [signed-by=$keyring] http://deb.debian.org/debian $codename-updates main
deb-src [signed-by=$keyring] http://deb.debian.org/debian-security $codename-security main
LIST
	apt_src apt-get -qq update >&2 || die "apt-get update of the deb-src lists failed"
	for v in $( (dpkg-query -W -f='${Version}\n' postgresql-15
		apt_src apt-cache showsrc postgresql-15 2>/dev/null | sed -n 's/^Version: //p' | sort -rV) | awk '!seen[$0]++'); do
		if (cd "$V/src" && apt_src apt-get -qq source --download-only "postgresql-15=$v" >&2); then
			got=$v
			break
		fi
		echo "(postgresql-15 $v: not downloadable, trying an older one)" >&2
	done
	[ -n "$got" ] || die "could not download Debian's source package postgresql-15"
	upstream=${got%%-*}
	# a tree built by this build before is kept (an install that failed)
	if [ "$(cat "$V/src/postgresql-$upstream/.o2o_built" 2>/dev/null)" != "$BUILD_ID" ]; then
		rm -rf "$V/src/postgresql-$upstream"
		tar -xjf "$V/src/postgresql-15_$upstream.orig.tar.bz2" -C "$V/src"
	fi
	echo "$V/src/postgresql-$upstream"
}

# Build and install the server into $PREFIX, unless the one there is of this
# build.  Every directory it installs into must be under $PREFIX.
build_server() {
	local src d
	if [ -x "$PREFIX/bin/postgres" ] && [ "$(cat "$PREFIX/.o2o_build" 2>/dev/null)" = "$BUILD_ID" ]; then
		echo "server: $PREFIX ($("$PREFIX/bin/postgres" --version)), built before"
		return 0
	fi
	say "building PostgreSQL with -DUSE_VALGRIND into $PREFIX (once; a few minutes)"
	src=$(fetch_source)
	rm -rf "$PREFIX"
	if [ "$(cat "$src/.o2o_built" 2>/dev/null)" != "$BUILD_ID" ]; then
		(cd "$src" && ./configure --prefix="$PREFIX" "${CONFIGURE[@]}" >"$V/configure.log" 2>&1) \
			|| { tail -30 "$V/configure.log"; die "configure failed (log: $V/configure.log)"; }
		(cd "$src" && make -s -j"$(nproc)" >"$V/make.log" 2>&1 && make -s -C contrib/btree_gist >>"$V/make.log" 2>&1) \
			|| { tail -30 "$V/make.log"; die "the server's build failed (log: $V/make.log)"; }
		echo "$BUILD_ID" >"$src/.o2o_built"
	fi
	# (Debian's patches would install into /usr/lib/postgresql/15/lib, whatever
	# the prefix: they are not applied, and the build's directories are checked)
	cat >"$V/show-dirs.mk" <<'MK'
o2o-show-dirs:
	@echo $(bindir) $(libdir) $(pkglibdir) $(includedir) $(pkgincludedir) $(includedir_server) \
		$(includedir_internal) $(datadir) $(sysconfdir) $(docdir) $(mandir) $(localedir) $(pgxsdir)
MK
	for d in $(make -s -C "$src/src/port" -f Makefile -f "$V/show-dirs.mk" o2o-show-dirs); do
		case $d in "$PREFIX"/*) ;; *) die "the server would install into $d, outside $PREFIX" ;; esac
	done
	(cd "$src" && make -s install >"$V/install.log" 2>&1 && make -s -C contrib/btree_gist install >>"$V/install.log" 2>&1) \
		|| { tail -30 "$V/install.log"; die "the server's install failed (log: $V/install.log)"; }
	cp "$src/src/tools/valgrind.supp" "$SUPP"
	echo "$BUILD_ID" >"$PREFIX/.o2o_build"
	echo "server: $PREFIX ($("$PREFIX/bin/postgres" --version))"
}

# Debian's PostGIS, built for its own server of the same major version, is
# linked into the private one: its library, and its extension's control and
# scripts.
link_postgis() {
	local pkglib share f
	pkglib=$("$PREFIX/bin/pg_config" --pkglibdir)
	share=$("$PREFIX/bin/pg_config" --sharedir)
	for f in /usr/lib/postgresql/15/lib/postgis*.so; do
		ln -sf "$f" "$pkglib/"
	done
	for f in /usr/share/postgresql/15/extension/postgis*; do
		ln -sf "$f" "$share/extension/"
	done
	[ -e "$pkglib/postgis-3.so" ] || die "Debian's postgis-3.so is missing"
}

# o2o_route from a copy of this clone (its working tree, as it is), built
# warning-free with the private server's pg_config and installed into it.
build_extension() {
	local pgc=$PREFIX/bin/pg_config
	case $("$pgc" --pkglibdir) in "$PREFIX"/*) ;; *) die "pkglibdir of $pgc is outside $PREFIX" ;; esac
	say "building o2o_route with $pgc, installing it into $PREFIX"
	rm -rf "$BUILD"
	mkdir -p "$BUILD"
	(cd "$ROOT" && tar -cf - --exclude=.git --exclude=results --exclude=output_iso --exclude='*.o' \
		--exclude='*.so' --exclude='*.bc' --exclude=regression.diffs --exclude=regression.out .) | tar -xf - -C "$BUILD"
	make -C "$BUILD" -s clean PG_CONFIG="$pgc" >/dev/null 2>&1
	make -C "$BUILD" -s PG_CONFIG="$pgc" PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter" \
		>"$V/build.log" 2>&1 || { cat "$V/build.log"; die "the build of o2o_route failed"; }
	make -C "$BUILD" -s install PG_CONFIG="$pgc" >/dev/null || die "make install into $PREFIX failed"
}

stop_server() {
	if [ -f "$DATA/postmaster.pid" ]; then
		as_pg "$PREFIX/bin/pg_ctl" -D "$DATA" -m fast -w -t 900 stop >/dev/null 2>&1 || true
	fi
	# valgrind writes its last words after the server's exit
	[ -z "${server_job:-}" ] || wait "$server_job" 2>/dev/null || true
	server_job=
}

# A fresh cluster (initdb runs natively), started under valgrind.
start_server() {
	local port=54500
	stop_server
	rm -rf "$DATA" "$LOGS" "$SOCK"
	mkdir -p "$LOGS" "$SOCK"
	mkdir -m 0700 "$DATA"
	[ "$(id -u)" = 0 ] && chown "$PGOS_USER" "$DATA" "$LOGS" "$SOCK"
	as_pg "$PREFIX/bin/initdb" -D "$DATA" -U "$PGOS_USER" -A trust -E UTF8 --locale=C.UTF-8 \
		>"$V/initdb.log" 2>&1 || { cat "$V/initdb.log"; die "initdb failed"; }
	port=$(free_port "$port" "$SOCK")
	# autovacuum off: its workers would be valgrind processes too, on a CPU
	# the suite needs; the tests ANALYZE what they plan on
	as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$SOCK'
max_connections = 20
shared_buffers = '128MB'
fsync = off
full_page_writes = off
synchronous_commit = off
max_locks_per_transaction = 256
shared_preload_libraries = 'o2o_route'
autovacuum = off
lc_messages = 'C'
log_line_prefix = '%m [%p] '
log_min_messages = warning
CONF
	: >"$V/postgres.log"
	[ "$(id -u)" = 0 ] && chown "$PGOS_USER" "$V/postgres.log"
	say "starting the server under valgrind (port $port, logs $LOGS)"
	as_pg valgrind --tool=memcheck --error-exitcode=128 --leak-check=no --gen-suppressions=all \
		--suppressions="$SUPP" --read-var-info=yes --num-callers=30 --trace-children=yes \
		--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END --fullpath-after= \
		--log-file="$LOGS/%p.log" \
		"$PREFIX/bin/postgres" -D "$DATA" >>"$V/postgres.log" 2>&1 &
	server_job=$!
	for _ in $(seq 600); do
		"$PREFIX/bin/pg_isready" -q -h "$SOCK" -p $port -U "$PGOS_USER" && break
		kill -0 "$server_job" 2>/dev/null || { tail -20 "$V/postgres.log"; die "the server did not start"; }
		sleep 1
	done
	"$PREFIX/bin/pg_isready" -q -h "$SOCK" -p $port -U "$PGOS_USER" || die "the server did not start within 10 minutes"
	export PGHOST=$SOCK PGPORT=$port PGUSER=$PGOS_USER
	export PATH="$PREFIX/bin:$PATH"
}

# Every error in the valgrind logs, one block per distinct stack, o2o_route's
# first: an error is o2o_route's when a frame of it is in o2o_route's sources
# (under $BUILD/src) or in its library, with the tests whose processes had
# it.  Writes $V/valgrind-errors.txt and prints "TOTAL OURS" last.
scan_logs() {
	/usr/bin/python3 - "$LOGS" "$BUILD/src/" "$V/valgrind-errors.txt" "$V/pids.map" <<'PY'
import collections, glob, os, re, sys
logs, ours_dir, out, pidmap = sys.argv[1:5]
test_of = dict(l.split() for l in open(pidmap) if len(l.split()) == 2) if os.path.exists(pidmap) else {}
groups = collections.OrderedDict()
g = None
for path in sorted(glob.glob(os.path.join(logs, '*.log'))):
    pid = os.path.basename(path)[:-4]
    block = supp = None
    for line in open(path, errors='replace'):
        line = line.rstrip('\n')
        # the suppression of an error follows it, unprefixed
        if supp is not None:
            supp.append(line)
            if line == '}':
                if 'supp' not in g:
                    g['supp'] = supp
                supp = None
            continue
        if line == '{' and block is None and g is not None:
            supp = [line]
            continue
        line = re.sub(r'^==\d+== ?', '', line)
        if line.startswith('VALGRINDERROR-BEGIN'):
            block = []
        elif line.startswith('VALGRINDERROR-END'):
            frames = [l.strip() for l in block if re.match(r'\s*(at|by) 0x', l)]
            key = (block[0] if block else '?',) + tuple(re.sub(r'0x[0-9A-F]+', '', f) for f in frames[:12])
            g = groups.setdefault(key, {'text': block, 'pids': [], 'ours': False})
            g['pids'].append(pid)
            if any(ours_dir in f or 'o2o_route.so' in f for f in frames):
                g['ours'] = True
            block = None
        elif block is not None:
            block.append(line)
def where(g):
    return ' '.join(sorted(set(test_of.get(p, '(server)') for p in g['pids'])))
total = sum(len(g['pids']) for g in groups.values())
ours = sum(len(g['pids']) for g in groups.values() if g['ours'])
with open(out, 'w') as f:
    for g in sorted(groups.values(), key=lambda g: not g['ours']):
        f.write('### %s: %d time(s), in %s; pid(s) %s\n' % ("o2o_route's" if g['ours'] else 'not o2o_route',
                len(g['pids']), where(g), ' '.join(sorted(set(g['pids']))[:10])))
        f.write('\n'.join(g['text'] + g.get('supp', [])) + '\n\n')
for g in sorted(groups.values(), key=lambda g: not g['ours']):
    frames = [l.strip() for l in g['text'] if re.match(r'\s*(at|by) 0x', l)]
    print('%-14s %dx  %s  [%s]' % ("o2o_route's" if g['ours'] else 'not o2o_route', len(g['pids']),
          g['text'][0] if g['text'] else '?', where(g)))
    mine = [f for f in frames if ours_dir in f or 'o2o_route.so' in f][:1]
    for fr in frames[:4] + (['...'] + mine if mine and mine[0] not in frames[:4] else []):
        # (paths from the source trees' tops)
        print('                   ' + re.sub(r'/\S*/(postgresql-[\d.]+|build)/', '', fr))
print('%d %d' % (total, ours))
PY
}

# Each test is a pg_regress run of its own, in the one database of a single
# run (the first creates it, the others use it as they find it).  A server
# process that ends with a valgrind error exits with 128, and the postmaster
# restarts the cluster as after a crash: each test starts once the processes
# of the one before have exited and the server accepts connections again, so
# that an error fails the test it belongs to and no other.
wait_for_server() {	# wait_for_server PID...
	local pid
	for pid in "$@"; do
		while kill -0 "$pid" 2>/dev/null; do sleep 1; done
	done
	for _ in $(seq 900); do
		"$PREFIX/bin/pg_isready" -q -h "$SOCK" -p "$PGPORT" -U "$PGOS_USER" && return 0
		kill -0 "$server_job" 2>/dev/null || return 1
		sleep 1
	done
	return 1
}

run_tests() {
	local t opts='' rc line pids=() all=0
	: >"$V/regress.log"
	: >"$V/regression.diffs"
	: >"$V/pids.map"
	for t in "${test_list[@]}"; do
		wait_for_server "${pids[@]}" || { echo "the server is gone: stopping before $t" | tee -a "$V/regress.log"; all=1; break; }
		(cd "$LOGS" && LC_ALL=C ls) >"$V/logs.before"
		rm -f "$BUILD/regression.diffs"
		make -C "$BUILD" -s installcheck PG_CONFIG="$PREFIX/bin/pg_config" REGRESS="$t" ISOLATION= \
			EXTRA_REGRESS_OPTS="$opts" >"$V/regress-$t.log" 2>&1
		rc=$?
		mapfile -t pids < <(cd "$LOGS" && LC_ALL=C ls | LC_ALL=C comm -13 "$V/logs.before" - | sed 's/\.log$//')
		[ ${#pids[@]} = 0 ] || printf '%s\n' "${pids[@]/%/ $t}" >>"$V/pids.map"
		line=$(grep -E "^(test )? *$t +\.\.\. " "$V/regress-$t.log" || echo "test $t ... FAILED (pg_regress: see $V/regress-$t.log)")
		echo "$line" | tee -a "$V/regress.log"
		if [ $rc != 0 ]; then
			all=1
			[ -f "$BUILD/regression.diffs" ] && cat "$BUILD/regression.diffs" >>"$V/regression.diffs"
		fi
		opts=--use-existing
	done
	wait_for_server "${pids[@]}" || true
	return $all
}

t0=$(date +%s)
build_server
link_postgis
build_extension
trap 'stop_server' EXIT
start_server

read -ra test_list <<<"${VALGRIND_REGRESS:-$(sed -n 's/^REGRESS *= *//p' "$BUILD/Makefile")}"
say "pg_regress under valgrind: ${#test_list[@]} tests, one pg_regress run each (${test_list[*]})"
t1=$(date +%s)
rc=0
run_tests || rc=$?
t2=$(date +%s)
[ -s "$V/regression.diffs" ] && echo "diffs: $V/regression.diffs"

if [ "${VALGRIND_KEEP:-0}" = 1 ]; then
	trap - EXIT
	echo "server left running: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER; stop it with:"
	echo "  $PREFIX/bin/pg_ctl -D $DATA stop"
	exit "$rc"
fi
stop_server
trap - EXIT

say "valgrind's findings (every error in full, with its suppression: $V/valgrind-errors.txt)"
summary=$(scan_logs)
counts=$(echo "$summary" | tail -1)
echo "$summary" | sed '$d'
total=${counts% *}
ours=${counts#* }
passed=$(grep -c '\.\.\. ok' "$V/regress.log" || true)
failed=$(grep -c '\.\.\. FAILED' "$V/regress.log" || true)
crashes=$(grep -c 'exited with exit code 128\|terminated by signal' "$V/postgres.log" || true)
echo
echo "tests: $passed passed, $failed failed (pg_regress under valgrind $(( (t2 - t1) / 60 )) min; whole run $(( ($(date +%s) - t0) / 60 )) min)"
echo "server processes that ended with a valgrind error (exit code 128) or a signal: $crashes"
echo "valgrind errors: $total, of them o2o_route's: $ours"
[ "$ours" = 0 ] && [ "$rc" = 0 ]
