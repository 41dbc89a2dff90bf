#!/usr/bin/env bash
# The set-up shared by `make demo` and `make test`: packages, build, install,
# a running throwaway cluster.  Extra arguments go to the build (PG_CFLAGS=...).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bash "$ROOT/scripts/deps.sh"
say "building o2o_route"
make -C "$ROOT" -s "$@"
as_root make -C "$ROOT" -s install "$@" >/dev/null
bash "$ROOT/scripts/cluster.sh" start
