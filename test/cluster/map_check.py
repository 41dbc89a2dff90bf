#!/usr/bin/python3
"""Checks one map of make map (scripts/map.sh) against values computed apart.

    map_check.py SVG PNG EXPECTED.csv MEASURE DB SKU CATEGORY

EXPECTED.csv has one row per grid: grid_id, value (units; empty for a
share), n, of (the share's counts), hole (the reason, empty if none).
Checked: the root's attributes; one <path> per grid and no other grid;
each grid's value, counts, hole mark and reason as expected; each grid's
class the last legend class whose lower bound it reaches (units: 0 its own
class, shares: no orders "none"); holes, and only holes, filled with a hatch
pattern; the legend's counts the map's; the PNG a PNG of the SVG's size.
Prints what failed, and exits 1 if anything did.
"""
import csv
import struct
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction

svg_path, png_path, csv_path, measure, db, sku, category = sys.argv[1:8]
NS = '{http://www.w3.org/2000/svg}'
errors = []


def fail(msg):
    if len(errors) < 20:
        print('  ' + msg)
    errors.append(msg)


root = ET.parse(svg_path).getroot()
for attr, want in (('data-db', db), ('data-sku', sku), ('data-category', category), ('data-measure', measure)):
    if root.get(attr) != want:
        fail(f'<svg {attr}="{root.get(attr)}">, expected "{want}"')
title = root.find(NS + 'title').text
for part in (db, sku or category):
    if part not in title:
        fail(f'the title "{title}" does not name {part}')

expected = {}
with open(csv_path) as f:
    for grid_id, value, n, of, hole in csv.reader(f):
        expected[int(grid_id)] = (value, n, of, hole or None)

# the legend: classes with their lower bound and count, holes with theirs
classes, class_count, hole_count = [], {}, {}
for item in root.iter(NS + 'g'):
    if item.get('class') != 'legend-item':
        continue
    count = int(item.get('data-count'))
    if item.get('data-hole'):
        hole_count[item.get('data-hole')] = count
    else:
        cls = item.get('data-class')
        class_count[cls] = count
        if cls != 'none':
            classes.append((Fraction(item.get('data-lo')), cls))
if measure == 'units':
    classes.append((Fraction(0), '0'))
classes.sort()
if len({lo for lo, _ in classes}) != len(classes):
    fail(f'two legend classes start at the same value: {classes}')

paths = [p for p in root.iter(NS + 'path') if p.get('data-grid') is not None]
seen = {}
for p in paths:
    g = int(p.get('data-grid'))
    if g in seen:
        fail(f'grid {g} has two paths')
    seen[g] = p
missing = set(expected) - set(seen)
extra = set(seen) - set(expected)
if missing:
    fail(f'{len(missing)} grids have no path, e.g. {sorted(missing)[:5]}')
if extra:
    fail(f'{len(extra)} paths are no grid of the database, e.g. {sorted(extra)[:5]}')

got_class, got_hole = {}, {}
for g, p in seen.items():
    if g not in expected:
        continue
    value, n, of, hole = expected[g]
    if not p.get('d', '').startswith('M'):
        fail(f'grid {g}: no outline (d="{p.get("d", "")[:20]}")')
    if p.find(NS + 'title') is None or not p.find(NS + 'title').text:
        fail(f'grid {g}: no <title> tooltip')
    if measure == 'units':
        v = Fraction(value)
        if p.get('data-value') != value:
            fail(f'grid {g}: data-value {p.get("data-value")}, expected {value} units')
    else:
        if (p.get('data-n'), p.get('data-of')) != (n, of):
            fail(f'grid {g}: {p.get("data-n")} of {p.get("data-of")}, expected {n} of {of}')
        v = Fraction(int(n), int(of)) if int(of) > 0 else None
        if v is not None and abs(float(p.get('data-value') or 'nan') - float(v)) > 0.00005:
            fail(f'grid {g}: data-value {p.get("data-value")}, expected {float(v):.4f}')
    want_cls = 'none' if v is None else [cls for lo, cls in classes if lo <= v][-1]
    if p.get('data-class') != want_cls:
        fail(f'grid {g}: class {p.get("data-class")}, expected {want_cls} for value {v}')
    if p.get('data-hole') != hole:
        fail(f'grid {g}: hole {p.get("data-hole")!r}, expected {hole!r}')
    hatched = p.get('fill', '').startswith('url(#hole-')
    if hatched != (hole is not None):
        fail(f'grid {g}: fill {p.get("fill")} for hole {hole!r}')
    if hole:
        got_hole[hole] = got_hole.get(hole, 0) + 1
    else:
        got_class[p.get('data-class')] = got_class.get(p.get('data-class'), 0) + 1

for cls, count in class_count.items():
    if got_class.get(cls, 0) != count:
        fail(f'legend: class {cls} counts {count} grids, the map has {got_class.get(cls, 0)}')
for cls, count in got_class.items():
    if cls not in class_count:
        fail(f'the map has {count} grids of class {cls}, not in the legend')
for reason in set(hole_count) | set(got_hole):
    if hole_count.get(reason) != got_hole.get(reason, 0):
        fail(f'legend: {hole_count.get(reason)} holes "{reason}", the map has {got_hole.get(reason, 0)}')
if sum(class_count.values()) + sum(hole_count.values()) != len(expected):
    fail('the legend\'s counts do not add up to the grids')

with open(png_path, 'rb') as f:
    head = f.read(24)
if head[:8] != b'\x89PNG\r\n\x1a\n' or head[12:16] != b'IHDR':
    fail(f'{png_path} is no PNG')
else:
    w, h = struct.unpack('>II', head[16:24])
    if (w, h) != (int(root.get('width')), int(root.get('height'))):
        fail(f'the PNG is {w}x{h}, the SVG {root.get("width")}x{root.get("height")}')

print(f'  {measure} of {sku or category}: {len(seen)} grids, classes {class_count}, holes {hole_count}: '
      + ('ok' if not errors else f'{len(errors)} errors'))
sys.exit(1 if errors else 0)
