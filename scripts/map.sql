-- scripts/map.sql — the coverage map of the world in this database, as one SVG
-- document (run by scripts/map.sh, which checks its arguments and renders the
-- PNG).  psql variables:
--   sku, category  exactly one of them non-empty: what is mapped
--   measure        units | fill | in_grid
--   db             the database's name, for the title
--   svg            the file the SVG is written to
-- Every grid is one <path> of PostGIS's ST_AsSVG (relative moves), carrying
-- data-grid, data-value (units, or the share), data-n and data-of (the
-- share's counts), data-class (the legend class; "none": no orders) and, for
-- holes, data-hole (the reason), with a <title> tooltip.  The legend's items
-- carry data-class, data-lo (the least value of the class), data-count, and
-- data-hole for the holes.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT set_config('o2o_map.sku', :'sku', false) AS sku_set, set_config('o2o_map.category', :'category', false) AS category_set,
	   set_config('o2o_map.measure', :'measure', false) AS measure_set, set_config('o2o_map.db', :'db', false) AS db_set \gset

-- bad input: a clear message, nothing written
DO $$
DECLARE
	v_sku text := current_setting('o2o_map.sku');
	v_cat text := current_setting('o2o_map.category');
	v_m text := current_setting('o2o_map.measure');
	v_db text := current_setting('o2o_map.db');
	cats text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM o2o.grid) THEN
		RAISE EXCEPTION 'database % has no world loaded: o2o.grid is empty (make demo generates one)', v_db;
	END IF;
	IF v_sku <> '' AND NOT EXISTS (SELECT 1 FROM o2o.product p WHERE p.sku = v_sku) THEN
		RAISE EXCEPTION 'unknown SKU "%": no row of o2o.product in % has it (e.g. %)', v_sku, v_db,
			(SELECT min(p.sku) FROM o2o.product p);
	END IF;
	IF v_cat <> '' AND NOT EXISTS (SELECT 1 FROM o2o.product p WHERE p.category = v_cat) THEN
		SELECT string_agg(DISTINCT p.category, ', ') INTO cats FROM o2o.product p;
		RAISE EXCEPTION 'unknown category "%": the categories of % are %', v_cat, v_db, coalesce(cats, 'none');
	END IF;
	IF v_m <> 'units' AND NOT EXISTS (SELECT 1 FROM o2o.orders o WHERE o.status IN ('assigned', 'completed', 'unassignable')) THEN
		RAISE EXCEPTION 'measure % needs routed orders, and no order in % has been routed yet (o2o_assign_pending routes them; MEASURE=units needs none)', v_m, v_db;
	END IF;
END
$$;

-- the SKUs mapped
CREATE TEMP TABLE sel AS
SELECT p.sku FROM o2o.product p WHERE p.sku = :'sku' OR (:'sku' = '' AND p.category = :'category');

-- per grid: the units available, the orders routed, filled and served in-grid,
-- the hole and its reason
CREATE TEMP TABLE m AS
SELECT g.grid_id, g.code, g.name, g.province, g.city, g.county,
	   coalesce(u.units, 0) AS units, coalesce(o.routed, 0) AS routed,
	   coalesce(o.filled, 0) AS filled, coalesce(o.in_grid, 0) AS in_grid,
	   CASE WHEN :'category' <> '' THEN h.reason
			WHEN u.units IS NULL THEN
				CASE WHEN EXISTS (SELECT 1 FROM o2o.dealer d WHERE d.grid_id = g.grid_id AND d.active)
					 THEN 'no stock' ELSE 'no active dealer' END END AS hole,
	   NULL::numeric AS v, NULL::bigint AS n, NULL::bigint AS "of", NULL::int AS cls
  FROM o2o.grid g
  LEFT JOIN (SELECT d.grid_id, sum(s.on_hand - s.reserved - s.safety) AS units
			   FROM o2o.stock s JOIN o2o.dealer d ON d.dealer_id = s.dealer_id AND d.active
			  WHERE s.sku IN (SELECT sku FROM sel) AND s.on_hand - s.reserved - s.safety > 0
			  GROUP BY d.grid_id) u ON u.grid_id = g.grid_id
  LEFT JOIN (SELECT o.grid_id,
					count(*) AS routed,
					count(*) FILTER (WHERE o.status <> 'unassignable') AS filled,
					count(*) FILTER (WHERE o.status <> 'unassignable' AND NOT a.cross_grid) AS in_grid
			   FROM o2o.orders o
			   LEFT JOIN o2o.assignment a ON a.order_id = o.order_id AND a.state IN ('active', 'completed')
			  WHERE o.sku IN (SELECT sku FROM sel) AND o.status IN ('assigned', 'completed', 'unassignable')
			  GROUP BY o.grid_id) o ON o.grid_id = g.grid_id
  LEFT JOIN (SELECT hl.grid_id, hl.reason FROM o2o.grid_holes hl WHERE hl.category = :'category') h
	ON h.grid_id = g.grid_id;

UPDATE m SET v = units, n = units WHERE :'measure' = 'units';
UPDATE m SET n = filled, "of" = routed, v = CASE WHEN routed > 0 THEN filled::numeric / routed END
 WHERE :'measure' = 'fill';
UPDATE m SET n = in_grid, "of" = filled, v = CASE WHEN filled > 0 THEN in_grid::numeric / filled END
 WHERE :'measure' = 'in_grid';

-- the classes: units in five quantiles of the grids that have any (breaks
-- rounded to two significant digits), 0 a class of its own; shares in fixed
-- breaks.  A value belongs to the last class whose lo it reaches.
CREATE TEMP TABLE cls (cls int, lo numeric, hi numeric, colour text, label text);
INSERT INTO cls
WITH q AS (SELECT percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY v) AS qs, max(v) AS mx
			 FROM m WHERE v > 0),
	 b AS (SELECT DISTINCT CASE WHEN x >= 100 THEN round(x, 1 - floor(log(x))::int) ELSE x END AS hi
			 FROM q, unnest(qs) x
			UNION
		   SELECT mx FROM q),
	 c AS (SELECT row_number() OVER (ORDER BY hi)::int AS cls, coalesce(lag(hi) OVER (ORDER BY hi) + 1, 1) AS lo, hi
			 FROM b WHERE hi <= (SELECT mx FROM q))
SELECT cls, lo, hi, NULL, CASE WHEN lo = hi THEN to_char(lo, 'FM999,999,999,990')
							   ELSE to_char(lo, 'FM999,999,999,990') || '–' || to_char(hi, 'FM999,999,999,990') END
  FROM c WHERE :'measure' = 'units'
 UNION ALL
SELECT * FROM (VALUES (1, 0, 0.5, NULL, 'below 50%'), (2, 0.5, 0.75, NULL, '50% to 75%'),
					  (3, 0.75, 0.9, NULL, '75% to 90%'), (4, 0.9, 1, NULL, '90% to 99.9%'),
					  (5, 1, 1, NULL, '100%')) f
 WHERE :'measure' <> 'units';
-- a colour-blind-safe sequential palette (ColorBrewer YlGnBu, 5 classes),
-- spread over however many classes the data gave
UPDATE cls SET colour = (ARRAY['#ffffcc', '#a1dab4', '#41b6c4', '#2c7fb8', '#253494'])[
	CASE WHEN (SELECT count(*) FROM cls) = 1 THEN 4
		 ELSE 1 + round((cls - 1) * 4.0 / ((SELECT count(*) FROM cls) - 1))::int END];
INSERT INTO cls SELECT 0, 0, 0, '#d4d4d4', '0' WHERE :'measure' = 'units';
UPDATE m SET cls = (SELECT max(c.cls) FROM cls c WHERE c.lo <= m.v) WHERE v IS NOT NULL;

-- the frame: lon/lat scaled by cos(mid-latitude) (equirectangular), 1,000 px
-- wide; the grids are snapped to half a pixel (the same vertex of two grids
-- goes to the same point, so neighbours still share their border exactly) and
-- their collinear points dropped (the shape does not change)
SELECT ST_XMin(b) AS x0, ST_XMax(b) AS x1, ST_YMin(b) AS y0, ST_YMax(b) AS y1,
	   cos(radians((ST_YMin(b) + ST_YMax(b)) / 2)) AS c,
	   1000 / ((ST_XMax(b) - ST_XMin(b)) * cos(radians((ST_YMin(b) + ST_YMax(b)) / 2))) AS k
  FROM (SELECT ST_Extent(geom)::box2d AS b FROM o2o.grid) e \gset
SELECT 1000 AS mw, ceil((:y1 - :y0) * :k)::int AS mh, 20 AS mx, 78 AS my \gset
CREATE TEMP TABLE shape AS
SELECT grid_id, province,
	   ST_Simplify(ST_SnapToGrid(ST_Affine(geom, :k * :c, 0, 0, :k, -:k * :c * :x0, -:k * :y1), 0.5), 0) AS g
  FROM o2o.grid;

-- the legend's rows (pos orders them): swatch fill, label, count of grids, attributes
CREATE TEMP TABLE legend (pos int, fill text, label text, count bigint, attrs text);
INSERT INTO legend
SELECT c.cls, c.colour, c.label, (SELECT count(*) FROM m WHERE m.cls = c.cls AND m.hole IS NULL),
	   format('data-class="%s" data-lo="%s"', c.cls, c.lo)
  FROM cls c WHERE c.cls > 0
 UNION ALL
SELECT 20, '#e6e6e6', 'no order routed', (SELECT count(*) FROM m WHERE v IS NULL AND hole IS NULL), 'data-class="none"'
 WHERE :'measure' <> 'units'
 UNION ALL
SELECT 30 + r.i, format('url(#hole-%s-base)', r.i),
	   CASE WHEN :'measure' = 'units' THEN '0: ' ELSE '' END || r.label,
	   (SELECT count(*) FROM m WHERE m.hole = r.reason),
	   format('data-hole="%s"', r.reason) || CASE WHEN :'measure' = 'units' THEN ' data-class="0" data-lo="0"' ELSE '' END
  FROM (VALUES (1, 'no active dealer', 'no active dealer in the grid'),
			   (2, 'no stock', 'dealers, but none has a unit')) r(i, reason, label);

SELECT 26 * count(*) AS ch FROM legend WHERE pos < 30 \gset

-- names for the title and tooltips
SELECT CASE WHEN :'sku' <> '' THEN (SELECT format('%s %s', p.sku, p.name) FROM o2o.product p WHERE p.sku = :'sku')
			ELSE format('category %s (%s SKUs)', :'category', (SELECT count(*) FROM sel)) END AS what,
	   CASE WHEN :'sku' <> '' THEN :'sku' ELSE :'category' END AS short,
	   CASE :'measure' WHEN 'units' THEN 'units available per grid'
					   WHEN 'fill' THEN 'fill rate per grid'
					   ELSE 'in-grid share per grid' END AS mtitle,
	   CASE :'measure' WHEN 'units' THEN 'on hand − reserved − safety stock at the active dealers of the grid, now'
					   WHEN 'fill' THEN 'orders of the grid routed to a dealer (assigned or completed) / orders routed (also unassignable)'
					   ELSE 'orders of the grid served by a dealer of the same grid / orders of the grid served' END AS mdef,
	   to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') AS drawn,
	   (SELECT count(*) FROM m) AS grids, (SELECT count(*) FROM m WHERE hole IS NOT NULL) AS holes
  \gset

CREATE FUNCTION pg_temp.x(t text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;') $$;
CREATE FUNCTION pg_temp.num(v numeric) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT to_char(v, 'FM999,999,999,990') $$;
CREATE FUNCTION pg_temp.pct(n bigint, d bigint) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT to_char(100.0 * n / d, 'FM990.0') || '%' $$;

\pset format unaligned
\pset tuples_only on
\o :svg
WITH lay AS (
	SELECT :mw AS mw, :mh AS mh, :mx AS mx, :my AS my, :mx + :mw + 30 AS lx,
		   greatest(:mh, 52 + :ch + 38 + 52 + 24 + 56) AS bodyh
), paths AS (
	SELECT string_agg(format('<path id="g%s" data-grid="%s" data-value="%s"%s data-class="%s"%s fill="%s" d="%s"><title>%s</title></path>',
							 m.grid_id, m.grid_id,
							 CASE WHEN :'measure' = 'units' THEN m.v::text ELSE coalesce(round(m.v, 4)::text, '') END,
							 CASE WHEN :'measure' <> 'units' THEN format(' data-n="%s" data-of="%s"', m.n, m."of") ELSE '' END,
							 coalesce(m.cls::text, 'none'),
							 CASE WHEN m.hole IS NOT NULL THEN format(' data-hole="%s"', m.hole) ELSE '' END,
							 CASE WHEN m.hole IS NOT NULL
								  THEN format('url(#hole-%s-%s)', CASE m.hole WHEN 'no active dealer' THEN 1 ELSE 2 END,
											  coalesce(m.cls::text, 'none'))
								  WHEN m.cls IS NULL THEN '#e6e6e6'
								  ELSE (SELECT c.colour FROM cls c WHERE c.cls = m.cls) END,
							 ST_AsSVG(s.g, 1, 1),
							 pg_temp.x(format('%s %s (%s, %s, %s): %s%s', m.code, m.name, m.county, m.city, m.province,
								CASE :'measure'
									WHEN 'units' THEN format('%s units of %s available', pg_temp.num(m.v), :'short')
									WHEN 'fill' THEN CASE WHEN m."of" = 0 THEN format('no order of %s routed', :'short')
														  ELSE format('fill rate %s (%s of %s orders of %s routed)',
																	  pg_temp.pct(m.n, m."of"), m.n, m."of", :'short') END
									ELSE CASE WHEN m."of" = 0 THEN format('no order of %s served', :'short')
											  ELSE format('%s in-grid (%s of %s orders of %s served)',
														  pg_temp.pct(m.n, m."of"), m.n, m."of", :'short') END END,
								CASE WHEN m.hole IS NOT NULL THEN format('; a hole for %s: %s', :'short', m.hole) ELSE '' END))),
					  E'\n' ORDER BY m.grid_id) AS svg
	  FROM m JOIN shape s USING (grid_id)
), provinces AS (
	-- province borders (and the coast), from the snapped grids
	SELECT string_agg(format('<path d="%s"/>', ST_AsSVG(ST_Boundary(u), 1, 1)), E'\n') AS svg
	  FROM (SELECT ST_UnaryUnion(ST_Collect(ST_CollectionExtract(ST_MakeValid(g), 3))) AS u FROM shape GROUP BY province) p
), patterns AS (
	-- a hole is hatched over its class's colour: red diagonals for "no
	-- stock", a grey cross-hatch for "no active dealer" (white on dark classes)
	SELECT string_agg(format('<pattern id="hole-%s-%s" patternUnits="userSpaceOnUse" width="5" height="5" patternTransform="rotate(45)">'
							 '<rect width="5" height="5" fill="%s"/><line x1="0" y1="0" x2="0" y2="5" stroke="%s" stroke-width="1.4"/>%s</pattern>',
							 r.i, b.key, b.colour, b.ink,
							 CASE WHEN r.i = 1 THEN format('<line x1="0" y1="0" x2="5" y2="0" stroke="%s" stroke-width="1.4"/>', b.ink) ELSE '' END),
					  E'\n') AS svg
	  FROM (VALUES (1, '#3b3b3b'), (2, '#b2182b')) r(i, ink)
	 CROSS JOIN LATERAL (
		   SELECT k.key, k.colour, CASE WHEN k.colour IN ('#2c7fb8', '#253494') THEN '#ffffff' ELSE r.ink END AS ink
			 FROM (SELECT cls::text AS key, colour FROM cls
				   UNION ALL SELECT 'none', '#e6e6e6'
				   UNION ALL SELECT 'base', CASE WHEN :'measure' = 'units' THEN '#d4d4d4' ELSE '#f4f4f4' END) k) b
), items AS (
	SELECT string_agg(format('<g class="legend-item" %s data-count="%s" transform="translate(0,%s)">'
							 '<rect width="24" height="15" fill="%s" stroke="#9a9a9a" stroke-width="0.5"/>'
							 '<text x="34" y="12">%s</text><text x="290" y="12" text-anchor="end">%s</text></g>',
							 l.attrs, l.count, l.y, l.fill, pg_temp.x(l.label), pg_temp.num(l.count)),
					  E'\n' ORDER BY l.pos) AS svg
	  FROM (SELECT lg.*, CASE WHEN lg.pos < 30 THEN 26 * (row_number() OVER (PARTITION BY lg.pos < 30 ORDER BY lg.pos) - 1)
							  ELSE :ch + 38 + 26 * (row_number() OVER (PARTITION BY lg.pos < 30 ORDER BY lg.pos) - 1) END AS y
			  FROM legend lg) l
)
SELECT format($svg$<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%1$s" height="%2$s" viewBox="0 0 %1$s %2$s" font-family="DejaVu Sans, Verdana, sans-serif" font-size="13" fill="#222222" data-db="%3$s" data-sku="%4$s" data-category="%5$s" data-measure="%6$s" data-grids="%7$s" data-holes="%8$s">
<title>%9$s</title>
<defs>
%10$s
</defs>
<rect width="%1$s" height="%2$s" fill="#ffffff"/>
<text x="%11$s" y="32" font-size="21" font-weight="bold">%12$s</text>
<text x="%11$s" y="55" fill="#555555">%13$s</text>
<rect x="%11$s" y="%14$s" width="%15$s" height="%16$s" fill="#eef3f7"/>
<g id="grids" transform="translate(%11$s,%14$s)" stroke="#ffffff" stroke-width="0.3" stroke-linejoin="round">
%17$s
</g>
<g id="provinces" transform="translate(%11$s,%14$s)" fill="none" stroke="#3a3a3a" stroke-width="0.7" stroke-opacity="0.75" stroke-linejoin="round" pointer-events="none">
%18$s
</g>
<g id="scale" transform="translate(%19$s,%20$s)" font-size="11" fill="#444444">
<rect width="%21$s" height="4" fill="#444444"/><rect width="%22$s" height="4" fill="#ffffff" stroke="#444444" stroke-width="0.6"/>
<text y="-5">0</text><text x="%21$s" y="-5" text-anchor="middle">500 km</text>
</g>
<g id="legend" transform="translate(%23$s,%14$s)">
<text y="4" font-weight="bold" font-size="15">%24$s</text>
<text y="22" font-size="11" fill="#555555">%25$s</text>
<text x="290" y="44" font-size="11" fill="#555555" text-anchor="end">grids</text>
<g transform="translate(0,52)">
%26$s
<text y="%27$s" font-weight="bold">Holes (hatched%37$s)</text>
<text y="%29$s" font-size="11" fill="#555555">nobody in the grid can supply %28$s now</text>
</g>
<g transform="translate(0,%30$s)" font-size="11" fill="#555555">
<text>%31$s grids, %32$s of them holes</text>
<text y="16">dark lines: province borders and the coast</text>
<text y="32">hover a grid (in a browser) for its figures</text>
</g>
</g>
<text x="%11$s" y="%33$s" font-size="10.5" fill="#777777">o2o_route %34$s · PostGIS ST_AsSVG, lon/lat scaled by cos %35$s° · make map DB=%3$s %36$s MEASURE=%6$s</text>
</svg>$svg$,
	lay.mx + lay.mw + 30 + 300 + lay.mx,                                   -- 1 width
	lay.my + lay.bodyh + 34,                                               -- 2 height
	pg_temp.x(:'db'), pg_temp.x(:'sku'), pg_temp.x(:'category'), :'measure', -- 3-6
	:grids, :holes,                                                        -- 7, 8
	pg_temp.x(format('%s — %s (%s)', :'what', :'mtitle', :'db')),          -- 9
	patterns.svg,                                                          -- 10
	lay.mx,                                                                -- 11
	pg_temp.x(format('%s — %s', :'what', :'mtitle')),                      -- 12
	pg_temp.x(format('%s · database %s · %s grids · drawn %s', :'mdef', :'db', pg_temp.num(:grids), :'drawn')), -- 13
	lay.my, lay.mw, lay.mh,                                                -- 14-16
	paths.svg, provinces.svg,                                              -- 17, 18
	lay.mx + 16, lay.my + lay.mh - 18,                                     -- 19, 20 (scale bar)
	round(500 / 111.195 * :k, 1), round(250 / 111.195 * :k, 1),           -- 21, 22
	lay.lx,                                                                -- 23
	pg_temp.x(CASE :'measure' WHEN 'units' THEN format('Units of %s available', :'short')
							  WHEN 'fill' THEN format('Fill rate, orders of %s', :'short')
							  ELSE format('In-grid share, orders of %s', :'short') END), -- 24
	CASE :'measure' WHEN 'units' THEN 'classes: quantiles of the grids that have any'
					ELSE 'share of the grid''s orders' END,               -- 25
	items.svg,                                                             -- 26
	:ch + 12, pg_temp.x(:'short'), :ch + 28,                               -- 27-29
	52 + :ch + 38 + 52 + 24,                                               -- 30
	pg_temp.num(:grids), pg_temp.num(:holes),                              -- 31, 32
	lay.my + lay.bodyh + 20,                                               -- 33
	(SELECT extversion FROM pg_extension WHERE extname = 'o2o_route'),     -- 34
	round(degrees(acos(:c))::numeric, 1),                                  -- 35
	pg_temp.x(CASE WHEN :'sku' <> '' THEN 'SKU=' || :'sku' ELSE 'CATEGORY=' || :'category' END), -- 36
	CASE WHEN :'measure' = 'units' THEN '' ELSE ' over the colour' END)  -- 37
  FROM lay, paths, provinces, patterns, items;
\o

-- the legend in words, for the terminal
\pset format aligned
\pset tuples_only off
\pset footer off
SELECT CASE WHEN pos < 30 THEN 'class' ELSE 'hole' END AS kind, label AS legend, count AS grids FROM legend ORDER BY pos;
