/*
 * test/fuzz/dml.sql -- family "dml": the C triggers through random INSERTs
 * and UPDATEs of dealers, orders, stock, installers, installer days and
 * order events, with good and bad values (bad kinds, radii, quantities,
 * prices, times, SRIDs, geometry types, empty and NaN points, unknown
 * keys, duplicate keys, bookings past capacity, rewritten history).
 *
 * Oracle: a statement with a bad value fails with a SQLSTATE the README's
 * Errors table gives for that rule (any of them when several rules are
 * broken), and one without succeeds; after a success the derived columns
 * are what the README says:
 *  - dealer and order: grid_id = o2o_grid_of(location) (NULL outside every
 *    grid for an order; O2001 for a dealer), region_id = that grid's;
 *  - order: unit_price = o2o_national_price(sku, created_at), price_from the
 *    period's valid_from;
 *  - stock: region_id and grid_id its dealer's; installer, installer day:
 *    region_id its dealer's; order event: region_id its order's;
 *  - a dealer's stock and installers follow it when it moves.
 * Statements that would break the bookkeeping invariants (reserved units,
 * bookings) are rolled back after the check; the others are kept, half of
 * the time, so the world drifts.  After each statement every derived column
 * of the world is checked again, with the invariants.
 */

-- a location argument for a dealer or an order, and what the column's
-- rules make of it: errs NULL when it is a valid point
CREATE FUNCTION fuzz.dml_location(OUT g geometry, OUT lit text, OUT errs text[])
	LANGUAGE plpgsql
	AS $$
DECLARE
	p record;
BEGIN
	p := fuzz.gen_point(true);
	g := p.g;
	lit := fuzz.lit(g);
	IF GeometryType(g) = 'MULTIPOINT' AND ST_IsEmpty(g) AND ST_SRID(g) IN (0, 4326) AND ST_NDims(g) = 2 THEN
		errs := '{22023,23514}';	-- PostGIS lets an empty MULTIPOINT into a Point column as an empty point
	ELSIF GeometryType(g) <> 'POINT' OR ST_SRID(g) NOT IN (0, 4326) OR ST_NDims(g) <> 2 THEN
		errs := '{22023}';		-- PostGIS: the column's type, SRID or dimensions
	ELSIF ST_IsEmpty(g) OR p.lon = 'NaN' OR p.lat = 'NaN' OR p.lon < -180 OR p.lon > 180
		  OR p.lat < -90 OR p.lat > 90 THEN
		errs := '{23514}';		-- the check constraints
	END IF;
	IF ST_SRID(g) = 0 THEN
		g := ST_SetSRID(g, 4326);		-- the column's SRID
	END IF;
END
$$;

-- o2o_grid_of of a valid location, as the triggers must derive it
CREATE FUNCTION fuzz.grid_of(g geometry) RETURNS int
	LANGUAGE sql STABLE
	AS $$ SELECT o2o_grid_of(ST_SetSRID(ST_MakePoint(ST_X(g), ST_Y(g)), 4326)) $$;

-- the derived columns of one dealer, its stock and installers: the first thing wrong, or NULL
CREATE FUNCTION fuzz.dealer_check(did int) RETURNS text
	LANGUAGE sql STABLE
	AS $$
	SELECT coalesce(
		(SELECT CASE WHEN d.grid_id IS DISTINCT FROM fuzz.grid_of(d.location)
						 THEN format('dealer %s: grid_id %s, o2o_grid_of says %s', did, d.grid_id, fuzz.grid_of(d.location))
					 WHEN d.region_id IS DISTINCT FROM (SELECT g.region_id FROM o2o.grid g WHERE g.grid_id = d.grid_id)
						 THEN format('dealer %s: region_id %s, its grid''s is %s', did, d.region_id,
									 (SELECT g.region_id FROM o2o.grid g WHERE g.grid_id = d.grid_id)) END
		   FROM o2o.dealer d WHERE d.dealer_id = did),
		(SELECT format('stock (%s, %s): region_id %s grid_id %s, the dealer''s %s and %s', did, s.sku, s.region_id, s.grid_id,
					   d.region_id, d.grid_id)
		   FROM o2o.stock s JOIN o2o.dealer d USING (dealer_id)
		  WHERE s.dealer_id = did AND (s.region_id IS DISTINCT FROM d.region_id OR s.grid_id IS DISTINCT FROM d.grid_id) LIMIT 1),
		(SELECT format('installer %s: region_id %s, the dealer''s %s', i.installer_id, i.region_id, d.region_id)
		   FROM o2o.installer i JOIN o2o.dealer d USING (dealer_id)
		  WHERE i.dealer_id = did AND i.region_id IS DISTINCT FROM d.region_id LIMIT 1))
$$;

CREATE FUNCTION fuzz.order_check(oid bigint) RETURNS text
	LANGUAGE sql STABLE
	AS $$
	SELECT CASE WHEN o.grid_id IS DISTINCT FROM fuzz.grid_of(o.location)
					THEN format('order %s: grid_id %s, o2o_grid_of says %s', oid, o.grid_id, fuzz.grid_of(o.location))
				WHEN o.region_id IS DISTINCT FROM (SELECT g.region_id FROM o2o.grid g WHERE g.grid_id = o.grid_id)
					THEN format('order %s: region_id %s, its grid''s is %s', oid, o.region_id,
								(SELECT g.region_id FROM o2o.grid g WHERE g.grid_id = o.grid_id))
				WHEN o.unit_price IS DISTINCT FROM o2o_national_price(o.sku, o.created_at)
					THEN format('order %s: unit_price %s, the national price at %s is %s', oid, o.unit_price, o.created_at,
								o2o_national_price(o.sku, o.created_at))
				WHEN o.price_from IS DISTINCT FROM (SELECT n.valid_from FROM o2o.national_price n WHERE n.sku = o.sku
													  AND n.valid_from <= o.created_at AND (n.valid_to IS NULL OR o.created_at < n.valid_to))
					THEN format('order %s: price_from %s is not the period in force', oid, o.price_from) END
	  FROM o2o.orders o WHERE o.order_id = oid
$$;

/*
 * Run one DML statement in a subtransaction; after a success, run the
 * check (a query of one text column: what is wrong, or NULL); keep the
 * change or undo it.
 */
CREATE FUNCTION fuzz.dml_run(e int, sql text, errs text[], check_sql text, keep boolean) RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	st text;
	msg text;
	bad text;
	t0 timestamptz;
	ms float8;
BEGIN
	PERFORM fuzz.trace(sql);
	BEGIN
		t0 := clock_timestamp();
		BEGIN
			EXECUTE sql;
		EXCEPTION WHEN query_canceled THEN
			RAISE SQLSTATE 'FZ001' USING MESSAGE = sql;
		WHEN OTHERS THEN
			st := SQLSTATE; msg := SQLERRM;
		END;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		IF st IS NULL AND check_sql IS NOT NULL THEN
			EXECUTE check_sql INTO bad;
		END IF;
		IF NOT keep THEN
			RAISE SQLSTATE 'FZ002';
		END IF;
	EXCEPTION WHEN SQLSTATE 'FZ002' THEN
		NULL;
	END;
	RETURN fuzz.judge(e, 'dml', ms, sql, errs IS NULL, errs, bad IS NULL,
					  'derived columns as the README says', bad, st, msg);
END
$$;

CREATE FUNCTION fuzz.errs_add(errs text[], cond boolean, code text) RETURNS text[]
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN cond THEN coalesce(errs, '{}') || code ELSE errs END $$;

CREATE FUNCTION fuzz.some_dealer() RETURNS int
	LANGUAGE sql VOLATILE
	AS $$ SELECT d.dealer_id FROM o2o.dealer d WHERE d.dealer_id >= (SELECT fuzz.ri(1, max(dealer_id)) FROM o2o.dealer)
		   ORDER BY d.dealer_id LIMIT 1 $$;

CREATE FUNCTION fuzz.some_order() RETURNS bigint
	LANGUAGE sql VOLATILE
	AS $$ SELECT o.order_id FROM o2o.orders o WHERE o.order_id >= (SELECT fuzz.ri(1, max(order_id)) FROM o2o.orders)
		   ORDER BY o.order_id LIMIT 1 $$;

CREATE FUNCTION fuzz.some_installer() RETURNS int
	LANGUAGE sql VOLATILE
	AS $$ SELECT i.installer_id FROM o2o.installer i WHERE i.installer_id >= (SELECT fuzz.ri(1, max(installer_id)) FROM o2o.installer)
		   ORDER BY i.installer_id LIMIT 1 $$;

-- a dealer: inserted (new, or an existing id) or updated (moved, junk grid/region, bad values)
CREATE FUNCTION fuzz.dml_dealer() RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	loc record := fuzz.dml_location();
	did int;
	kind text := CASE WHEN random() < 0.9 THEN fuzz.pick(ARRAY['agent', 'retailer', 'service_center'])
					  ELSE fuzz.pick(ARRAY['shop', '', 'AGENT', 'agent ']) END;
	radius float8 := CASE WHEN random() < 0.9 THEN 1 + random() * 99999
						  ELSE fuzz.pick(ARRAY[0, -1, 1000000, 1000000.001, 'NaN', 'Infinity', 5e-324]::float8[]) END;
	junk_grid text := fuzz.pick(ARRAY['NULL', '0', '-1', '99999', '1', '2147483647']);
	junk_region text := fuzz.pick(ARRAY['NULL', '0', '-7', '12345']);
	errs text[] := loc.errs;
	sql text;
	exists_ boolean;
BEGIN
	IF errs IS NULL AND fuzz.grid_of(loc.g) IS NULL THEN
		errs := '{O2001}';		-- outside every grid
	END IF;
	errs := fuzz.errs_add(errs, kind NOT IN ('agent', 'retailer', 'service_center'), '23514');
	errs := fuzz.errs_add(errs, NOT (radius > 0 AND radius <= 1000000), '23514');
	IF random() < 0.5 THEN
		did := CASE WHEN random() < 0.8 THEN (SELECT max(dealer_id) FROM o2o.dealer WHERE dealer_id < 1000000) + fuzz.ri(1, 3)
					ELSE fuzz.pick(ARRAY[fuzz.some_dealer(), 0, -1, 2147483647]) END;
		exists_ := EXISTS (SELECT 1 FROM o2o.dealer d WHERE d.dealer_id = did);
		-- junk grid_id: the trigger derives the real one; only a grid that is not there could fail, were it kept
		errs := fuzz.errs_add(errs, exists_, '23505');
		sql := format('INSERT INTO o2o.dealer (dealer_id, name, kind, location, grid_id, region_id, service_radius_m, active) '
					  'VALUES (%s, %L, %L, %s, %s, %s, %s, %s)', did, 'fuzz dealer ' || did, kind, loc.lit, junk_grid,
					  junk_region, quote_literal(radius) || '::float8', (random() < 0.9)::text);
	ELSE
		did := fuzz.some_dealer();
		CASE fuzz.ri(1, 4)
			WHEN 1, 2 THEN		-- a move
				sql := format('UPDATE o2o.dealer SET location = %s WHERE dealer_id = %s', loc.lit, did);
				errs := loc.errs;
				IF errs IS NULL AND fuzz.grid_of(loc.g) IS NULL THEN
					errs := '{O2001}';
				END IF;
			WHEN 3 THEN			-- grid and region given: derived again from the location
				sql := format('UPDATE o2o.dealer SET grid_id = %s, region_id = %s WHERE dealer_id = %s', junk_grid, junk_region, did);
				errs := NULL;
			ELSE
				sql := format('UPDATE o2o.dealer SET kind = %L, service_radius_m = %s, active = %s WHERE dealer_id = %s',
							  kind, quote_literal(radius) || '::float8', (random() < 0.8)::text, did);
				errs := NULL;
				errs := fuzz.errs_add(errs, kind NOT IN ('agent', 'retailer', 'service_center'), '23514');
				errs := fuzz.errs_add(errs, NOT (radius > 0 AND radius <= 1000000), '23514');
		END CASE;
	END IF;
	-- kept half of the time (dealers with extreme ids never: ids stay dense)
	RETURN fuzz.dml_run(1, sql, errs, format('SELECT fuzz.dealer_check(%s)', did), random() < 0.5 AND did BETWEEN 1 AND 999999);
END
$$;

-- an order: inserted with good and bad SKUs, quantities, prices, times, places; or updated
CREATE FUNCTION fuzz.dml_orders() RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	loc record := fuzz.dml_location();
	v_sku text := CASE WHEN random() < 0.85 THEN (SELECT p.sku FROM o2o.product p WHERE p.sku NOT LIKE 'FZ%' ORDER BY random() LIMIT 1)
					 WHEN random() < 0.5 THEN (SELECT f.sku FROM fuzz.price_sku f ORDER BY random() LIMIT 1)
					 ELSE fuzz.pick(ARRAY['NOPE-1', 'ac-001', '', NULL]) END;
	qty int := CASE WHEN random() < 0.92 THEN fuzz.ri(1, 3)::int ELSE fuzz.pick(ARRAY[0, -1, -2147483648, 2147483647, NULL]) END;
	created timestamptz := CASE WHEN random() < 0.85 THEN timestamptz '2026-11-01 00:00+08' + random() * interval '60 days'
								ELSE fuzz.pick(ARRAY['2024-06-01 00:00+08', '2025-01-01 00:00+08', '2024-12-31 23:59:59.999999+08',
													 '2026-01-01 00:00+08', '2025-12-31 23:59:59.999999+08', 'infinity',
													 '-infinity']::timestamptz[]) END;
	national numeric;
	price numeric;
	origin text := CASE WHEN random() < 0.7 THEN 'NULL' WHEN random() < 0.9 THEN fuzz.some_dealer()::text ELSE '987654' END;
	status text := CASE WHEN random() < 0.95 THEN 'pending' ELSE fuzz.pick(ARRAY['bogus', 'PENDING']) END;
	errs text[] := loc.errs;
	known boolean;
	oid bigint;
	sql text;
BEGIN
	known := EXISTS (SELECT 1 FROM o2o.product p WHERE p.sku = v_sku);
	IF random() < 0.6 THEN
		IF known THEN
			national := o2o_national_price(v_sku, created);
		END IF;
		price := CASE WHEN random() < 0.7 THEN NULL WHEN random() < 0.6 THEN national
					  ELSE fuzz.pick(ARRAY[national + 0.01, national + 0.004, 0, -1, 1, national - 0.006]) END;
		-- a NULL SKU or quantity: NOT NULL (the price guard once crashed on a NULL SKU)
		errs := fuzz.errs_add(errs, v_sku IS NULL OR qty IS NULL, '23502');
		errs := fuzz.errs_add(errs, NOT known AND v_sku IS NOT NULL, '23503');
		errs := fuzz.errs_add(errs, known AND national IS NULL, 'O2007');
		errs := fuzz.errs_add(errs, price IS NOT NULL AND national IS NOT NULL AND round(price, 2) <> national, 'O2008');
		errs := fuzz.errs_add(errs, round(price, 2) <= 0, '23514');
		errs := fuzz.errs_add(errs, qty <= 0, '23514');
		errs := fuzz.errs_add(errs, status NOT IN ('pending'), '23514');
		errs := fuzz.errs_add(errs, origin = '987654', '23503');
		sql := format('INSERT INTO o2o.orders (sku, qty, location, address, unit_price, origin_dealer_id, status, created_at) '
					  'VALUES (%L, %s, %s, ''No. 1, Fuzz Road'', %s, %s, %L, %L)',
					  v_sku, coalesce(qty::text, 'NULL'), loc.lit, coalesce(price::text, 'NULL'), origin, status, created);
		RETURN fuzz.dml_run(2, sql, errs, 'SELECT fuzz.order_check((SELECT max(order_id) FROM o2o.orders))', random() < 0.5);
	END IF;
	oid := fuzz.some_order();
	CASE fuzz.ri(1, 4)
		WHEN 1, 2 THEN		-- a new delivery point
			sql := format('UPDATE o2o.orders SET location = %s WHERE order_id = %s', loc.lit, oid);
		WHEN 3 THEN			-- another price: never
			price := (SELECT o.unit_price FROM o2o.orders o WHERE o.order_id = oid) + fuzz.pick(ARRAY[0, 0.01, -1, 1000]);
			sql := format('UPDATE o2o.orders SET unit_price = %s WHERE order_id = %s', price, oid);
			errs := CASE WHEN price <> (SELECT o.unit_price FROM o2o.orders o WHERE o.order_id = oid) THEN '{O2009}' END;
		ELSE				-- placed at another time: the price in force then must be the one it has
			sql := format('UPDATE o2o.orders SET created_at = %L WHERE order_id = %s', created, oid);
			SELECT CASE WHEN o2o_national_price(o.sku, created) IS NULL THEN '{O2007}'
						WHEN o2o_national_price(o.sku, created) <> o.unit_price THEN '{O2008}' END
			  INTO errs FROM o2o.orders o WHERE o.order_id = oid;
	END CASE;
	RETURN fuzz.dml_run(2, sql, errs, format('SELECT fuzz.order_check(%s)', oid), random() < 0.5);
END
$$;

-- a stock row: inserted (known or unknown dealer and SKU, duplicates, bad counts) or updated
CREATE FUNCTION fuzz.dml_stock() RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	did int := CASE WHEN random() < 0.9 THEN fuzz.some_dealer() ELSE 987654 END;
	v_sku text := CASE WHEN random() < 0.93 THEN (SELECT p.sku FROM o2o.product p ORDER BY random() LIMIT 1) ELSE 'NOPE-2' END;
	on_hand int := CASE WHEN random() < 0.9 THEN fuzz.ri(0, 30)::int ELSE fuzz.pick(ARRAY[-1, 2147483647, -2147483648]) END;
	reserved int := CASE WHEN random() < 0.8 THEN 0 ELSE fuzz.pick(ARRAY[1, on_hand, least(on_hand::bigint + 1, 2147483647)::int, -1]) END;
	errs text[];
	sql text;
	other int;
BEGIN
	IF random() < 0.6 THEN
		errs := fuzz.errs_add(errs, did = 987654 OR v_sku = 'NOPE-2', '23503');
		errs := fuzz.errs_add(errs, EXISTS (SELECT 1 FROM o2o.stock s WHERE s.dealer_id = did AND s.sku = v_sku), '23505');
		errs := fuzz.errs_add(errs, on_hand < 0 OR reserved < 0 OR reserved > on_hand, '23514');
		sql := format('INSERT INTO o2o.stock (dealer_id, sku, on_hand, reserved, region_id, grid_id) VALUES (%s, %L, %s, %s, %s, %s)',
					  did, v_sku, on_hand, reserved, fuzz.pick(ARRAY['0', '-3', '777']), fuzz.pick(ARRAY['NULL', '0', '5']));
		-- reserved units no assignment holds: checked, then undone
		RETURN fuzz.dml_run(3, sql, errs, format('SELECT fuzz.dealer_check(%s)', did), reserved = 0 AND random() < 0.5);
	END IF;
	SELECT s.dealer_id, s.sku INTO did, v_sku FROM o2o.stock s
	 WHERE s.dealer_id >= fuzz.some_dealer() ORDER BY s.dealer_id, s.sku LIMIT 1;
	IF did IS NULL THEN
		SELECT s.dealer_id, s.sku INTO did, v_sku FROM o2o.stock s ORDER BY s.dealer_id, s.sku LIMIT 1;
	END IF;
	IF random() < 0.5 THEN
		-- to another dealer: region and grid follow
		other := CASE WHEN random() < 0.9 THEN fuzz.some_dealer() ELSE 987654 END;
		errs := fuzz.errs_add(errs, other = 987654, '23503');
		errs := fuzz.errs_add(errs, other <> did AND EXISTS (SELECT 1 FROM o2o.stock s WHERE s.dealer_id = other AND s.sku = v_sku), '23505');
		sql := format('UPDATE o2o.stock SET dealer_id = %s WHERE dealer_id = %s AND sku = %L', other, did, v_sku);
		RETURN fuzz.dml_run(3, sql, errs, format('SELECT fuzz.dealer_check(%s)', other), random() < 0.5);
	END IF;
	errs := fuzz.errs_add(errs, on_hand < 0 OR reserved < 0 OR reserved > on_hand, '23514');
	-- counts, and a region and grid given: the dealer's they must stay (README: the database enforces it)
	sql := format('UPDATE o2o.stock SET on_hand = %s, reserved = %s, region_id = %s, grid_id = %s WHERE dealer_id = %s AND sku = %L',
				  on_hand, reserved, fuzz.pick(ARRAY['region_id', 'region_id', '0', '-3', '777']),
				  fuzz.pick(ARRAY['grid_id', 'grid_id', 'NULL', '1']), did, v_sku);
	RETURN fuzz.dml_run(3, sql, errs, format('SELECT fuzz.dealer_check(%s)', did), false);
END
$$;

-- an installer: inserted (skills, capacity, dealer good or bad) or moved to another dealer
CREATE FUNCTION fuzz.dml_installer() RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	did int := CASE WHEN random() < 0.92 THEN fuzz.some_dealer() ELSE 987654 END;
	skills text := CASE WHEN random() < 0.85 THEN fuzz.pick(ARRAY['{ac}', '{ac,water_heater}', '{range_hood,purifier,ac}', '{fridge}'])
						ELSE fuzz.pick(ARRAY['{}', '{tv}', '{ac,tv}', '{AC}']) END;
	cap int := CASE WHEN random() < 0.9 THEN fuzz.ri(1, 6)::int ELSE fuzz.pick(ARRAY[0, -1, 2147483647]) END;
	iid int;
	errs text[];
	sql text;
BEGIN
	IF random() < 0.6 THEN
		iid := CASE WHEN random() < 0.9 THEN (SELECT max(installer_id) FROM o2o.installer) + fuzz.ri(1, 3)
					ELSE fuzz.some_installer() END;
		errs := fuzz.errs_add(errs, did = 987654, '23503');
		errs := fuzz.errs_add(errs, EXISTS (SELECT 1 FROM o2o.installer i WHERE i.installer_id = iid), '23505');
		errs := fuzz.errs_add(errs, skills IN ('{}', '{tv}', '{ac,tv}', '{AC}') OR cap <= 0, '23514');
		sql := format('INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity, active, region_id) '
					  'VALUES (%s, %s, ''fuzz'', %L, %s, %s, %s)', iid, did, skills, cap, (random() < 0.9)::text,
					  fuzz.pick(ARRAY['0', '-3', '777']));
		RETURN fuzz.dml_run(4, sql, errs, format('SELECT fuzz.dealer_check(%s)', did), random() < 0.5);
	END IF;
	iid := fuzz.some_installer();
	IF random() < 0.7 THEN
		-- to another dealer: the region follows
		errs := fuzz.errs_add(errs, did = 987654, '23503');
		sql := format('UPDATE o2o.installer SET dealer_id = %s WHERE installer_id = %s', did, iid);
		RETURN fuzz.dml_run(4, sql, errs, format('SELECT fuzz.dealer_check(%s)', did), random() < 0.5);
	END IF;
	-- a region given: the dealer's it must stay (README: the database enforces it)
	sql := format('UPDATE o2o.installer SET region_id = %s, daily_capacity = greatest(daily_capacity, %s) WHERE installer_id = %s',
				  fuzz.pick(ARRAY['region_id', '0', '-3', '777']), greatest(cap, 1), iid);
	RETURN fuzz.dml_run(4, sql, NULL,
						format('SELECT fuzz.dealer_check((SELECT dealer_id FROM o2o.installer WHERE installer_id = %s))', iid), false);
END
$$;

-- bookings: within and past capacity, negative, unknown installer, duplicate days; always undone
CREATE FUNCTION fuzz.dml_installer_day() RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	iid int := CASE WHEN random() < 0.92 THEN fuzz.some_installer() ELSE 987654 END;
	cap int := (SELECT i.daily_capacity FROM o2o.installer i WHERE i.installer_id = iid);
	booked int := CASE WHEN random() < 0.7 THEN fuzz.ri(0, least(coalesce(cap, 3), 1000))::int
					   ELSE fuzz.pick(ARRAY[least(coalesce(cap, 3)::bigint + 1, 2147483647)::int, -1, 2147483647]) END;
	day date := date '2026-11-01' + fuzz.ri(0, 400)::int;
	errs text[];
	sql text;
	dup boolean := random() < 0.1;
BEGIN
	errs := fuzz.errs_add(errs, iid = 987654, '23503');
	errs := fuzz.errs_add(errs, booked < 0, '23514');
	errs := fuzz.errs_add(errs, cap IS NOT NULL AND booked > cap, 'O2004');
	errs := fuzz.errs_add(errs, dup, '23505');
	sql := format('INSERT INTO o2o.installer_day (installer_id, day, booked, region_id) VALUES (%s, %L, %s, %s)',
				  iid, day, booked, fuzz.pick(ARRAY['NULL', '0', '-3']));
	IF dup THEN
		sql := sql || format(', (%s, %L, 0, NULL)', iid, day);
	END IF;
	IF random() < 0.4 AND errs IS NULL THEN
		-- and then raised, to capacity or past it, by a second statement
		booked := CASE WHEN random() < 0.5 THEN coalesce(cap, 3) ELSE least(coalesce(cap, 3)::bigint + 1, 2147483647)::int END;
		errs := fuzz.errs_add(errs, booked > cap, 'O2004');
		sql := sql || format('; UPDATE o2o.installer_day SET booked = %s, region_id = -9 WHERE installer_id = %s AND day = %L',
							 booked, iid, day);
	END IF;
	RETURN fuzz.dml_run(5, sql, errs,
						format('SELECT format(''installer day (%%s, %%s): region_id %%s, the dealer''''s %%s'', b.installer_id, b.day, b.region_id, d.region_id) '
							   'FROM o2o.installer_day b JOIN o2o.installer i USING (installer_id) JOIN o2o.dealer d ON d.dealer_id = i.dealer_id '
							   'WHERE b.installer_id = %s AND b.day = %L AND b.region_id IS DISTINCT FROM d.region_id', iid, day),
						false);
END
$$;

-- order events: appended (kept), or rewritten (refused)
CREATE FUNCTION fuzz.dml_order_event() RETURNS fuzz.out
	LANGUAGE plpgsql
	AS $$
DECLARE
	oid bigint := CASE WHEN random() < 0.92 THEN fuzz.some_order() ELSE 98765432 END;
	ev bigint := (SELECT e.event_id FROM o2o.order_event e ORDER BY random() LIMIT 1);
	errs text[];
	sql text;
BEGIN
	IF ev IS NULL OR random() < 0.6 THEN
		errs := fuzz.errs_add(errs, oid = 98765432, '23503');
		sql := format('INSERT INTO o2o.order_event (order_id, region_id, event, status, detail) '
					  'VALUES (%s, %s, %L, %L, %L)', oid, fuzz.pick(ARRAY['NULL', '0', '-5']),
					  fuzz.pick(ARRAY['note', 'dispatched', '', 'x']), fuzz.pick(ARRAY['pending', 'weird']),
					  fuzz.pick(ARRAY['{}', '{"k": 1}', NULL]));
		RETURN fuzz.dml_run(6, sql, errs,
							format('SELECT format(''event of order %%s: region_id %%s, the order''''s %%s'', e.order_id, e.region_id, o.region_id) '
								   'FROM o2o.order_event e JOIN o2o.orders o USING (order_id) '
								   'WHERE e.event_id = (SELECT max(event_id) FROM o2o.order_event) AND e.region_id IS DISTINCT FROM o.region_id'),
							random() < 0.5);
	END IF;
	sql := CASE WHEN random() < 0.5 THEN format('UPDATE o2o.order_event SET status = ''rewritten'' WHERE event_id = %s', ev)
				ELSE format('DELETE FROM o2o.order_event WHERE event_id = %s', ev) END;
	RETURN fuzz.dml_run(6, sql, '{O2002}', NULL, false);
END
$$;

CREATE FUNCTION fuzz.dml_step(seed bigint, i bigint, e int) RETURNS fuzz.out[]
	LANGUAGE plpgsql
	AS $$
BEGIN
	CASE e
		WHEN 1 THEN RETURN ARRAY[fuzz.dml_dealer()];
		WHEN 2 THEN RETURN ARRAY[fuzz.dml_orders()];
		WHEN 3 THEN RETURN ARRAY[fuzz.dml_stock()];
		WHEN 4 THEN RETURN ARRAY[fuzz.dml_installer()];
		WHEN 5 THEN RETURN ARRAY[fuzz.dml_installer_day()];
		ELSE RETURN ARRAY[fuzz.dml_order_event()];
	END CASE;
END
$$;
