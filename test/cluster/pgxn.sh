#!/usr/bin/env bash
# PGXN: META.json validates (test/cluster/pgxn_meta.py: the PGXN Meta Spec
# 1.0, version = the control file's default_version = provides' version,
# provides = the extensions of the control files, the files it names exist),
# and a broken copy of each kind is rejected; make dist gives
# o2o_route-<version>.zip with the top directory o2o_route-<version>/ holding
# META.json and the sources, and what it holds builds with PGXS.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

bash scripts/deps.sh python3-jsonschema unzip
WORK=$TMP/pgxn
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
version=$(control_version)
validate() { /usr/bin/python3 test/cluster/pgxn_meta.py "$@"; }

fail=0

validate META.json || { echo "FAILED: META.json is not valid"; fail=1; }

# broken copies: each must be rejected, for the reason given
broken() {	# broken WHAT 'PYTHON CHANGING m' 'PART OF THE REASON'
	local copy=$WORK/META.json out
	/usr/bin/python3 -c "import json, sys
m = json.load(open('META.json'))
$2
json.dump(m, open('$copy', 'w'))"
	if out=$(validate --root "$ROOT" "$copy" 2>&1); then
		check "rejected: $1" rejected "accepted"
	elif grep -qF -- "$3" <<<"$out"; then
		check "rejected: $1" rejected rejected
	else
		check "rejected: $1, saying [$3]" "$3" "$out"
	fi
}
broken "a version that is not semver" 'm["version"] = "0.10"' "version: '0.10' does not match"
broken "a version other than the control file's" \
	'm["version"] = m["provides"]["o2o_route"]["version"] = "0.11.0"' \
	"version 0.11.0 is not o2o_route.control's default_version $version"
broken "provides of another version" 'm["provides"]["o2o_route"]["version"] = "0.9.0"' \
	"provides.o2o_route.version 0.9.0 is not o2o_route.control's default_version $version"
broken "no maintainer" 'del m["maintainer"]' "'maintainer' is a required property"
broken "no meta-spec" 'del m["meta-spec"]' "'meta-spec' is a required property"
broken "meta-spec 2.0.0" 'm["meta-spec"]["version"] = "2.0.0"' "meta-spec/version: '2.0.0' does not match"
broken "a license that is no License String" 'm["license"] = "PostgreSQL"' "license: 'PostgreSQL' is not valid"
broken "a license map whose value is no URI" 'm["license"] = {"PostgreSQL": "the PostgreSQL one"}' "license: "
broken "a key that is neither in the spec nor x_" 'm["homepage"] = "https://example.org/"' \
	"spec: (top): 'homepage'"
broken "provides naming no extension of the control files" \
	'm["provides"]["o2o_router"] = m["provides"].pop("o2o_route")' "provides names ['o2o_router'], the control files ['o2o_route']"
broken "a provides entry without a file" 'del m["provides"]["o2o_route"]["file"]' "'file' is a required property"
broken "a file that does not exist" 'm["provides"]["o2o_route"]["file"] = "sql/o2o_route.sql"' \
	"provides.o2o_route.file: sql/o2o_route.sql does not exist"
broken "an absolute path" 'm["provides"]["o2o_route"]["docfile"] = "/README.md"' "docfile: '/README.md' does not match"
broken "an abstract other than the control file's comment" 'm["provides"]["o2o_route"]["abstract"] = "routes"' \
	"provides.o2o_route.abstract is not o2o_route.control's comment"
broken "a prereq phase that does not exist" 'm["prereqs"]["install"] = m["prereqs"]["runtime"]' \
	"spec: prereqs: 'install'"
broken "a prereq relationship that does not exist" 'm["prereqs"]["runtime"]["needs"] = {"plpgsql": 0}' \
	"spec: prereqs/runtime: 'needs'"
broken "a version range that is none" 'm["prereqs"]["runtime"]["requires"]["postgis"] = "3.x"' \
	"prereqs/runtime/requires/postgis: '3.x' is not valid"
broken "runtime prereqs without an extension the control file requires" \
	'del m["prereqs"]["runtime"]["requires"]["btree_gist"]' "prereqs.runtime.requires lacks btree_gist"
broken "a tag with a slash" 'm["tags"].append("a/b")' "tags/"
broken "a release_status that does not exist" 'm["release_status"] = "beta"' "release_status: 'beta' is not one of"
broken "a name with a space" 'm["name"] = "o2o route"' "name: 'o2o route' does not match"

# make dist: the zip of the last commit
if ! bash scripts/dist.sh >"$WORK/dist.log" 2>&1; then
	cat "$WORK/dist.log"
	echo "FAILED: make dist"
	exit 1
fi
zip=$(tail -1 "$WORK/dist.log")
name=$(/usr/bin/python3 -c 'import json; print(json.load(open("META.json"))["name"])')
check "the zip's name" "$name-$version.zip" "$(basename "$zip")"
unzip -Z1 "$zip" >"$WORK/zip.list"
check "every entry is under $name-$version/" 0 "$(grep -vc "^$name-$version/" "$WORK/zip.list" || true)"
for f in META.json o2o_route.control Makefile LICENSE README.md sql/src/00-schema.sql sql/o2o_route--0.1.0.sql \
	src/o2o_route.c test/sql/init.sql debian/control; do
	check "the zip holds $f" 1 "$(grep -cx "$name-$version/$f" "$WORK/zip.list" || true)"
done
check "the zip leaves out .ci/ and .gitignore" 0 "$(grep -cE "^$name-$version/(\.ci/|\.gitignore$)" "$WORK/zip.list" || true)"
check "the zip holds the files of the last commit, less the export-ignore ones" \
	"$(git ls-tree -r --name-only HEAD | grep -vE '^(\.ci/|\.gitattributes$|\.gitignore$|debian/\.gitignore$)' | sort | md5sum)" \
	"$(grep -v '/$' "$WORK/zip.list" | sed "s|^$name-$version/||" | sort | md5sum)"

# a last commit whose META.json is not valid gives no zip (in a clone of this one)
git clone -q "$ROOT" "$WORK/clone"
/usr/bin/python3 -c "import json
m = json.load(open('$WORK/clone/META.json'))
m['provides']['o2o_route']['version'] = '0.0.1'
json.dump(m, open('$WORK/clone/META.json', 'w'))"
git -C "$WORK/clone" -c user.name=pgxn.sh -c user.email=pgxn.sh@localhost commit -q -a -m "a broken META.json"
if out=$(O2O_TMP=$WORK/clone-tmp bash "$WORK/clone/scripts/dist.sh" 2>&1); then
	check "make dist refuses a commit whose META.json is not valid" refused "accepted: $out"
else
	check "make dist refuses a commit whose META.json is not valid, and leaves no zip" "1 0" \
		"$(grep -c "provides.o2o_route.version 0.0.1 is not" <<<"$out") $(ls "$WORK/clone/dist" 2>/dev/null | wc -l)"
fi

# what it holds builds with PGXS
unzip -q "$zip" -d "$WORK"
if make -C "$WORK/$name-$version" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >"$WORK/build.log" 2>&1; then
	check "the zip builds with PGXS: the library and the install script of $version" "yes yes" \
		"$([ -f "$WORK/$name-$version/o2o_route.so" ] && echo yes) $([ -f "$WORK/$name-$version/sql/o2o_route--$version.sql" ] && echo yes)"
else
	cat "$WORK/build.log"
	check "the zip builds with PGXS" 0 "make failed"
fi

[ $fail = 0 ] && echo "PGXN: all checks passed"
exit $fail
