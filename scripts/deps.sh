#!/usr/bin/env bash
# Install the Debian packages the project needs, when any is missing.
# Runs every time (cheap when all is there): a fresh machine has none of them.
# Arguments name more packages, needed by one target only (make valgrind,
# make deb); the argument `node` asks for Node.js and npm (make test's examples).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# python3 and python3-psycopg (psycopg 3): examples/o2o_consumer.py and
# test/cluster/events.sh, run with /usr/bin/python3 (not whatever python3
# comes first on PATH, which may lack psycopg)
# librsvg2-bin (rsvg-convert) and pngquant: make map's PNG, drawn at the end of
# make demo; libxml2-utils (xmllint): its test checks the SVG
PACKAGES="make gcc libc6-dev util-linux postgresql-15 postgresql-client-15
	postgresql-server-dev-15 postgresql-15-postgis-3 libgeos-dev python3 python3-psycopg
	librsvg2-bin pngquant libxml2-utils"
want_node=0
for a in "$@"; do
	if [ "$a" = node ]; then want_node=1; else PACKAGES="$PACKAGES $a"; fi
done

missing=()
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm: examples/node (test/cluster/examples.sh), for make test only
# (Debian's npm brings some 300 packages that make demo does not need).  From
# Debian only when the commands are missing: a nodejs from elsewhere
# (NodeSource's bundles npm) conflicts with Debian's npm package
if [ $want_node = 1 ]; then
	command -v node >/dev/null 2>&1 || missing+=(nodejs)
	command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

say "installing Debian packages: ${missing[*]}"
# The project runs its own cluster: do not let the package create and start
# a system-wide one on port 5432.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
	as_root mkdir -p /etc/postgresql-common
	echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
