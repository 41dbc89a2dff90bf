/*
 * test/worldgen.sql — a deterministic generated country for o2o_route.
 *
 * Load with psql into a database that has the extension, then build:
 *
 *     \i test/worldgen.sql
 *     SELECT o2o_gen.build(seed => 42);                     -- the default world
 *     SELECT o2o_gen.build(7, n_grids => 60, n_dealers => 600, n_orders => 3000);
 *
 * The same seed and sizes give the same world, row for row.  Everything is
 * plain SQL/PostGIS; randomness comes from hashing (seed, stream, index), so
 * it does not depend on plan or row order.
 *
 * How the country is made:
 *  1. a coarse, star-shaped outline sized so that n_grids cells of about
 *     50 km fit in it;
 *  2. cell seeds on a jittered hexagonal lattice inside it; their Voronoi
 *     edges, clipped to the outline and noded with it, give straight
 *     segments that meet only at their ends;
 *  3. every segment is replaced once by a wiggly polyline (fractal sum of
 *     sines, zero at both ends, kept inside a thin lens whose opening angle
 *     is a third of the smallest angle at either end, so neighbouring
 *     segments never cross) with about `vertices` points per grid;
 *  4. polygonizing all those polylines gives faces that tile the country
 *     with no gap and no overlap by construction; each face is matched to
 *     the seed inside it, then grouped into provinces, cities and counties.
 * Dealers cluster around towns of Zipf-distributed size (one in six is a
 * country store anywhere), orders follow the same population (one in ten
 * rural), and a few orders are geocoded just off the coast.
 */
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS o2o_gen;
-- what a build leaves behind besides the o2o rows: the country's outline and
-- its towns, for tests and benchmarks that need them
CREATE TABLE IF NOT EXISTS o2o_gen.country (seed bigint, geom geometry(Polygon, 4326));
CREATE TABLE IF NOT EXISTS o2o_gen.town (town_id int PRIMARY KEY, name text, pop float8, spread float8,
										  cum float8, cum_dealer float8, p geometry(Point, 4326));
CREATE INDEX IF NOT EXISTS town_cum_idx ON o2o_gen.town (cum);
CREATE INDEX IF NOT EXISTS town_cum_dealer_idx ON o2o_gen.town (cum_dealer);
RESET client_min_messages;
COMMENT ON SCHEMA o2o_gen IS 'o2o_route test world generator (test/worldgen.sql)';

-- uniform in [0, 1) from (seed, stream, index)
CREATE OR REPLACE FUNCTION o2o_gen.rnd(seed bigint, stream int, i bigint) RETURNS float8
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT (hashint8extended(i, seed * 7919 + stream) & 4503599627370495)::float8 / 4503599627370496.0 $$;

-- standard normal from (seed, stream, index), Box-Muller
CREATE OR REPLACE FUNCTION o2o_gen.gauss(seed bigint, stream int, i bigint) RETURNS float8
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT sqrt(-2 * ln(1 - o2o_gen.rnd(seed, stream, i)))
				 * cos(2 * pi() * o2o_gen.rnd(seed, stream + 100000, i)) $$;

-- a pronounceable place name from an integer
CREATE OR REPLACE FUNCTION o2o_gen.place(n bigint) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$
	SELECT initcap(s[1 + (n % 26)::int] || s[1 + ((n / 26 * 7 + n * 11 + 3) % 26)::int])
	  FROM (SELECT ARRAY['an', 'bei', 'chang', 'dong', 'feng', 'guang', 'he', 'hu', 'jiang',
						 'jin', 'kai', 'lin', 'long', 'nan', 'ning', 'ping', 'qing', 'shan',
						 'shui', 'tai', 'tian', 'xi', 'xin', 'yang', 'yun', 'zhou'] AS s) a
$$;

CREATE OR REPLACE FUNCTION o2o_gen.build(seed bigint DEFAULT 42,
										 n_grids int DEFAULT 1800,
										 n_dealers int DEFAULT 20000,
										 n_orders int DEFAULT 200000,
										 n_skus int DEFAULT 120,
										 vertices int DEFAULT 1100)
	RETURNS void
	LANGUAGE plpgsql
	AS $build$
DECLARE
	cx		constant float8 := 110;		-- centre of the country, lon/lat
	cy		constant float8 := 31;
	s		float8 := 0.5;				-- lattice spacing of grid seeds, degrees
	r		float8;
	outline geometry;
	shrunk	geometry;
	country geometry;
	cnt		int;
	n_faces int;
	step	float8;
	t0		timestamptz := clock_timestamp();
	n_towns int := greatest(12, n_dealers / 25);
	n_out	int := greatest(1, round(n_orders * 0.003)::int);
	per_cat int := greatest(1, n_skus / 6);
BEGIN
	IF n_grids < 4 OR n_dealers < 1 OR n_orders < 1 OR n_skus < 6 OR vertices < 4 THEN
		RAISE EXCEPTION 'world too small: n_grids >= 4, n_dealers >= 1, n_orders >= 1, n_skus >= 6, vertices >= 4';
	END IF;
	PERFORM set_config('max_parallel_workers_per_gather', '0', true);
	TRUNCATE o2o.grid, o2o.dealer, o2o.product, o2o.national_price, o2o.stock,
			 o2o.installer, o2o.orders, o2o.assignment, o2o.order_event
		RESTART IDENTITY CASCADE;
	-- commission rules: a table of the extension from version 0.3.0 on
	IF to_regclass('o2o.commission_rule') IS NOT NULL THEN
		EXECUTE 'TRUNCATE o2o.commission_rule';
		EXECUTE $r$
			INSERT INTO o2o.commission_rule (category, valid_from, dealer_share, installer_share, origin_share)
			SELECT c, timestamptz '2025-01-01 00:00+08',
				   CASE WHEN c IN ('fridge', 'washer') THEN 0.0800 ELSE 0.0600 END,
				   CASE WHEN c IN ('fridge', 'washer') THEN 0 ELSE 0.0400 END,
				   0.0200
			  FROM unnest(ARRAY['fridge', 'washer', 'ac', 'water_heater', 'range_hood', 'purifier']) c
		$r$;
	END IF;

	-- 1. the coarse outline: a star-shaped blob whose area holds n_grids cells
	r := sqrt(n_grids * 0.8660254 * s * s / pi());
	SELECT ST_SetSRID(ST_MakePolygon(ST_MakeLine(array_agg(p ORDER BY j))), 4326) INTO outline
	  FROM (SELECT j, ST_MakePoint(cx + 1.25 * r * rr * cos(th), cy + 0.8 * r * rr * sin(th)) AS p
			  FROM (SELECT j, th,
						   1 + 0.12 * sin(2 * th + 2 * pi() * o2o_gen.rnd(seed, 1, 1))
							 + 0.08 * sin(3 * th + 2 * pi() * o2o_gen.rnd(seed, 1, 2))
							 + 0.05 * sin(5 * th + 2 * pi() * o2o_gen.rnd(seed, 1, 3))
							 + 0.03 * sin(7 * th + 2 * pi() * o2o_gen.rnd(seed, 1, 4)) AS rr
					  FROM generate_series(0, 64) j,
						   LATERAL (SELECT 2 * pi() * (j % 64) / 64 AS th) t) a) b;

	-- 2. seeds on a jittered hexagonal lattice, well inside the outline;
	--    the spacing is adjusted until at least n_grids seeds fit
	FOR attempt IN 1..20 LOOP
		shrunk := ST_Buffer(outline, -s / 3);
		IF attempt > 1 THEN
			DROP TABLE gen_seed;
		END IF;
		CREATE TEMP TABLE gen_seed ON COMMIT DROP AS
			SELECT row_number() OVER (ORDER BY j, i) AS sid, p
			  FROM (SELECT i, j,
						   ST_SetSRID(ST_MakePoint(
							   ST_XMin(outline) + (i + 0.5 * (j % 2)) * s
								 + (o2o_gen.rnd(seed, 2, j * 100000 + i) - 0.5) * 0.4 * s,
							   ST_YMin(outline) + j * s * 0.8660254
								 + (o2o_gen.rnd(seed, 3, j * 100000 + i) - 0.5) * 0.4 * s), 4326) AS p
					  FROM generate_series(0, ceil((ST_XMax(outline) - ST_XMin(outline)) / s)::int) i,
						   generate_series(0, ceil((ST_YMax(outline) - ST_YMin(outline)) / (s * 0.8660254))::int) j) q
			 WHERE ST_Contains(shrunk, p);
		SELECT count(*) INTO cnt FROM gen_seed;
		EXIT WHEN cnt >= n_grids AND cnt <= n_grids * 1.01 + 1;
		s := s * sqrt(cnt::float8 / n_grids) * CASE WHEN cnt < n_grids THEN 0.997 ELSE 1.002 END;
	END LOOP;
	IF cnt < n_grids THEN
		s := s * 0.98;		-- never fewer grids than asked for
		shrunk := ST_Buffer(outline, -s / 3);
	END IF;
	CREATE INDEX ON gen_seed USING gist (p);

	-- 3. Voronoi edges clipped to the outline, noded with it, cut into segments
	CREATE TEMP TABLE gen_seg ON COMMIT DROP AS
		WITH lines AS (
			-- noding the full diagram with the outline puts both on the same
			-- crossing points; clipping first would leave dangling ends
			SELECT ST_UnaryUnion(ST_Collect(
					   ST_VoronoiLines(ST_Collect(p), 0, ST_Expand(outline, 2 * s)),
					   ST_Boundary(outline))) AS g
			  FROM gen_seed),
		segs AS (
			SELECT ST_StartPoint(d.geom) AS a, ST_EndPoint(d.geom) AS b
			  FROM lines, ST_Dump(lines.g) l, ST_DumpSegments(l.geom) d
			 WHERE NOT ST_Equals(ST_StartPoint(d.geom), ST_EndPoint(d.geom))
			   AND ST_DWithin(outline, ST_LineInterpolatePoint(d.geom, 0.5), 1e-9))
		SELECT row_number() OVER (ORDER BY ST_X(a), ST_Y(a), ST_X(b), ST_Y(b)) AS eid,
			   a, b, ST_Distance(a, b) AS len,
			   ST_DWithin(ST_Boundary(outline), ST_LineInterpolatePoint(ST_MakeLine(a, b), 0.5), 1e-9) AS coast,
			   0.0::float8 AS alpha
		  FROM segs;

	-- the smallest angle at each end bounds how far a segment may wiggle
	WITH ends AS (
		SELECT eid, ST_AsBinary(a) AS node, ST_Azimuth(a, b) AS az FROM gen_seg
		UNION ALL
		SELECT eid, ST_AsBinary(b), ST_Azimuth(b, a) FROM gen_seg),
	gaps AS (
		SELECT eid,
			   least(az - coalesce(lag(az) OVER w, max(az) OVER n - 2 * pi()),
					 coalesce(lead(az) OVER w, min(az) OVER n + 2 * pi()) - az) AS gap
		  FROM ends
		WINDOW w AS (PARTITION BY node ORDER BY az), n AS (PARTITION BY node))
	UPDATE gen_seg g SET alpha = least(0.5, tan(m.gap / 3))
	  FROM (SELECT eid, min(gap) AS gap FROM gaps GROUP BY eid) m
	 WHERE m.eid = g.eid;

	-- 4. every segment becomes one wiggly polyline, shared by its two faces
	SELECT (2 * sum(len) FILTER (WHERE NOT coast) + sum(len) FILTER (WHERE coast)) / (vertices::float8 * cnt)
	  INTO step FROM gen_seg;
	CREATE TEMP TABLE gen_line ON COMMIT DROP AS
		SELECT g.eid, g.coast,
			   ST_MakeLine(array_agg(
				   CASE WHEN k = 0 THEN g.a
						WHEN k = m THEN g.b
						ELSE ST_SetSRID(ST_MakePoint(
								 ST_X(g.a) + t * dx - dy * w,
								 ST_Y(g.a) + t * dy + dx * w), 4326)
				   END ORDER BY k)) AS line
		  FROM (SELECT *, ST_X(b) - ST_X(a) AS dx, ST_Y(b) - ST_Y(a) AS dy,
					   greatest(1, ceil(len / step))::int AS m
				  FROM gen_seg) g,
			   LATERAL generate_series(0, g.m) k,
			   LATERAL (SELECT k::float8 / g.m AS t) tt,
			   LATERAL (SELECT g.alpha * t * (1 - t) * (
							   1.000 * sin(2 * pi() * (1 * t + o2o_gen.rnd(seed, 11, g.eid)))
							 + 0.600 * sin(2 * pi() * (2 * t + o2o_gen.rnd(seed, 12, g.eid)))
							 + 0.360 * sin(2 * pi() * (4 * t + o2o_gen.rnd(seed, 13, g.eid)))
							 + 0.216 * sin(2 * pi() * (8 * t + o2o_gen.rnd(seed, 14, g.eid)))
							 + 0.130 * sin(2 * pi() * (16 * t + o2o_gen.rnd(seed, 15, g.eid)))
							 + 0.078 * sin(2 * pi() * (32 * t + o2o_gen.rnd(seed, 16, g.eid)))
						   ) / 2.384 AS w) ww
		 GROUP BY g.eid, g.coast;

	CREATE TEMP TABLE gen_face ON COMMIT DROP AS
		SELECT (ST_Dump(ST_Polygonize(line))).geom AS face FROM gen_line;
	CREATE INDEX ON gen_face USING gist (face);
	SELECT ST_SetSRID((ST_Dump(ST_Polygonize(line))).geom, 4326) INTO country
	  FROM gen_line WHERE coast;

	CREATE TEMP TABLE gen_cell ON COMMIT DROP AS
		SELECT s2.sid, s2.p, ST_SetSRID(f.face, 4326) AS face
		  FROM gen_seed s2 JOIN gen_face f ON ST_Contains(f.face, s2.p);
	CREATE INDEX ON gen_cell (sid);
	SELECT count(*) INTO n_faces FROM gen_face;
	IF n_faces <> cnt OR (SELECT count(DISTINCT sid) FROM gen_cell) <> cnt
	   OR (SELECT count(*) FROM gen_cell) <> cnt THEN
		RAISE EXCEPTION 'world generator: % faces for % seeds (seed %); the tessellation is broken',
			n_faces, cnt, seed;
	END IF;
	RAISE NOTICE 'worldgen: % grids, % vertices in % s', cnt,
		(SELECT sum(ST_NPoints(face)) FROM gen_cell),
		round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

	-- 5. provinces (~30) -> cities (~10 grids) -> counties (~3.5 grids)
	CREATE TEMP TABLE gen_prov ON COMMIT DROP AS
		SELECT row_number() OVER (ORDER BY j, i) AS pid, p
		  FROM (SELECT i, j,
					   ST_SetSRID(ST_MakePoint(
						   ST_XMin(outline) + (i + 0.5 * (j % 2)) * ps
							 + (o2o_gen.rnd(seed, 4, j * 1000 + i) - 0.5) * 0.5 * ps,
						   ST_YMin(outline) + j * ps * 0.8660254
							 + (o2o_gen.rnd(seed, 5, j * 1000 + i) - 0.5) * 0.5 * ps), 4326) AS p
				  FROM (SELECT sqrt(ST_Area(outline) / (least(30, greatest(2, cnt / 15)) * 0.8660254)) AS ps) x,
					   generate_series(0, 60) i, generate_series(0, 60) j) q
		 WHERE ST_Contains(outline, p);
	ALTER TABLE gen_cell ADD COLUMN pid bigint, ADD COLUMN city int, ADD COLUMN county int;
	UPDATE gen_cell c SET pid = (SELECT pr.pid FROM gen_prov pr ORDER BY pr.p <-> c.p, pr.pid LIMIT 1);
	WITH seats AS (
		SELECT sid, pid, p, row_number() OVER (PARTITION BY pid ORDER BY o2o_gen.rnd(seed, 6, sid), sid) AS rk,
			   count(*) OVER (PARTITION BY pid) AS n
		  FROM gen_cell)
	UPDATE gen_cell c SET city = (SELECT s3.rk FROM seats s3
								   WHERE s3.pid = c.pid AND s3.rk <= greatest(1, round(s3.n / 10.0))
								   ORDER BY s3.p <-> c.p, s3.rk LIMIT 1);
	WITH seats AS (
		SELECT sid, pid, city, p,
			   row_number() OVER (PARTITION BY pid, city ORDER BY o2o_gen.rnd(seed, 7, sid), sid) AS rk,
			   count(*) OVER (PARTITION BY pid, city) AS n
		  FROM gen_cell)
	UPDATE gen_cell c SET county = (SELECT s3.rk FROM seats s3
									 WHERE s3.pid = c.pid AND s3.city = c.city
									   AND s3.rk <= greatest(1, round(s3.n / 3.5))
									 ORDER BY s3.p <-> c.p, s3.rk LIMIT 1);

	INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom)
	SELECT row_number() OVER (ORDER BY region_id, city, county, sid),
		   format('G%s', lpad((row_number() OVER (ORDER BY region_id, city, county, sid))::text, 4, '0')),
		   format('%s %s', o2o_gen.place(region_id * 10007 + city * 101 + county * 13 + 5),
				  row_number() OVER (PARTITION BY region_id, city, county ORDER BY sid)),
		   o2o_gen.place(region_id * 37 + 1) || ' Province',
		   o2o_gen.place(region_id * 1009 + city * 17 + 2) || ' City',
		   o2o_gen.place(region_id * 10007 + city * 101 + county * 13 + 5) || ' County',
		   region_id, CASE WHEN ST_Y(p) >= cy THEN 'north' ELSE 'south' END,
		   ST_Multi(face)
	  FROM (SELECT c.*, dense_rank() OVER (ORDER BY c.pid)::int AS region_id FROM gen_cell c) x;

	-- the derivation triggers look grids up: plan them with real statistics
	ANALYZE o2o.grid;

	-- 6. products, 6 categories; a few models are sold in one climate only
	INSERT INTO o2o.product (sku, name, category, needs_install, climates)
	SELECT format('%s-%s', cat.code, lpad(k::text, 3, '0')),
		   format('%s %s%s', cat.label, chr(65 + (k - 1) % 26), 100 + k * 7),
		   cat.category, cat.category IN ('ac', 'water_heater', 'range_hood', 'purifier'),
		   CASE WHEN cat.category IN ('ac', 'water_heater') AND k > per_cat - 2 THEN ARRAY['north']
				WHEN cat.category = 'ac' AND k IN (per_cat - 3, per_cat - 2) AND per_cat >= 4 THEN ARRAY['south']
				WHEN cat.category = 'purifier' AND k = per_cat AND per_cat >= 2 THEN ARRAY['south']
		   END
	  FROM (VALUES (1, 'fridge', 'FR', 'Fridge'), (2, 'washer', 'WA', 'Washer'),
				   (3, 'ac', 'AC', 'Air conditioner'), (4, 'water_heater', 'WH', 'Water heater'),
				   (5, 'range_hood', 'RH', 'Range hood'), (6, 'purifier', 'PU', 'Water purifier'))
		   AS cat(ord, category, code, label),
		   generate_series(1, per_cat) k;

	CREATE TEMP TABLE gen_product ON COMMIT DROP AS
		SELECT p.*, w / sum(w) OVER () AS weight,
			   sum(w) OVER (ORDER BY sku) / sum(w) OVER () AS cum,
			   round((base * (0.6 + 1.2 * o2o_gen.rnd(seed, 20, k))) / 10) * 10 - 1 AS price
		  FROM (SELECT p.*, row_number() OVER (ORDER BY p.sku) AS k,
					   CASE p.category WHEN 'fridge' THEN 1.2 WHEN 'washer' THEN 1.1 WHEN 'ac' THEN 1.3
									   WHEN 'water_heater' THEN 0.8 WHEN 'range_hood' THEN 0.6 ELSE 0.5 END
						 / power(substr(p.sku, 4)::int, 0.9) AS w,
					   CASE p.category WHEN 'fridge' THEN 3200 WHEN 'washer' THEN 2600 WHEN 'ac' THEN 3800
									   WHEN 'water_heater' THEN 1600 WHEN 'range_hood' THEN 2100 ELSE 1800 END AS base
				  FROM o2o.product p) p;

	INSERT INTO o2o.national_price (sku, price, valid_from, valid_to)
	SELECT sku, round(price * 1.08) - 1, timestamptz '2025-01-01 00:00+08', timestamptz '2026-01-01 00:00+08' FROM gen_product
	UNION ALL
	SELECT sku, price, timestamptz '2026-01-01 00:00+08', NULL FROM gen_product;

	-- 7. towns of Zipf-distributed size, and the country's real outline
	TRUNCATE o2o_gen.country, o2o_gen.town;
	INSERT INTO o2o_gen.country VALUES (seed, country);
	INSERT INTO o2o_gen.town
		SELECT t, o2o_gen.place(t * 31 + 7), pop,
			   0.03 + 0.3 * sqrt(pop / max(pop) OVER ()),
			   sum(pop) OVER (ORDER BY t) / sum(pop) OVER (),
			   sum(power(pop, 0.85)) OVER (ORDER BY t) / sum(power(pop, 0.85)) OVER (),
			   ST_SetSRID(ST_MakePoint(ST_X(c.p) + 0.1 * s * o2o_gen.gauss(seed, 31, t),
									   ST_Y(c.p) + 0.1 * s * o2o_gen.gauss(seed, 32, t)), 4326)
		  FROM generate_series(1, n_towns) t,
			   LATERAL (SELECT 1e6 / power(t, 1.07) AS pop) z,
			   LATERAL (SELECT gc.p FROM gen_cell gc
						 WHERE gc.sid = 1 + floor(o2o_gen.rnd(seed, 30, t) * cnt)::int) c;
	ANALYZE o2o_gen.town;

	-- 8. dealers, clustered around towns; one in six is a country store
	--    somewhere in the countryside
	CREATE TEMP TABLE gen_dealer ON COMMIT DROP AS
		SELECT row_number() OVER (ORDER BY i) AS dealer_id, i, town_id, p
		  FROM (SELECT i, tw.town_id,
					   ST_SetSRID(ST_MakePoint(
						   ST_X(c.p) + c.spread * o2o_gen.gauss(seed, 41, i) / cos(radians(ST_Y(c.p))),
						   ST_Y(c.p) + c.spread * o2o_gen.gauss(seed, 42, i)), 4326) AS p
				  FROM generate_series(1, (n_dealers * 1.5)::int + 50) i,
					   LATERAL (SELECT t.* FROM o2o_gen.town t
								 WHERE t.cum_dealer >= o2o_gen.rnd(seed, 40, i)
								 ORDER BY t.cum_dealer LIMIT 1) tw,
					   LATERAL (SELECT CASE WHEN o2o_gen.rnd(seed, 46, i) < 1.0 / 6 THEN gc.p ELSE tw.p END AS p,
									   CASE WHEN o2o_gen.rnd(seed, 46, i) < 1.0 / 6 THEN 0.2 * s ELSE tw.spread END AS spread
								  FROM gen_cell gc
								 WHERE gc.sid = 1 + floor(o2o_gen.rnd(seed, 47, i) * cnt)::int) c) q
		 WHERE ST_Contains(country, p)
		 ORDER BY i LIMIT n_dealers;
	INSERT INTO o2o.dealer (dealer_id, name, kind, location, grid_id, region_id, service_radius_m, active)
	SELECT dealer_id,
		   format('%s %s %s', t.name, CASE kind WHEN 'agent' THEN 'Agency' WHEN 'retailer' THEN 'Appliances'
											   ELSE 'Service Centre' END, dealer_id),
		   kind, g.p, 0, 0,
		   CASE kind WHEN 'agent' THEN 60000 WHEN 'service_center' THEN 50000
					 ELSE 25000 + round(20000 * o2o_gen.rnd(seed, 44, dealer_id)) END,
		   o2o_gen.rnd(seed, 45, dealer_id) >= 0.03
	  FROM gen_dealer g JOIN o2o_gen.town t USING (town_id),
		   LATERAL (SELECT CASE WHEN o2o_gen.rnd(seed, 43, dealer_id) < 0.12 THEN 'agent'
								WHEN o2o_gen.rnd(seed, 43, dealer_id) < 0.85 THEN 'retailer'
								ELSE 'service_center' END AS kind) kk;

	ANALYZE o2o.dealer;

	-- 9. stock: about 25 models per dealer, popular ones more often, none
	--    that the dealer's climate zone cannot sell
	INSERT INTO o2o.stock (dealer_id, sku, on_hand, reserved, region_id)
	SELECT dealer_id, sku, least(30, floor(-ln(1 - o2o_gen.rnd(seed, 52, dealer_id * 10000 + k)) * 4))::int, 0, 0
	  FROM (SELECT d.dealer_id, p.sku, p.k,
				   row_number() OVER (PARTITION BY d.dealer_id
									  ORDER BY -ln(1 - o2o_gen.rnd(seed, 50, d.dealer_id * 10000 + p.k)) / p.weight, p.sku) AS rk,
				   18 + floor(15 * o2o_gen.rnd(seed, 51, d.dealer_id)) AS want
			  FROM o2o.dealer d JOIN o2o.grid g USING (grid_id)
			  JOIN gen_product p ON p.climates IS NULL OR g.climate = ANY (p.climates)) q
	 WHERE rk <= want;

	-- 10. installers: 1-3 per dealer, with skills and a daily capacity
	INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity, active, region_id)
	SELECT row_number() OVER (ORDER BY dealer_id, n), dealer_id,
		   format('Installer %s-%s', dealer_id, n),
		   CASE WHEN cardinality(sk) > 0 THEN sk ELSE ARRAY['ac'] END,
		   2 + floor(5 * o2o_gen.rnd(seed, 62, dealer_id * 10 + n))::int,
		   o2o_gen.rnd(seed, 63, dealer_id * 10 + n) >= 0.02, 0
	  FROM (SELECT d.dealer_id, n,
				   ARRAY(SELECT c FROM unnest(ARRAY['ac', 'water_heater', 'range_hood', 'purifier'])
									   WITH ORDINALITY AS u(c, o)
						  WHERE d.kind = 'service_center'
							 OR o2o_gen.rnd(seed, 61, (d.dealer_id * 10 + n) * 10 + o) < 0.55
						  ORDER BY o) AS sk
			  FROM o2o.dealer d,
				   generate_series(1, 1 + floor(3 * o2o_gen.rnd(seed, 60, d.dealer_id))::int) n) q;

	-- 11. orders, placed by population; a few just off the coast
	CREATE TEMP TABLE gen_order ON COMMIT DROP AS
		SELECT i, p
		  FROM (SELECT i,
					   ST_SetSRID(ST_MakePoint(
						   ST_X(c.p) + c.spread * o2o_gen.gauss(seed, 71, i) / cos(radians(ST_Y(c.p))),
						   ST_Y(c.p) + c.spread * o2o_gen.gauss(seed, 72, i)), 4326) AS p
				  FROM generate_series(1, (n_orders * 1.3)::int + 50) i,
					   LATERAL (SELECT t.* FROM o2o_gen.town t
								 WHERE t.cum >= o2o_gen.rnd(seed, 70, i)
								 ORDER BY t.cum LIMIT 1) tw,
					   LATERAL (SELECT CASE WHEN o2o_gen.rnd(seed, 81, i) < 0.1 THEN gc.p ELSE tw.p END AS p,
									   CASE WHEN o2o_gen.rnd(seed, 81, i) < 0.1 THEN 0.3 * s ELSE 1.6 * tw.spread END AS spread
								  FROM gen_cell gc
								 WHERE gc.sid = 1 + floor(o2o_gen.rnd(seed, 82, i) * cnt)::int) c) q
		 WHERE ST_Contains(country, p)
		 ORDER BY i LIMIT n_orders - n_out;
	-- off the coast: beyond the widest wiggle of a coastal segment, plus 0.3-3 km
	INSERT INTO gen_order
	SELECT -j, ST_SetSRID(ST_MakePoint(ST_X(m) + nx * off, ST_Y(m) + ny * off), 4326)
	  FROM (SELECT j, m, nx * sgn AS nx, ny * sgn AS ny,
				   g.alpha * g.len / 4 + (0.003 + 0.027 * o2o_gen.rnd(seed, 74, j)) AS off
			  FROM generate_series(1, n_out) j,
				   LATERAL (SELECT * FROM gen_seg WHERE coast
							 ORDER BY o2o_gen.rnd(seed, 73, j * 100000 + eid), eid LIMIT 1) g,
				   LATERAL (SELECT ST_LineInterpolatePoint(ST_MakeLine(g.a, g.b), 0.5) AS m,
								   -(ST_Y(g.b) - ST_Y(g.a)) / g.len AS nx,
								   (ST_X(g.b) - ST_X(g.a)) / g.len AS ny) n1,
				   LATERAL (SELECT CASE WHEN ST_Contains(outline,
											 ST_SetSRID(ST_MakePoint(ST_X(m) + nx * 1e-6, ST_Y(m) + ny * 1e-6), 4326))
										THEN -1 ELSE 1 END AS sgn) n2) q;

	INSERT INTO o2o.orders (sku, qty, location, address, unit_price, origin_dealer_id,
							status, created_at)
	SELECT pr.sku,
		   CASE WHEN u < 0.95 THEN 1 WHEN u < 0.99 THEN 2 ELSE 3 END,
		   o.p,
		   format('No. %s, %s Road', 1 + floor(300 * o2o_gen.rnd(seed, 76, o.i)), o2o_gen.place(o.i % 997)),
		   pr.price,
		   CASE WHEN o2o_gen.rnd(seed, 77, o.i) < 0.3 THEN
				(SELECT d.dealer_id FROM o2o.dealer d ORDER BY d.location <-> o.p
				  LIMIT 1 OFFSET floor(5 * o2o_gen.rnd(seed, 78, o.i))::int) END,
		   'pending', created_at
	  FROM gen_order o,
		   LATERAL (SELECT o2o_gen.rnd(seed, 75, o.i) AS u,
						   timestamptz '2026-10-01 00:00+08'
							 + make_interval(secs => 50 * 86400 * o2o_gen.rnd(seed, 79, o.i)) AS created_at) x,
		   LATERAL (SELECT p.sku, p.price FROM gen_product p
					 WHERE p.cum >= o2o_gen.rnd(seed, 80, o.i) ORDER BY p.cum LIMIT 1) pr
	 ORDER BY created_at, o.i;

	ANALYZE o2o.grid, o2o.dealer, o2o.product, o2o.national_price, o2o.stock,
			o2o.installer, o2o.orders;
	RAISE NOTICE 'worldgen: done in % s', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
END
$build$;
COMMENT ON FUNCTION o2o_gen.build(bigint, int, int, int, int, int) IS
	'replace every row of the o2o tables with a generated world (deterministic for a seed)';
