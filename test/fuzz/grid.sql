/*
 * test/fuzz/grid.sql -- family "grid": o2o_grid_of(geometry),
 * o2o_grid_of(lon, lat) and o2o_grid_nearest on random points, against
 * PostGIS; and random grids inserted (and rolled back) with lookups around
 * them.
 *
 * Oracles:
 *  - the grid of a point is the lowest grid_id whose polygon ST_Covers it;
 *  - the nearest grid is PostGIS's nearest by ST_Distance(geom::geography,
 *    pt::geography, false), within max_distance_m.  The README promises
 *    o2o's distances within 0.1% of PostGIS's: a different grid is
 *    accepted only when both PostGIS distances are within 0.1% of each
 *    other, and the max_distance_m cut-off is judged with the same
 *    tolerance.  Below 10 cm the two models of an edge part (o2o: straight
 *    in lon/lat; geography: a great circle, up to a few cm apart over the
 *    world's edges of a few hundred metres), so 10 cm are allowed on top.
 */

-- the world as the harness samples it: its box and every vertex of every ring
CREATE TABLE fuzz.world (x0 float8, y0 float8, x1 float8, y1 float8, nvtx int);
CREATE TABLE fuzz.vtx (n int PRIMARY KEY, grid_id int, x float8, y float8, x2 float8, y2 float8);
CREATE TABLE fuzz.ggeog (grid_id int PRIMARY KEY, geog geography,
						 centre geography, radius float8);		-- a cap on the sphere that holds the grid

/*
 * Grids that the generated tessellation lacks: one overlapping the country
 * (the lowest grid_id wins), one with a hole and an island in the hole, a
 * two-part multipolygon, and grid 0.  Their edges are cut to about 100 m so
 * that the straight lon/lat edges of o2o and PostGIS's great-circle edges of
 * geography stay within centimetres of each other.
 */
CREATE FUNCTION fuzz.add_special_grids() RETURNS void
	LANGUAGE plpgsql
	AS $$
DECLARE
	b box2d := (SELECT ST_Extent(geom) FROM o2o.grid);
	cx float8 := (ST_XMin(b) + ST_XMax(b)) / 2;
	cy float8 := (ST_YMin(b) + ST_YMax(b)) / 2;
	ex float8 := ST_XMax(b);
	r int := (SELECT min(region_id) FROM o2o.grid);
BEGIN
	INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom)
	SELECT id, 'FZ' || id, 'fuzz ' || id, 'Fuzz', 'Fuzz', 'Fuzz', r, 'south',
		   ST_Multi(ST_Segmentize(ST_SetSRID(g::geometry, 4326), 0.001))
	  FROM (VALUES
		(1001, format('POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s))', cx - 0.15, cy - 0.1, cx + 0.15, cy - 0.1,
					  cx + 0.15, cy + 0.1, cx - 0.15, cy + 0.1, cx - 0.15, cy - 0.1)),
		(1002, format('POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s),(%s %s,%s %s,%s %s,%s %s,%s %s))',
					  ex + 0.3, cy, ex + 0.7, cy, ex + 0.7, cy + 0.4, ex + 0.3, cy + 0.4, ex + 0.3, cy,
					  ex + 0.4, cy + 0.1, ex + 0.6, cy + 0.1, ex + 0.6, cy + 0.3, ex + 0.4, cy + 0.3, ex + 0.4, cy + 0.1)),
		(1003, format('POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s))', ex + 0.45, cy + 0.15, ex + 0.55, cy + 0.15,
					  ex + 0.55, cy + 0.25, ex + 0.45, cy + 0.25, ex + 0.45, cy + 0.15)),
		(1004, format('MULTIPOLYGON(((%s %s,%s %s,%s %s,%s %s,%s %s)),((%s %s,%s %s,%s %s,%s %s,%s %s)))',
					  ex + 0.3, cy - 0.5, ex + 0.4, cy - 0.5, ex + 0.4, cy - 0.4, ex + 0.3, cy - 0.4, ex + 0.3, cy - 0.5,
					  ex + 0.5, cy - 0.5, ex + 0.6, cy - 0.5, ex + 0.6, cy - 0.4, ex + 0.5, cy - 0.4, ex + 0.5, cy - 0.5)),
		(0, format('POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s))', ex + 0.3, cy - 1, ex + 0.5, cy - 1,
				   ex + 0.4, cy - 0.8, ex + 0.3, cy - 0.8, ex + 0.3, cy - 1))) v(id, g);
END
$$;

/*
 * The grid family's database keeps the grids only: random grids come and
 * go (and sometimes stand alone) without re-deriving dealers and orders.
 */
CREATE FUNCTION fuzz.prepare_grid_family() RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	TRUNCATE o2o.dealer, o2o.orders, o2o.stock, o2o.installer, o2o.installer_day,
			 o2o.assignment, o2o.order_event, o2o.settlement CASCADE;
END
$$;

-- after the world is built: what the samplers and oracles read
CREATE FUNCTION fuzz.prepare_world() RETURNS void
	LANGUAGE plpgsql
	AS $$
BEGIN
	PERFORM fuzz.add_special_grids();
	TRUNCATE fuzz.world, fuzz.vtx, fuzz.ggeog;
	INSERT INTO fuzz.vtx
	SELECT row_number() OVER (ORDER BY grid_id, path), grid_id, x, y,
		   coalesce(lead(x) OVER w, x), coalesce(lead(y) OVER w, y)
	  FROM (SELECT g.grid_id, d.path, ST_X(d.geom) AS x, ST_Y(d.geom) AS y, d.path[1] AS part, d.path[2] AS ring
			  FROM o2o.grid g, ST_DumpPoints(g.geom) d) p
	WINDOW w AS (PARTITION BY grid_id, part, ring ORDER BY path);
	INSERT INTO fuzz.world
	SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), (SELECT count(*) FROM fuzz.vtx)
	  FROM (SELECT ST_Extent(geom) AS e FROM o2o.grid) x;
	INSERT INTO fuzz.ggeog
	SELECT g.grid_id, g.geom::geography, c.centre,
		   (SELECT max(ST_Distance(c.centre, d.geom::geography, false)) FROM ST_DumpPoints(g.geom) d) + 1
	  FROM o2o.grid g, LATERAL (SELECT ST_Centroid(g.geom)::geography AS centre) c;
	ANALYZE o2o.grid, fuzz.vtx, fuzz.ggeog;
END
$$;

-- a random vertex of a random ring, with the next vertex of its ring
CREATE FUNCTION fuzz.random_vertex() RETURNS fuzz.vtx
	LANGUAGE sql VOLATILE
	AS $$ SELECT v FROM fuzz.vtx v WHERE v.n = (SELECT fuzz.ri(1, nvtx) FROM fuzz.world) $$;

/*
 * A random point argument: inside the country, on vertices and edges and a
 * hair off them, just outside, anywhere on the globe, at the poles and the
 * antimeridian, with special floats; for a geometry argument also other
 * SRIDs, other types, empty points, Z/M points and points with a box.
 * errs: the SQLSTATEs the README prescribes for it, NULL for a valid point.
 */
CREATE FUNCTION fuzz.gen_point(for_geometry boolean, OUT g geometry, OUT lon float8, OUT lat float8,
							   OUT kind text, OUT errs text[])
	LANGUAGE plpgsql
	AS $$
DECLARE
	w fuzz.world;
	v fuzz.vtx;
	r float8 := random();
	t float8;
	d float8;
	a float8;
	srid int := 4326;
BEGIN
	SELECT * INTO w FROM fuzz.world;
	IF NOT for_geometry AND r >= 0.905 THEN
		r := 0.83 + random() * 0.07;	-- special floats instead of non-point kinds
	END IF;
	IF r < 0.25 THEN
		kind := 'inside';
		lon := w.x0 - 0.2 + random() * (w.x1 - w.x0 + 0.4);
		lat := w.y0 - 0.2 + random() * (w.y1 - w.y0 + 0.4);
	ELSIF r < 0.35 THEN
		kind := 'vertex';
		v := fuzz.random_vertex();
		lon := v.x; lat := v.y;
	ELSIF r < 0.50 THEN
		kind := 'vertex+eps';
		v := fuzz.random_vertex();
		IF fuzz.chance(0.5) THEN
			lon := fuzz.ulps(v.x, fuzz.ri(-3, 3)::int);
			lat := fuzz.ulps(v.y, fuzz.ri(-3, 3)::int);
		ELSE
			d := power(10, -fuzz.ri(4, 16));
			lon := v.x + d * fuzz.ri(-1, 1);
			lat := v.y + d * fuzz.ri(-1, 1);
		END IF;
	ELSIF r < 0.60 THEN
		kind := 'edge';
		v := fuzz.random_vertex();
		t := CASE WHEN fuzz.chance(0.3) THEN 0.5 ELSE random() END;
		lon := v.x + t * (v.x2 - v.x);
		lat := v.y + t * (v.y2 - v.y);
		IF fuzz.chance(0.5) THEN
			d := power(10, -fuzz.ri(6, 16)) * fuzz.pick(ARRAY[-1, 1]);
			lon := lon - d * (v.y2 - v.y);
			lat := lat + d * (v.x2 - v.x);
		END IF;
	ELSIF r < 0.70 THEN
		kind := 'near';
		v := fuzz.random_vertex();
		d := power(10, -random() * 6) * 0.3;
		a := random() * 2 * pi();
		lon := v.x + d * cos(a);
		lat := v.y + d * sin(a);
	ELSIF r < 0.78 THEN
		kind := 'globe';
		lon := random() * 360 - 180;
		lat := random() * 180 - 90;
	ELSIF r < 0.795 THEN
		kind := 'pole';
		lon := fuzz.pick(ARRAY[0, 180, -180, random() * 360 - 180, 110]);
		lat := fuzz.pick(ARRAY[90, -90, 89.9999999, -89.9999999, 90 - 1e-12, -90 + 1e-12, 89.99]);
	ELSIF r < 0.83 THEN
		kind := 'antimeridian';
		lon := fuzz.pick(ARRAY[180, -180, 179.9999999, -179.9999999, 180 - 1e-13, -180 + 1e-13]);
		lat := CASE WHEN fuzz.chance(0.5) THEN w.y0 + random() * (w.y1 - w.y0) ELSE random() * 180 - 90 END;
	ELSIF r < 0.905 THEN
		kind := 'special';
		lon := CASE WHEN fuzz.chance(0.7) THEN fuzz.special_float() ELSE w.x0 + random() * (w.x1 - w.x0) END;
		lat := CASE WHEN fuzz.chance(0.7) THEN fuzz.special_float() ELSE w.y0 + random() * (w.y1 - w.y0) END;
	ELSE
		lon := w.x0 + random() * (w.x1 - w.x0);
		lat := w.y0 + random() * (w.y1 - w.y0);
		IF r < 0.935 THEN
			kind := 'srid';
			srid := fuzz.pick(ARRAY[0, 3857, 4269, 4490, 32650, 900913, 999999]);
			IF fuzz.chance(0.2) THEN
				lon := fuzz.special_float();
			END IF;
			g := ST_SetSRID(ST_MakePoint(lon, lat), srid);
			errs := '{22023,22003}';
		ELSIF r < 0.97 THEN
			kind := 'nonpoint';
			g := ST_SetSRID(fuzz.pick(ARRAY[
					format('LINESTRING(%s %s,%s %s)', lon, lat, lon + 0.01, lat),
					format('POLYGON((%s %s,%s %s,%s %s,%s %s))', lon, lat, lon + 0.01, lat, lon, lat + 0.01, lon, lat),
					format('MULTIPOINT((%s %s))', lon, lat),
					format('GEOMETRYCOLLECTION(POINT(%s %s))', lon, lat),
					format('TRIANGLE((%s %s,%s %s,%s %s,%s %s))', lon, lat, lon + 0.01, lat, lon, lat + 0.01, lon, lat),
					format('CIRCULARSTRING(%s %s,%s %s,%s %s)', lon, lat, lon + 0.01, lat + 0.01, lon + 0.02, lat),
					'MULTIPOINT EMPTY', 'GEOMETRYCOLLECTION EMPTY', 'LINESTRING EMPTY', 'POLYGON EMPTY',
					format('MULTIPOINT Z ((%s %s 1))', lon, lat)])::geometry,
					fuzz.pick(ARRAY[4326, 4326, 0]));
			errs := '{22023}';
		ELSIF r < 0.985 THEN
			kind := 'empty';
			g := ST_SetSRID(fuzz.pick(ARRAY['POINT EMPTY', 'POINT Z EMPTY', 'POINT M EMPTY'])::geometry,
							fuzz.pick(ARRAY[4326, 0, 3857]));
			errs := '{22023}';
		ELSE
			kind := 'zm/bbox';
			IF fuzz.chance(0.3) THEN
				lon := fuzz.special_float();
			END IF;
			g := fuzz.pick(ARRAY[ST_MakePoint(lon, lat, random()), ST_MakePointM(lon, lat, random()),
								 ST_MakePoint(lon, lat, random(), random()), postgis_addbbox(ST_MakePoint(lon, lat))]);
			g := ST_SetSRID(g, 4326);
		END IF;
	END IF;
	IF g IS NULL THEN
		g := ST_SetSRID(ST_MakePoint(lon, lat), srid);
	END IF;
	IF errs IS NULL AND (lon = 'NaN' OR lat = 'NaN' OR lon < -180 OR lon > 180 OR lat < -90 OR lat > 90) THEN
		errs := '{22003}';
	END IF;
END
$$;

-- PostGIS's grid of a valid point: ST_Covers, the lowest grid_id
CREATE FUNCTION fuzz.covering(lon float8, lat float8) RETURNS int
	LANGUAGE sql STABLE
	AS $$ SELECT min(grid_id) FROM o2o.grid WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(lon, lat), 4326)) $$;

/*
 * PostGIS's point-in-polygon test (ST_Covers) computes orientations in
 * double precision: a point a few units in the last place off an edge can
 * come out on the wrong side, or on it.  o2o computes them exactly.  Where
 * the two disagree, exact arithmetic decides: every coordinate becomes the
 * integer x * 2^1074 (numeric, exact for every double), and the
 * orientation of the point to the edges near it is computed in numeric.
 */
CREATE FUNCTION fuzz.exact(x float8) RETURNS numeric
	LANGUAGE plpgsql IMMUTABLE STRICT
	AS $$
DECLARE
	bits bigint := ('x' || encode(float8send(x), 'hex'))::bit(64)::bigint;
	e int := ((bits >> 52) & 2047)::int;
	m numeric := (bits & 4503599627370495)::numeric;
BEGIN
	IF e = 0 THEN
		e := 1;					-- subnormal: no hidden bit
	ELSE
		m := m + 4503599627370496;
	END IF;
	m := m * power(2::numeric, e - 1);	-- x = m * 2^(e - 1075); times 2^1074
	RETURN CASE WHEN bits < 0 THEN -m ELSE m END;
END
$$;

-- the sign of the orientation of p to the directed edge a -> b, exactly
CREATE FUNCTION fuzz.orient(ax float8, ay float8, bx float8, by float8, px float8, py float8) RETURNS int
	LANGUAGE sql IMMUTABLE STRICT
	AS $$ SELECT sign((fuzz.exact(bx) - fuzz.exact(ax)) * (fuzz.exact(py) - fuzz.exact(ay))
					  - (fuzz.exact(by) - fuzz.exact(ay)) * (fuzz.exact(px) - fuzz.exact(ax)))::int $$;

-- whether a (multi)polygon covers the point, in exact arithmetic (even-odd over all rings)
CREATE FUNCTION fuzz.exact_covers(g geometry, lon float8, lat float8) RETURNS boolean
	LANGUAGE plpgsql IMMUTABLE STRICT
	AS $$
DECLARE
	s record;
	o int;
	inside boolean := false;
BEGIN
	FOR s IN SELECT ST_X(d.geom) AS x1, ST_Y(d.geom) AS y1,
					lead(ST_X(d.geom)) OVER w AS x2, lead(ST_Y(d.geom)) OVER w AS y2
			   FROM ST_DumpPoints(g) d
			 WINDOW w AS (PARTITION BY d.path[1:array_length(d.path, 1) - 1] ORDER BY d.path[array_length(d.path, 1)])
	LOOP
		CONTINUE WHEN s.x2 IS NULL;
		IF least(s.x1, s.x2) <= lon AND lon <= greatest(s.x1, s.x2)
		   AND least(s.y1, s.y2) <= lat AND lat <= greatest(s.y1, s.y2)
		   AND fuzz.orient(s.x1, s.y1, s.x2, s.y2, lon, lat) = 0 THEN
			RETURN true;		-- on the border
		END IF;
		IF (s.y1 > lat) <> (s.y2 > lat) THEN
			o := fuzz.orient(s.x1, s.y1, s.x2, s.y2, lon, lat);
			IF (s.y2 > s.y1 AND o > 0) OR (s.y2 < s.y1 AND o < 0) THEN
				inside := NOT inside;
			END IF;
		END IF;
	END LOOP;
	RETURN inside;
END
$$;

/*
 * Whether `got` is the grid of a valid point: PostGIS's ST_Covers with the
 * lowest grid_id, or, where o2o disagrees with it, the lowest grid_id that
 * covers the point in exact arithmetic.
 */
CREATE FUNCTION fuzz.grid_ok(lon float8, lat float8, got int, OUT ok boolean, OUT expected text, OUT exact int)
	LANGUAGE plpgsql STABLE
	AS $$
DECLARE
	want int := fuzz.covering(lon, lat);
BEGIN
	exact := want;
	ok := got IS NOT DISTINCT FROM want;
	expected := coalesce(want::text, 'NULL');
	IF NOT ok THEN
		-- exact arithmetic where the point is within 1e-9 degrees of a border
		-- (PostGIS's orientations err by about 1e-14 there); ST_Covers elsewhere
		SELECT min(grid_id) INTO exact
		  FROM (SELECT grid_id, geom, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS pt FROM o2o.grid) g
		 WHERE geom && pt
		   AND CASE WHEN ST_DWithin(ST_Boundary(geom), pt, 1e-9) THEN fuzz.exact_covers(geom, lon, lat)
					ELSE ST_Covers(geom, pt) END;
		ok := got IS NOT DISTINCT FROM exact;
		expected := format('%s (exact arithmetic; PostGIS ST_Covers says %s)', coalesce(exact::text, 'NULL'), expected);
	END IF;
END
$$;

/*
 * Whether o2o_grid_nearest's answer `got` is right for a valid point: the
 * covering grid exactly; else PostGIS's nearest within max_m, with the
 * README's 0.1% tolerance on the distances.  expected: PostGIS's answer.
 * The README promises the 0.1% "at these ranges" -- of geocodes just off a
 * coast or border: the harness holds it to that up to 100 km (the range of
 * o2o_route.nearest_grid_m); farther away it checks only that the answer
 * is a grid.
 */
CREATE FUNCTION fuzz.nearest_ok(lon float8, lat float8, max_m float8, got int, OUT ok boolean, OUT expected text)
	LANGUAGE plpgsql STABLE
	AS $$
DECLARE
	tol constant float8 := 0.001;
	slack constant float8 := 0.1;		-- metres
	far constant float8 := 100000;		-- metres
	cover int := fuzz.covering(lon, lat);
	ptg geography := ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography;
	c record;
	g1 int;
	d1 float8;
	dg float8;
BEGIN
	IF cover IS NOT NULL OR got IS NOT NULL THEN
		c := fuzz.grid_ok(lon, lat, got);
		IF c.exact IS NOT NULL THEN
			ok := c.ok;
			expected := c.expected || ' (covering)';
			RETURN;
		END IF;
	END IF;
	-- PostGIS's nearest grid within reach: grids in the order of a lower bound
	-- of their distance (to the cap that holds each), until none can be nearer
	FOR c IN SELECT x.grid_id, x.geog, ST_Distance(x.centre, ptg, false) - x.radius AS lb
			   FROM fuzz.ggeog x ORDER BY lb, x.grid_id LOOP
		EXIT WHEN c.lb > least(max_m, 4e7) * (1 + 2 * tol) + slack OR c.lb > d1 * (1 + tol) + slack;
		dg := ST_Distance(c.geog, ptg, false);
		IF dg <= least(max_m, 4e7) * (1 + 2 * tol) + slack AND (d1 IS NULL OR dg < d1 OR (dg = d1 AND c.grid_id < g1)) THEN
			g1 := c.grid_id;
			d1 := dg;
		END IF;
	END LOOP;
	expected := CASE WHEN g1 IS NULL THEN format('NULL (no grid within %s m)', max_m)
					 ELSE format('%s at %s m', g1, round(d1::numeric, 3)) END;
	IF got IS NULL THEN
		ok := g1 IS NULL OR d1 > max_m / (1 + tol) - slack OR d1 > far;
	ELSE
		SELECT ST_Distance(geog, ptg, false) INTO dg FROM fuzz.ggeog WHERE grid_id = got;
		ok := dg IS NOT NULL
			AND ((dg <= least(max_m, 4e7) / (1 - tol) + slack AND (got = g1 OR dg <= d1 * (1 + tol) + slack))
				 OR (dg > far AND (d1 IS NULL OR d1 > far)));
		IF NOT ok THEN
			expected := expected || format('; PostGIS puts grid %s at %s m', got, round(dg::numeric, 3));
		END IF;
	END IF;
END
$$;

-- a max_distance_m argument: mostly realistic, sometimes anything
CREATE FUNCTION fuzz.gen_distance() RETURNS float8
	LANGUAGE sql VOLATILE
	AS $$
	SELECT CASE WHEN random() < 0.8
				THEN fuzz.pick(ARRAY[0, 1, 100, 1000, 2000, 5000, 5000, 10000, 30000, 100000, 1e6, 1e7])
					 * CASE WHEN random() < 0.5 THEN 1 ELSE random() * 2 END
				ELSE fuzz.special_float() END
$$;

/*
 * A random grid, inserted and rolled back, with lookups around it: squares,
 * slivers down to centimetres, triangles, holes, two parts; anywhere (over
 * the country, against the antimeridian and the poles); with ids below,
 * between and above the existing ones, 0 and negative; sometimes invalid.
 * After the insert, points on and around it must get PostGIS's grid, a
 * dealer placed in it the grid PostGIS says, and points up to 0.05 degrees
 * away (across the antimeridian too) PostGIS's nearest grid.
 */
CREATE FUNCTION fuzz.grid_dml_step() RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	w fuzz.world;
	v fuzz.vtx;
	cx float8;
	cy float8;
	s float8;
	wd float8;
	a float8;
	id int;
	shape text;
	wkt text;
	geom geometry;
	errs text[];
	sql text;
	res fuzz.out;
	t0 timestamptz;
	ms float8 := 0;
	st text;
	msg text;
	lon float8;
	lat float8;
	got int;
	want int;
	bad text;
	c record;
	maxm float8;
BEGIN
	SELECT * INTO w FROM fuzz.world;
	-- where
	CASE fuzz.ri(1, 6)
		WHEN 1, 2, 3 THEN v := fuzz.random_vertex(); cx := v.x; cy := v.y;
		WHEN 4 THEN cx := random() * 360 - 180; cy := random() * 180 - 90;
		WHEN 5 THEN cx := fuzz.pick(ARRAY[-179.5, 179.5, 0, 110]); cy := fuzz.pick(ARRAY[89.5, -89.5, 0, 60]);
		ELSE cx := w.x0 + random() * (w.x1 - w.x0); cy := w.y0 + random() * (w.y1 - w.y0);
	END CASE;
	s := power(10, -random() * 4) * 0.5;		-- 0.5 degrees down to 50 micro-degrees
	a := random() * pi();
	shape := fuzz.pick(ARRAY['square', 'sliver', 'sliver', 'triangle', 'holed', 'two parts', 'bowtie',
							 'out of range', 'empty', 'polygon', 'srid', 'map edge']);
	IF shape = 'map edge' THEN
		-- a square against the antimeridian, or at a pole
		CASE fuzz.ri(1, 3)
			WHEN 1 THEN cx := 180 - s; cy := random() * 170 - 85;
			WHEN 2 THEN cx := -180; cy := random() * 170 - 85;
			ELSE cx := random() * 359 - 180; cy := CASE WHEN random() < 0.5 THEN 90 - s ELSE -90 END;
		END CASE;
		shape := 'square';
	END IF;
	CASE shape
		WHEN 'square', 'polygon', 'srid', 'out of range' THEN
			wkt := format('POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s))', cx, cy, cx + s, cy, cx + s, cy + s, cx, cy + s, cx, cy);
		WHEN 'sliver' THEN
			-- a long thin rectangle: 2 m, 0.5 m, 10 cm, 1 cm or a micro-degree wide
			wd := fuzz.pick(ARRAY[2, 2, 0.5, 0.1, 0.01, 0.111]) / 111320.0;
			wkt := format('POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s))',
						  cx, cy, cx + s * cos(a), cy + s * sin(a),
						  cx + s * cos(a) - wd * sin(a), cy + s * sin(a) + wd * cos(a),
						  cx - wd * sin(a), cy + wd * cos(a), cx, cy);
		WHEN 'triangle' THEN
			wkt := format('POLYGON((%s %s,%s %s,%s %s,%s %s))', cx, cy, cx + s * random(), cy + s * random(),
						  cx - s * random(), cy + s * random(), cx, cy);
		WHEN 'holed' THEN
			wkt := format('POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s),(%s %s,%s %s,%s %s,%s %s,%s %s))',
						  cx, cy, cx + s, cy, cx + s, cy + s, cx, cy + s, cx, cy,
						  cx + s / 4, cy + s / 4, cx + s / 2, cy + s / 4, cx + s / 2, cy + s / 2, cx + s / 4, cy + s / 2,
						  cx + s / 4, cy + s / 4);
		WHEN 'two parts' THEN
			wkt := format('MULTIPOLYGON(((%s %s,%s %s,%s %s,%s %s)),((%s %s,%s %s,%s %s,%s %s)))',
						  cx, cy, cx + s, cy, cx, cy + s, cx, cy,
						  cx + 2 * s, cy, cx + 3 * s, cy, cx + 2 * s, cy + s, cx + 2 * s, cy);
		WHEN 'bowtie' THEN
			wkt := format('POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s))', cx, cy, cx + s, cy + s, cx + s, cy, cx, cy + s, cx, cy);
		WHEN 'empty' THEN
			wkt := 'MULTIPOLYGON EMPTY';
	END CASE;
	IF shape = 'out of range' THEN
		wkt := replace(wkt, format('%s %s', cx, cy), format('%s %s', 180.5, cy));
	END IF;
	geom := ST_SetSRID(wkt::geometry, CASE WHEN shape = 'srid' THEN 3857 ELSE 4326 END);
	IF shape IN ('square', 'triangle', 'holed', 'two parts') THEN
		-- edges of at most 0.002 degrees: PostGIS's great circles (the nearest-grid
		-- oracle) stay within centimetres of o2o's straight lon/lat edges
		geom := ST_Segmentize(geom, 0.002);
	END IF;
	IF shape <> 'polygon' THEN
		geom := ST_Multi(geom);
	END IF;
	BEGIN		-- everything from here on is undone at the end
	-- now and then the new grid is the only one: the index is sized by it alone
	IF fuzz.chance(0.05) THEN
		DELETE FROM o2o.grid;
		DELETE FROM fuzz.ggeog;
		sql := 'DELETE FROM o2o.grid; ';
	ELSE
		sql := '';
	END IF;
	id := fuzz.pick(ARRAY[fuzz.ri(2000, 3000), fuzz.ri(2000, 3000), 0, -1, -fuzz.ri(2, 100), fuzz.ri(1, 40),
						  coalesce((SELECT max(grid_id) FROM o2o.grid), 0) + 1, 2147483647, -2147483648]);
	-- what the rules of o2o.grid make of it
	IF ST_SRID(geom) <> 4326 OR GeometryType(geom) <> 'MULTIPOLYGON' THEN
		errs := '{22023}';
	ELSIF ST_IsEmpty(geom) OR NOT ST_IsValid(geom) OR ST_XMin(geom) < -180 OR ST_XMax(geom) > 180
		  OR ST_YMin(geom) < -90 OR ST_YMax(geom) > 90 OR id < 0 THEN
		-- grid ids are not negative (grid_id_not_negative)
		errs := '{23514}';
	ELSIF EXISTS (SELECT 1 FROM o2o.grid g WHERE g.grid_id = id) THEN
		errs := '{23505}';
	END IF;
	sql := sql || format('INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) '
				  'VALUES (%s, %L, ''fuzz'', ''P'', ''C'', ''K'', 1, ''north'', %s)', id, 'FZ-' || id, fuzz.lit(geom));
	PERFORM fuzz.trace(sql);
		t0 := clock_timestamp();
		BEGIN
			EXECUTE sql;
		EXCEPTION WHEN query_canceled THEN
			RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
		WHEN OTHERS THEN
			st := SQLSTATE; msg := SQLERRM;
		END;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		res := fuzz.judge(4, 'grid', ms, sql, errs IS NULL, errs, true, NULL, NULL, st, msg);
		IF st IS NULL AND res.outcome = 0 THEN
			-- the nearest-grid oracle knows the new grid too (undone with it)
			INSERT INTO fuzz.ggeog
			SELECT id, geom::geography, x.centre,
				   (SELECT max(ST_Distance(x.centre, d.geom::geography, false)) FROM ST_DumpPoints(geom) d) + 1
			  FROM (SELECT ST_Centroid(geom)::geography AS centre) x;
			-- lookups on and around the new grid, and a dealer moved into it
			FOR k IN 1..8 LOOP
				SELECT ST_X(d.geom), ST_Y(d.geom) INTO lon, lat FROM ST_DumpPoints(geom) d
				 ORDER BY random() LIMIT 1;
				CASE k % 4
					WHEN 0 THEN NULL;
					WHEN 1 THEN lon := fuzz.ulps(lon, fuzz.ri(-2, 2)::int); lat := fuzz.ulps(lat, fuzz.ri(-2, 2)::int);
					WHEN 2 THEN
						SELECT ST_X(p), ST_Y(p) INTO lon, lat FROM ST_PointOnSurface(geom) p;
					ELSE
						lon := lon + (random() - 0.5) * s; lat := lat + (random() - 0.5) * s;
				END CASE;
				CONTINUE WHEN lon < -180 OR lon > 180 OR lat < -90 OR lat > 90;
				t0 := clock_timestamp();
				BEGIN
					got := o2o_grid_of(lon, lat);
				EXCEPTION WHEN query_canceled THEN
					RAISE SQLSTATE 'FZ001' USING MESSAGE = sql || format('; SELECT o2o_grid_of(%s, %s)', fuzz.lit(lon), fuzz.lit(lat));
				WHEN OTHERS THEN
					st := SQLSTATE; msg := SQLERRM;
				END;
				ms := ms + extract(epoch FROM clock_timestamp() - t0) * 1000;
				c := fuzz.grid_ok(lon, lat, got);
				want := c.exact;
				IF st IS NOT NULL OR NOT c.ok THEN
					bad := format('; SELECT o2o_grid_of(%s, %s)', fuzz.lit(lon), fuzz.lit(lat));
					res := fuzz.judge(4, 'grid', ms, sql || bad, true, NULL, c.ok, c.expected, got::text, st, msg);
					EXIT;
				END IF;
				IF k = 2 THEN
					-- a dealer placed at the point: its grid is derived by the C trigger
					bad := format('; INSERT INTO o2o.dealer (dealer_id, name, kind, location) '
								  'VALUES (1, ''probe'', ''agent'', ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING grid_id',
								  fuzz.lit(lon), fuzz.lit(lat));
					got := NULL;
					t0 := clock_timestamp();
					BEGIN
						INSERT INTO o2o.dealer (dealer_id, name, kind, location)
						VALUES (1, 'probe', 'agent', ST_SetSRID(ST_MakePoint(lon, lat), 4326))
						RETURNING grid_id INTO got;
					EXCEPTION WHEN query_canceled THEN
						RAISE SQLSTATE 'FZ001' USING MESSAGE = sql || bad;
					WHEN OTHERS THEN
						st := SQLSTATE; msg := SQLERRM;
					END;
					ms := ms + extract(epoch FROM clock_timestamp() - t0) * 1000;
					IF (st IS NULL AND got IS DISTINCT FROM want) OR (st IS NOT NULL AND (want IS NOT NULL OR st <> 'O2001')) THEN
						-- judged as the dealer DML it is, counted here
						res := fuzz.judge(1, 'dml', ms, sql || bad, want IS NOT NULL,
										  CASE WHEN want IS NULL THEN '{O2001}'::text[] END,
										  got IS NOT DISTINCT FROM want, 'grid_id ' || coalesce(want::text, 'NULL'),
										  'grid_id ' || coalesce(got::text, 'NULL'), st, msg);
						res.entry := 4;
						EXIT;
					END IF;
					st := NULL;
				END IF;
			END LOOP;
			-- the nearest grid from points around it, also across the antimeridian
			FOR k IN 1..2 LOOP
				EXIT WHEN res.outcome = 2 OR shape NOT IN ('square', 'triangle', 'holed', 'two parts');
				SELECT ST_X(d.geom), ST_Y(d.geom) INTO lon, lat FROM ST_DumpPoints(geom) d ORDER BY random() LIMIT 1;
				a := random() * 2 * pi();
				lon := lon + cos(a) * 0.05 * random();
				lat := least(90, greatest(-90, lat + sin(a) * 0.05 * random()));
				lon := CASE WHEN lon > 180 THEN lon - 360 WHEN lon < -180 THEN lon + 360 ELSE lon END;
				maxm := fuzz.pick(ARRAY[1000, 5000, 20000, 100000]);
				-- near a pole, the kind of input that fuzz.slow may have put aside
				CONTINUE WHEN abs(lat) >= 89 AND fuzz.skip_slow('grid', 4, 'pole');
				bad := format('; SELECT o2o_grid_nearest(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s)%s', fuzz.lit(lon), fuzz.lit(lat),
							  maxm, CASE WHEN abs(lat) >= 89 THEN ' -- pole' ELSE '' END);
				got := NULL;
				t0 := clock_timestamp();
				BEGIN
					got := o2o_grid_nearest(ST_SetSRID(ST_MakePoint(lon, lat), 4326), maxm);
				EXCEPTION WHEN query_canceled THEN
					RAISE SQLSTATE 'FZ001' USING MESSAGE = sql || bad;
				WHEN OTHERS THEN
					st := SQLSTATE; msg := SQLERRM;
				END;
				ms := ms + extract(epoch FROM clock_timestamp() - t0) * 1000;
				c := fuzz.nearest_ok(lon, lat, maxm, got);
				IF st IS NOT NULL OR NOT c.ok THEN
					res := fuzz.judge(4, 'grid', ms, sql || bad, true, NULL, c.ok, c.expected, coalesce(got::text, 'NULL'), st, msg);
				END IF;
			END LOOP;
			res.ms := ms;
		END IF;
		RAISE SQLSTATE 'FZ002';		-- undo the grid
	EXCEPTION WHEN SQLSTATE 'FZ002' THEN
		NULL;
	END;
	RETURN res;
END
$$;

CREATE FUNCTION fuzz.grid_step(seed bigint, i bigint, e int) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
DECLARE
	p record;
	max_m float8;
	got int;
	want int;
	st text;
	msg text;
	sql text;
	t0 timestamptz;
	ms float8;
	n record;
BEGIN
	IF e = 4 THEN
		RETURN ARRAY[fuzz.grid_dml_step()];
	END IF;
	p := fuzz.gen_point(e <> 2);
	IF fuzz.skip_slow('grid', e, p.kind) THEN
		RETURN ARRAY[ROW(e, 3, 0, NULL, NULL, NULL, NULL, 1)::fuzz.out];
	END IF;
	-- the SQL of the call, ending with the kind of input (see fuzz.slow)
	IF e = 1 THEN
		sql := format('SELECT o2o_grid_of(%s) -- %s', fuzz.lit(p.g), p.kind);
	ELSIF e = 2 THEN
		sql := format('SELECT o2o_grid_of(%s, %s) -- %s', fuzz.lit(p.lon), fuzz.lit(p.lat), p.kind);
	ELSE
		max_m := fuzz.gen_distance();
		sql := format('SELECT o2o_grid_nearest(%s, %s) -- %s', fuzz.lit(p.g), fuzz.lit(max_m), p.kind);
		IF p.errs IS NULL AND (max_m < 0 OR max_m = 'NaN' OR max_m IN ('Infinity', '-Infinity')) THEN
			p.errs := '{22023}';
		ELSIF p.errs IS NOT NULL AND (max_m < 0 OR max_m = 'NaN' OR max_m IN ('Infinity', '-Infinity')) THEN
			p.errs := p.errs || '{22023}'::text[];
		END IF;
	END IF;
	PERFORM fuzz.trace(sql);
	t0 := clock_timestamp();
	BEGIN
		CASE e
			WHEN 1 THEN got := o2o_grid_of(p.g);
			WHEN 2 THEN got := o2o_grid_of(p.lon, p.lat);
			ELSE got := o2o_grid_nearest(p.g, max_m);
		END CASE;
	EXCEPTION WHEN query_canceled THEN
		RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
	WHEN OTHERS THEN
		st := SQLSTATE; msg := SQLERRM;
	END;
	ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	IF p.errs IS NOT NULL OR st IS NOT NULL THEN
		RETURN ARRAY[fuzz.judge(e, 'grid', ms, sql, p.errs IS NULL, p.errs, false,
								NULL, got::text, st, msg)];
	END IF;
	IF e < 3 THEN
		n := fuzz.grid_ok(p.lon, p.lat, got);
		RETURN ARRAY[fuzz.judge(e, 'grid', ms, sql, true, NULL, n.ok, n.expected, got::text, NULL, NULL)];
	END IF;
	n := fuzz.nearest_ok(p.lon, p.lat, max_m, got);
	RETURN ARRAY[fuzz.judge(e, 'grid', ms, sql, true, NULL, n.ok, n.expected, got::text, NULL, NULL)];
END
$$;
