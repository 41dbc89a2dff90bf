#!/usr/bin/python3
"""Validate a PGXN META.json against the PGXN Meta Spec 1.0 and the project.

    pgxn_meta.py [--root DIR] META.json

The schema below is written from the text of the PGXN Meta Spec 1.0.x
(https://pgxn.org/spec/): the required keys, the Term, Tag, Version and
Version Range types, the License Strings, the prereq phases and relationships,
the provides entries, resources and no_index, and custom keys only as x_/X_.
Then the distribution must agree with the extension in DIR (by default the
directory of META.json): its version is every control file's default_version
and that of its provides entry, provides names exactly the extensions of the
*.control files, each abstract is the control file's comment, the runtime
prereqs name PostgreSQL and every extension the control files require, and
every file named exists.  Prints each problem and exits 1 if there is any.
"""
import glob
import json
import os
import re
import sys

import jsonschema

SEMVER = (r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
          r"(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
          r"(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?")
RANGE_ITEM = r"(((==|!=|<=|>=|<|>)\s*)?" + SEMVER + r"|0)"
CONTROL = r"\x00-\x1f\x7f"
LICENSE_STRINGS = [
    "agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd",
    "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit",
    "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay",
    "sun", "zlib", "open_source", "restricted", "unrestricted", "unknown",
]
CUSTOM = {"^[xX]_": {}}


def strict_map(properties, required=(), any_of=None, **extra):
    """A Map whose only keys are the given ones and custom (x_) keys."""
    schema = {"type": "object", "properties": properties, "patternProperties": CUSTOM,
              "additionalProperties": False, **extra}
    if required:
        schema["required"] = list(required)
    if any_of:
        schema["anyOf"] = [{"required": [k]} for k in any_of]
    return schema


def one_or_list(item):
    """Consumers take a String where a List is expected as a List of one."""
    return {"oneOf": [item, {"type": "array", "items": item, "minItems": 1, "uniqueItems": True}]}


D = "#/$defs/"
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        "string": {"type": "string", "minLength": 1},
        "term": {"type": "string", "pattern": "^[^/\\\\\\s" + CONTROL + "]{2,}$"},
        "tag": {"type": "string", "pattern": "^[^/\\\\" + CONTROL + "]{1,255}$"},
        "version": {"type": "string", "pattern": "^" + SEMVER + "$"},
        "range": {"oneOf": [{"const": 0},
                            {"type": "string", "pattern": "^" + RANGE_ITEM + r"(,\s*" + RANGE_ITEM + ")*$"}]},
        "uri": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$"},
        "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$"},
        # a relative path with unix conventions, inside the distribution
        "path": {"type": "string", "pattern": r"^(?!/)(?!.*\\)(?!(.*/)?\.\.(/|$)).+$"},
        "relation": {"type": "object", "minProperties": 1, "propertyNames": {"$ref": D + "term"},
                     "additionalProperties": {"$ref": D + "range"}},
        "phase": strict_map({r: {"$ref": D + "relation"} for r in ("requires", "recommends", "suggests", "conflicts")},
                            any_of=("requires", "recommends", "suggests", "conflicts")),
        "extension": strict_map({"file": {"$ref": D + "path"}, "version": {"$ref": D + "version"},
                                 "abstract": {"$ref": D + "string"}, "docfile": {"$ref": D + "path"}},
                                required=("file", "version")),
    },
    **strict_map({
        "name": {"$ref": D + "term"},
        "version": {"$ref": D + "version"},
        "abstract": {"$ref": D + "string"},
        "description": {"$ref": D + "string"},
        "generated_by": {"$ref": D + "string"},
        "maintainer": one_or_list({"$ref": D + "string"}),
        "license": {"oneOf": [
            one_or_list({"enum": LICENSE_STRINGS}),
            {"type": "object", "minProperties": 1, "additionalProperties": {"$ref": D + "uri"}},
        ]},
        "provides": {"type": "object", "minProperties": 1, "propertyNames": {"$ref": D + "term"},
                     "additionalProperties": {"$ref": D + "extension"}},
        "meta-spec": strict_map({"version": {"type": "string", "pattern": r"^1\.0\.\d+$"},
                                 "url": {"$ref": D + "uri"}}, required=("version",)),
        "tags": {"type": "array", "items": {"$ref": D + "tag"}},
        "no_index": strict_map({"file": one_or_list({"$ref": D + "path"}),
                                "directory": one_or_list({"$ref": D + "path"})}),
        "prereqs": strict_map({p: {"$ref": D + "phase"}
                               for p in ("configure", "build", "test", "runtime", "develop")}),
        "release_status": {"enum": ["stable", "testing", "unstable"]},
        "resources": strict_map({
            "homepage": {"$ref": D + "uri"},
            "bugtracker": strict_map({"web": {"$ref": D + "uri"}, "mailto": {"$ref": D + "email"}},
                                     any_of=("web", "mailto")),
            "repository": strict_map({"url": {"$ref": D + "uri"}, "web": {"$ref": D + "uri"},
                                      "type": {"type": "string", "pattern": "^[a-z]+$"}},
                                     any_of=("url", "web")),
        }),
    }, required=("name", "version", "abstract", "maintainer", "license", "provides", "meta-spec")),
}


def control_files(root):
    """{extension: {key: value}} of the *.control files in root."""
    found = {}
    for path in sorted(glob.glob(os.path.join(root, "*.control"))):
        values = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^\s*(\w+)\s*=\s*'((?:[^']|'')*)'", line)
                if m:
                    values[m.group(1)] = m.group(2).replace("''", "'")
        found[os.path.basename(path)[:-len(".control")]] = values
    return found


def problems(meta, root):
    out = []
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for e in sorted(validator.iter_errors(meta), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(map(str, e.absolute_path)) or "(top)"
        out.append(f"spec: {where}: {e.message}")
    if out:
        return out      # the checks below assume the shape the spec gives

    controls = control_files(root)
    if set(meta["provides"]) != set(controls):
        out.append(f"provides names {sorted(meta['provides'])}, the control files "
                   f"{sorted(controls)}")
    for ext, values in controls.items():
        default = values.get("default_version")
        if meta["version"] != default:
            out.append(f"version {meta['version']} is not {ext}.control's default_version {default}")
        entry = meta["provides"].get(ext)
        if entry is None:
            continue
        if entry["version"] != default:
            out.append(f"provides.{ext}.version {entry['version']} is not {ext}.control's default_version {default}")
        if entry.get("abstract") != values.get("comment"):
            out.append(f"provides.{ext}.abstract is not {ext}.control's comment")
        runtime = meta.get("prereqs", {}).get("runtime", {}).get("requires", {})
        for req in ["PostgreSQL"] + [r.strip() for r in values.get("requires", "").split(",") if r.strip()]:
            if req not in runtime:
                out.append(f"prereqs.runtime.requires lacks {req} ({ext}.control requires it)")
    named = [("provides." + e + "." + k, v[k]) for e, v in meta["provides"].items()
             for k in ("file", "docfile") if k in v]
    for key in ("file", "directory"):
        value = meta.get("no_index", {}).get(key, [])
        named += [("no_index." + key, p) for p in ([value] if isinstance(value, str) else value)]
    for key, path in named:
        if not os.path.exists(os.path.join(root, path)):
            out.append(f"{key}: {path} does not exist in {root}")
    return out


def main(argv):
    root = None
    if len(argv) >= 2 and argv[0] == "--root":
        root, argv = argv[1], argv[2:]
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    path = argv[0]
    root = root or os.path.dirname(os.path.abspath(path))
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{path}: not readable JSON: {e}")
        return 1
    found = problems(meta, root)
    for p in found:
        print(f"{path}: {p}")
    if found:
        return 1
    print(f"{path}: valid PGXN Meta Spec {meta['meta-spec']['version']}, "
          f"{meta['name']} {meta['version']} provides {', '.join(sorted(meta['provides']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
