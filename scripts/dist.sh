#!/usr/bin/env bash
# make dist (scripts/dist.sh): the PGXN source distribution,
# dist/<name>-<version>.zip with the top directory <name>-<version>/, made by
# git archive of the LAST COMMIT (HEAD): changes not committed are not in it.
# Files marked export-ignore in .gitattributes are left out.  Its META.json
# must validate (test/cluster/pgxn_meta.py: the PGXN Meta Spec, and the
# version of the control file); otherwise no zip is left.  The last line
# printed is the zip's path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

bash scripts/deps.sh python3-jsonschema unzip git
git_trust_root
git rev-parse --verify -q HEAD >/dev/null || die "make dist archives the last commit: $ROOT is not a git clone with a commit"
git cat-file -e HEAD:META.json 2>/dev/null || die "the last commit has no META.json"
read -r name version < <(git show HEAD:META.json | /usr/bin/python3 -c 'import json, sys; m = json.load(sys.stdin); print(m["name"], m["version"])')
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	echo "note: the work tree has changes that are not committed; $name-$version.zip is of the last commit, without them" >&2
fi

mkdir -p dist
zip=dist/$name-$version.zip
rm -f "$zip"
git archive --format=zip --prefix="$name-$version/" -o "$zip" HEAD

# the zip's own META.json, checked against the zip's own files
check=$TMP/dist
rm -rf "$check"
mkdir -p "$check"
unzip -q "$zip" -d "$check"
if ! /usr/bin/python3 test/cluster/pgxn_meta.py --root "$check/$name-$version" "$check/$name-$version/META.json"; then
	rm -f "$zip"
	die "the last commit's META.json is not valid: no zip made"
fi
rm -rf "$check"
echo "$ROOT/$zip"
