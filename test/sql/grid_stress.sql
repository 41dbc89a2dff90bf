-- stands alone: make installcheck REGRESS=grid_stress
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS o2o_route CASCADE;
RESET client_min_messages;
-- The grid index under shapes that broke it or blew it up before 0.5.0:
-- a sliver whose edges crowd every candidate reference point of a cell
-- (the index could not be built: "no usable reference point"), a star of
-- tens of thousands of vertices (every edge was listed in every cell of its
-- bounding box: 17.9 M edge references, a 69 MB index for 40,000
-- vertices), and long diagonal edges across
-- the whole raster.  For each: the index builds, o2o_grid_of agrees with
-- ST_Covers + lowest grid_id on thousands of points around it and on its
-- vertices, and the edge references stay within twice the cells that the
-- edges cross.
\set SHOW_CONTEXT never
CREATE SCHEMA grid_stress;

CREATE FUNCTION grid_stress.put(g int, p geometry) RETURNS int
	LANGUAGE sql AS $$
	INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom)
	VALUES (g, 'S' || g, 'S', 'P', 'C', 'K', 1, 'north', ST_Multi(ST_SetSRID(p, 4326)))
	RETURNING grid_id
$$;

-- a point of a low-discrepancy sequence in [0, 1)^2, the same on every run
CREATE FUNCTION grid_stress.r2(i bigint, k int) RETURNS float8
	LANGUAGE sql IMMUTABLE AS $$
	SELECT ((0.5 + i * CASE k WHEN 1 THEN 0.7548776662466927 ELSE 0.5698402909980532 END) % 1)::float8
$$;

-- probe points: n spread over the grids' box widened by a tenth, n within
-- about `near` degrees of a vertex, and every vstep-th vertex (on the border)
CREATE FUNCTION grid_stress.probe(n int, near float8, vstep int)
	RETURNS TABLE (kind text, x float8, y float8)
	LANGUAGE sql AS $$
	WITH b AS (SELECT ST_Extent(geom)::geometry AS e FROM o2o.grid),
	v AS (SELECT row_number() OVER () AS k, ST_X(d.geom) AS vx, ST_Y(d.geom) AS vy
			FROM o2o.grid g, ST_DumpPoints(g.geom) d)
	SELECT 'box', ST_XMin(e) - 0.1 * (ST_XMax(e) - ST_XMin(e)) + 1.2 * (ST_XMax(e) - ST_XMin(e)) * grid_stress.r2(i, 1),
		   ST_YMin(e) - 0.1 * (ST_YMax(e) - ST_YMin(e)) + 1.2 * (ST_YMax(e) - ST_YMin(e)) * grid_stress.r2(i, 2)
	  FROM b, generate_series(1, n) i
	UNION ALL
	SELECT 'near', vx + near * (2 * grid_stress.r2(i, 1) - 1), vy + near * (2 * grid_stress.r2(i, 2) - 1)
	  FROM generate_series(1, n) i
	  JOIN v ON v.k = 1 + (i * 7919) % (SELECT count(*) FROM v)
	UNION ALL
	SELECT 'vertex', vx, vy FROM v WHERE k % vstep = 0
$$;

-- o2o_grid_of against ST_Covers + lowest grid_id
CREATE FUNCTION grid_stress.check(n int, near float8, vstep int)
	RETURNS TABLE (kind text, points bigint, covered bigint, disagree bigint)
	LANGUAGE sql AS $$
	SELECT kind, count(*), count(o2o),
		   count(*) FILTER (WHERE o2o IS DISTINCT FROM postgis)
	  FROM (SELECT kind, o2o_grid_of(x, y) AS o2o,
				   (SELECT min(g.grid_id) FROM o2o.grid g
					 WHERE ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(x, y), 4326))) AS postgis
			  FROM grid_stress.probe(n, near, vstep)) p
	 GROUP BY kind ORDER BY kind
$$;

-- The index's size against the cells its edges cross.  The raster is the
-- index's (one cell per eight edges over the box of every vertex, as in
-- gridindex.c; the first column checks that it is); an edge from cell
-- (c0, r0) to (c1, r1) crosses |c1 - c0| + |r1 - r0| + 1 cells.
CREATE FUNCTION grid_stress.size()
	RETURNS TABLE (same_raster boolean, edges_linear boolean)
	LANGUAGE sql AS $$
	WITH s AS (SELECT * FROM o2o_grid_index_stats()),
	b AS (SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, greatest(ST_XMax(e) - ST_XMin(e), 1e-6) AS w,
				 greatest(ST_YMax(e) - ST_YMin(e), 1e-6) AS h, s.edges
			FROM (SELECT ST_Extent(geom)::geometry AS e FROM o2o.grid) x, s),
	t AS (SELECT *, least(greatest(edges / 8.0, 1), 4e6) AS target FROM b),
	r1 AS (SELECT *, least(greatest(ceil(sqrt(target * w / h)), 1), 8192) AS nx FROM t),
	r AS (SELECT *, least(greatest(ceil(target / nx), 1), 8192) AS ny FROM r1),
	seg AS (SELECT (ST_DumpSegments(geom)).geom AS sg FROM o2o.grid),
	crossed AS (SELECT sum(abs(least(floor((ST_X(ST_EndPoint(sg)) - x0) * nx / w), nx - 1)
							   - least(floor((ST_X(ST_StartPoint(sg)) - x0) * nx / w), nx - 1))
						   + abs(least(floor((ST_Y(ST_EndPoint(sg)) - y0) * ny / h), ny - 1)
								 - least(floor((ST_Y(ST_StartPoint(sg)) - y0) * ny / h), ny - 1)) + 1) AS n
				  FROM seg, r)
	SELECT r.nx * r.ny = s.cells, s.edge_refs <= 2 * crossed.n
	  FROM s, r, crossed
$$;

-- 1. The sliver: 2 m (1.8e-5 degree) thick, 4,001 vertices, over lon
-- 100 .. 100.6 and lat 30 .. 30.001, alone: the raster is 548 x 1 cells.
-- Its lower side runs through the twelve points of cell 241 that the index
-- tried as reference points, at fixed fractions of the cell; before 0.5.0
-- every lookup failed with XX000 "grid 1: no usable reference point in
-- cell 241".
CREATE FUNCTION grid_stress.sliver() RETURNS geometry
	LANGUAGE sql AS $$
	WITH frac(fx, fy) AS (VALUES (0.5::float8, 0.5::float8), (0.309017, 0.618034), (0.707107, 0.292893),
		(0.173205, 0.414214), (0.866025, 0.732051), (0.447214, 0.123457), (0.632456, 0.894427),
		(0.223607, 0.816497), (0.912871, 0.182574), (0.377964, 0.267261), (0.534522, 0.963624),
		(0.086603, 0.645497)),
	ras AS (SELECT 100::float8 AS x0, 100.6::float8 AS x1, 30::float8 AS y0, 30.001::float8 AS y1,
				   1.8e-5::float8 AS d, (100.6::float8 - 100) / 548 AS cw, 30.001::float8 - 30 AS ch),
	-- the lower side: along lat 30, through the twelve points of cell 241,
	-- and up a bump in cell 500 so that the upper side reaches lat 30.001
	zig AS (SELECT x0 + (241 + fx) * cw AS x, y0 + fy * ch AS y FROM ras, frac),
	bump AS (SELECT x0 + (500 + f) * cw AS x, CASE WHEN f IN (0.3, 0.7) THEN y1 - d ELSE y0 END AS y
			   FROM ras, unnest(ARRAY[0.0, 0.3, 0.7, 1.0]::float8[]) f),
	fill AS (SELECT x, y0 AS y
			   FROM (SELECT x0 + (x1 - x0) * i / 2100 AS x, x0, y0, cw FROM ras, generate_series(0, 2099) i) c
			  WHERE (x - x0) / cw NOT BETWEEN 240.5 AND 242.5 AND (x - x0) / cw NOT BETWEEN 499.5 AND 501.5
			  ORDER BY x LIMIT 1983),
	lower_side AS (SELECT x, y FROM zig UNION ALL SELECT x, y FROM bump UNION ALL SELECT x, y FROM fill
				   UNION ALL SELECT x1, y0 FROM ras),
	numbered AS (SELECT x, y, row_number() OVER (ORDER BY x) AS k, count(*) OVER () AS n FROM lower_side)
	-- the upper side is the lower one 2 m higher
	SELECT ST_MakePolygon(ST_MakeLine(array_agg(p ORDER BY o)))
	  FROM (SELECT k AS o, ST_MakePoint(x, y) AS p FROM numbered
			UNION ALL SELECT 2 * n + 1 - k, ST_MakePoint(x, y + d) FROM numbered, ras
			UNION ALL SELECT 2 * n + 1, ST_MakePoint(x, y) FROM numbered WHERE k = 1) v
$$;
SELECT ST_NPoints(g) AS vertices, ST_IsValid(g) AS valid FROM grid_stress.sliver() g;
SELECT grid_stress.put(1, grid_stress.sliver());
SELECT grids, vertices, cells FROM o2o_grid_index_stats();
SELECT * FROM grid_stress.check(3000, 2e-5, 1);
SELECT * FROM grid_stress.size();
-- a plain sliver too: 2 m thick, 4,001 vertices, along a diagonal
SET client_min_messages = warning;
TRUNCATE o2o.grid CASCADE;
RESET client_min_messages;
SELECT grid_stress.put(2, ST_MakePolygon(ST_MakeLine(array_agg(p ORDER BY k))))
  FROM (SELECT i AS k, ST_MakePoint(100 + i / 1999.0, 30 + 0.3 * i / 1999.0) AS p FROM generate_series(0, 1999) i
		UNION ALL
		SELECT 4000 - i, ST_MakePoint(100 + i / 1999.0, 30 + 0.3 * i / 1999.0 + 1.8e-5) FROM generate_series(0, 1999) i
		UNION ALL
		SELECT 4001, ST_MakePoint(100, 30)) v;
SELECT * FROM grid_stress.check(3000, 2e-5, 1);
SELECT * FROM grid_stress.size();

-- 2. The star: 20,000 vertices alternating between 1 and 0.01 degree from
-- (110, 30); its long spikes cross the raster in every direction.  (Its
-- twin of 40,000 vertices gave 17.9 M edge references before 0.5.0.)
SET client_min_messages = warning;
TRUNCATE o2o.grid CASCADE;
RESET client_min_messages;
SELECT grid_stress.put(3, ST_MakePolygon(ST_AddPoint(l, ST_StartPoint(l))))
  FROM (SELECT ST_MakeLine(ST_MakePoint(110 + r * cos(a), 30 + r * sin(a)) ORDER BY i) AS l
		  FROM (SELECT i, 2 * pi() * i / 20000 AS a, CASE WHEN i % 2 = 0 THEN 1.0 ELSE 0.01 END AS r
				  FROM generate_series(0, 19999) i) v) s;
-- (valid: o2o.grid checks ST_IsValid)
SELECT ST_NPoints(geom) AS vertices FROM o2o.grid;
-- (PostGIS takes ~3 ms a point here, where a line crosses thousands of
-- spikes: fewer points)
SELECT * FROM grid_stress.check(250, 1e-3, 20);
SELECT * FROM grid_stress.size();

-- 3. Long diagonals: 40 thin strips (four vertices, 0.001 degree high)
-- from corner to corner of the raster, over a disc of 8,000 vertices that
-- makes the raster fine; the strips overlap the disc (lowest grid_id wins)
SET client_min_messages = warning;
TRUNCATE o2o.grid CASCADE;
RESET client_min_messages;
SELECT grid_stress.put(10, ST_Buffer(ST_MakePoint(110, 30), 1, 2000));
SELECT count(grid_stress.put(10 + k, ST_MakePolygon(ST_MakeLine(ARRAY[
		   ST_MakePoint(109, 28.2 + 0.09 * k), ST_MakePoint(111, 30.2 + 0.09 * k),
		   ST_MakePoint(111, 30.201 + 0.09 * k), ST_MakePoint(109, 28.201 + 0.09 * k),
		   ST_MakePoint(109, 28.2 + 0.09 * k)]))))
  FROM generate_series(1, 40) k;
SELECT count(*) AS grids, sum(ST_NPoints(geom)) AS vertices, bool_and(ST_IsValid(geom)) AS valid FROM o2o.grid;
SELECT * FROM grid_stress.check(3000, 1e-3, 1);
SELECT * FROM grid_stress.size();

-- leave the database empty for the next test
SET client_min_messages = warning;
DROP SCHEMA grid_stress CASCADE;
TRUNCATE o2o.grid, o2o.product, o2o.commission_rule RESTART IDENTITY CASCADE;
