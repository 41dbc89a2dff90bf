#!/usr/bin/env bash
# make deb (scripts/deb.sh): the Debian package postgresql-15-o2o-route, built
# by dpkg-buildpackage with pg_buildext (debian/rules: dh --with pgxs_loop)
# from a copy of the files git tracks in this work tree (their current
# content; never the build products lying in the tree), in $TMP/deb.  The
# package is checked with lintian (an error fails the build) and copied to
# dist/; the last line printed is its path.
#   scripts/deb.sh                        build it
#   scripts/deb.sh --check-version [DIR]  only check that debian/changelog is
#                                         of o2o_route.control's default_version
#                                         (in DIR, by default this clone)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# what the build needs: Build-Depends of debian/control (debhelper,
# postgresql-server-dev-all), dpkg-buildpackage (dpkg-dev), lintian; git for
# the list of tracked files
DEB_PACKAGES="debhelper dpkg-dev postgresql-server-dev-all lintian git"

# debian/changelog's upstream version must be the control file's
# default_version: a version bump that forgets the changelog is refused.
# Prints the package's full version (0.10.0-1).
check_version() {
	local dir=$1 control changelog upstream
	control=$(control_version "$dir")
	[ -n "$control" ] || die "no default_version in $dir/o2o_route.control"
	changelog=$(sed -n '1s/^[a-z0-9][a-z0-9.+-]* (\([^)]*\)).*/\1/p' "$dir/debian/changelog")
	[ -n "$changelog" ] || die "the first line of $dir/debian/changelog is not 'source (version) ...'"
	upstream=${changelog#*:}
	upstream=${upstream%-*}
	[ "$upstream" = "$control" ] || die "debian/changelog is of version $changelog (upstream $upstream) but o2o_route.control's default_version is $control: add an entry for $control-1 at the top of debian/changelog (by hand, or dch -v $control-1 from devscripts)"
	echo "$changelog"
}

if [ "${1:-}" = --check-version ]; then
	version=$(check_version "${2:-$ROOT}")
	echo "debian/changelog $version matches o2o_route.control"
	exit 0
fi

git_trust_root
version=$(check_version "$ROOT")
upstream=${version%-*}
bash "$ROOT/scripts/deps.sh" $DEB_PACKAGES
git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
	|| die "make deb builds from the files git tracks: $ROOT is not a git work tree (build from a clone, or run dpkg-buildpackage -b -us -uc in an unpacked source tree)"

build=$TMP/deb
src=$build/o2o-route-$upstream
rm -rf "$build"
mkdir -p "$src"
say "copying the tracked files to $src"
(cd "$ROOT" && git ls-files -z | while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"	# skip a tracked file deleted in the work tree
done | tar --null -T - -cf -) | tar -xf - -C "$src"

say "dpkg-buildpackage -b (log: $build/build.log)"
if ! (cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }noddebs" \
		dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$build/build.log" 2>&1; then
	tail -40 "$build/build.log"
	die "dpkg-buildpackage failed (whole log: $build/build.log)"
fi
deb=$(ls "$build"/postgresql-*-o2o-route_"$version"_*.deb)
[ "$(echo "$deb" | wc -l)" = 1 ] || die "expected one package in $build, found: $deb"

say "lintian"
lintian --fail-on error "$deb" || die "lintian found errors in $deb"

mkdir -p "$ROOT/dist"
cp "$deb" "$ROOT/dist/"
echo "$ROOT/dist/$(basename "$deb")"
