-- stands alone: make installcheck REGRESS=security
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;
DROP EXTENSION IF EXISTS o2o_route CASCADE;
RESET client_min_messages;
--
-- Search-path hijack: a login with CREATE on the extension's schema plants
-- overloads that match better than the catalog's (>=(float8, int) against
-- float8 >= float8, jsonb_build_object(text, int) against VARIADIC "any",
-- count(text) against count("any"), ...).  Planted before CREATE EXTENSION
-- they would be bound into constraints and views; planted after, they
-- would be picked by functions at run time, as the superuser calling them.
-- Every planted object here raises when it runs.  The scenario runs every
-- function, trigger, constraint and view of the extension, once with the
-- objects planted before CREATE EXTENSION and once with them planted
-- after; none may run.
--
\set SHOW_CONTEXT never

-- Plant: operators on pairs of types the catalog has no exact operator for,
-- functions and aggregates of the names the extension uses on argument
-- types the catalog (or PostGIS) has no exact function for.
CREATE TABLE public.planted (kind text, name text, args text);
CREATE FUNCTION public.o2o_plant() RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $plant$
DECLARE
	types text[] := ARRAY['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision', 'text',
						  'boolean', 'date', 'timestamp with time zone', 'jsonb', 'text[]', 'integer[]',
						  'tstzrange'];
	ops text[] := ARRAY['=', '<>', '<', '<=', '>', '>=', '+', '-', '*', '/', '<@', '@>', '&&', '||'];
	funcs text[] := ARRAY['cardinality', 'array_length', 'round', 'trunc', 'abs', 'format', 'jsonb_build_object',
						  'date_trunc', 'tstzrange', 'unnest', 'upper', 'lower', 'length', 'greatest',
						  'st_x', 'st_y', 'st_xmin', 'st_xmax', 'st_ymin', 'st_ymax', 'st_isempty', 'st_isvalid',
						  'st_covers', 'st_astext', 'now', 'clock_timestamp', 'nextval', 'ceil', 'btrim',
						  'jsonb_agg', 'pg_notify', 'pg_visible_in_snapshot', 'pg_snapshot_xmin', 'current_setting',
						  'jsonb_array_length', 'pg_sleep'];
	pgs text := (SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
				  WHERE e.extname = 'postgis');
	aggs text[] := ARRAY['count', 'sum', 'min', 'max', 'avg', 'lag', 'lead', 'array_agg', 'string_agg'];
	n bigint := 0;
	l text;
	r text;
	nm text;
	sig text;
	cmp boolean;
BEGIN
	FOREACH nm IN ARRAY ops LOOP
		cmp := nm IN ('=', '<>', '<', '<=', '>', '>=', '<@', '@>', '&&');
		FOREACH l IN ARRAY types LOOP
			FOREACH r IN ARRAY types LOOP
				CONTINUE WHEN EXISTS (SELECT 1 FROM pg_operator o
									   WHERE o.oprname = nm AND o.oprleft = l::regtype AND o.oprright = r::regtype);
				n := n + 1;
				EXECUTE format($f$CREATE FUNCTION public.o2o_trap_op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql
								 AS 'BEGIN RAISE EXCEPTION ''planted operator %s(%s, %s) ran''; END'$f$,
							   n, l, r, CASE WHEN cmp THEN 'boolean' ELSE l END, nm, l, r);
				EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.o2o_trap_op_%s)',
							   nm, l, r, n);
				INSERT INTO public.planted VALUES ('operator', nm, l || ', ' || r);
			END LOOP;
		END LOOP;
	END LOOP;
	FOREACH nm IN ARRAY funcs LOOP
		FOREACH l IN ARRAY types || ARRAY[pgs || '.geometry', pgs || '.box3d'] LOOP
			FOREACH sig IN ARRAY ARRAY[l, l || ', integer', l || ', text', 'text, ' || l, l || ', ' || l] LOOP
				CONTINUE WHEN EXISTS (SELECT 1 FROM pg_proc p
									   WHERE p.proname = nm
										 AND array_to_string(p.proargtypes::regtype[], ', ')
											 = (SELECT string_agg(t::regtype::text, ', ')
												  FROM unnest(string_to_array(sig, ', ')) t));
				n := n + 1;
				EXECUTE format($f$CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql
								 AS 'BEGIN RAISE EXCEPTION ''planted function %s(%s) ran''; END'$f$,
							   nm, sig, CASE WHEN nm IN ('st_isempty', 'st_isvalid', 'st_covers') THEN 'boolean'
											 WHEN nm IN ('cardinality', 'array_length', 'length') THEN 'integer'
											 WHEN nm LIKE 'st\_%' AND nm <> 'st_astext' THEN 'double precision'
											 WHEN nm IN ('format', 'st_astext') THEN 'text'
											 WHEN nm = 'jsonb_build_object' THEN 'jsonb'
											 ELSE l END,
							   nm, sig);
				INSERT INTO public.planted VALUES ('function', nm, sig);
			END LOOP;
		END LOOP;
	END LOOP;
	-- the shapes the extension calls with several arguments
	FOREACH sig IN ARRAY ARRAY['text, integer', 'text, bigint', 'text, integer, text, text', 'text, integer, text, integer',
							   'text, integer, text, boolean', 'text, bigint, text, text'] LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM public.planted WHERE name = 'jsonb_build_object' AND args = sig)
				   OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = 'jsonb_build_object'
								 AND array_to_string(p.proargtypes::regtype[], ', ') = sig);
		EXECUTE format($f$CREATE FUNCTION public.jsonb_build_object(%s) RETURNS jsonb LANGUAGE plpgsql
						 AS 'BEGIN RAISE EXCEPTION ''planted function jsonb_build_object(%s) ran''; END'$f$, sig, sig);
		INSERT INTO public.planted VALUES ('function', 'jsonb_build_object', sig);
		n := n + 1;
	END LOOP;
	-- and those of tracking (0.9.0): each step's detail, a reschedule, a
	-- move, a re-route, the tracking page (its dealer, installer, steps and
	-- the page itself)
	FOREACH sig IN ARRAY ARRAY[
			'text, timestamp with time zone, text, timestamp with time zone, text, boolean',
			'text, boolean, text, integer', 'text, text, text, integer',
			'text, text, text, integer, text, date, text, text',
			'text, date, text, date, text, text',
			'text, date, text, text, text, integer, text, date, text, text, text, integer',
			'text, text, text, integer, text, integer, text, integer, text, date, text, text',
			'text, text, text, integer, text, integer, text, date, text, text',
			'text, integer, text, text, text, text',
			'text, integer, text, text, text, text, text, timestamp with time zone, text, jsonb',
			'text, bigint, text, text, text, text, text, text, text, integer, text, text, text, date, text, text, '
			'text, timestamp with time zone, text, timestamp with time zone, text, date, text, text, '
			'text, timestamp with time zone, text, timestamp with time zone, text, timestamp with time zone, '
			'text, boolean, text, integer, text, jsonb, text, jsonb, text, jsonb'] LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM public.planted WHERE name = 'jsonb_build_object' AND args = sig);
		EXECUTE format($f$CREATE FUNCTION public.jsonb_build_object(%s) RETURNS jsonb LANGUAGE plpgsql
						 AS 'BEGIN RAISE EXCEPTION ''planted function jsonb_build_object(%s) ran''; END'$f$, sig, sig);
		INSERT INTO public.planted VALUES ('function', 'jsonb_build_object', sig);
		n := n + 1;
	END LOOP;
	-- operators the catalog has, shadowed exactly: the catalog's win while
	-- pg_catalog comes first in the search_path (as it does, implicitly or
	-- pinned), so these run only if a function put public before it
	FOREACH sig IN ARRAY ARRAY['>;timestamp with time zone;timestamp with time zone',
							   '<=;timestamp with time zone;timestamp with time zone',
							   '<;timestamp with time zone;timestamp with time zone',
							   '-;timestamp with time zone;timestamp with time zone',
							   '+;date;time without time zone', '+;date;integer', '<=;date;date', '>;date;date',
							   '>=;xid8;xid8', '/;numeric;numeric', '/;numeric;integer', '->>;jsonb;text',
							   '->;jsonb;text', '||;jsonb;jsonb', '=;text;text', '<>;text;text'] LOOP
		nm := split_part(sig, ';', 1); l := split_part(sig, ';', 2); r := split_part(sig, ';', 3);
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprnamespace = 'public'::regnamespace
								 AND o.oprname = nm AND o.oprleft = l::regtype AND o.oprright = r::regtype);
		n := n + 1;
		EXECUTE format($f$CREATE FUNCTION public.o2o_trap_op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql
						 AS 'BEGIN RAISE EXCEPTION ''planted operator %s(%s, %s) ran''; END'$f$,
					   n, l, r, CASE WHEN nm IN ('>', '<=', '<', '>=', '=', '<>') THEN 'boolean' ELSE l END, nm, l, r);
		EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.o2o_trap_op_%s)',
					   nm, l, r, n);
		INSERT INTO public.planted VALUES ('operator', nm, l || ', ' || r);
	END LOOP;
	FOREACH sig IN ARRAY ARRAY['text, text, bigint', 'text, bigint, text', 'text, text, integer', 'text, text, text, bigint',
							   'text, text, date, date', 'text, integer, date, text', 'text, integer, integer, integer',
							   'text, text, text'] LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = 'format'
								 AND array_to_string(p.proargtypes::regtype[], ', ') = sig);
		EXECUTE format($f$CREATE FUNCTION public.format(%s) RETURNS text LANGUAGE plpgsql
						 AS 'BEGIN RAISE EXCEPTION ''planted function format(%s) ran''; END'$f$, sig, sig);
		INSERT INTO public.planted VALUES ('function', 'format', sig);
		n := n + 1;
	END LOOP;
	-- aggregates, usable as window functions too
	FOREACH nm IN ARRAY aggs LOOP
		FOREACH l IN ARRAY types LOOP
			CONTINUE WHEN EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = nm AND p.pronargs = 1
									 AND p.proargtypes[0] = l::regtype);
			n := n + 1;
			EXECUTE format($f$CREATE FUNCTION public.o2o_trap_agg_%s(%s, %s) RETURNS %s LANGUAGE plpgsql
							 AS 'BEGIN RAISE EXCEPTION ''planted aggregate %s(%s) ran''; END'$f$,
						   n, CASE WHEN nm = 'count' THEN 'bigint' ELSE l END, l,
						   CASE WHEN nm = 'count' THEN 'bigint' ELSE l END, nm, l);
			EXECUTE format('CREATE AGGREGATE public.%I(%s) (SFUNC = public.o2o_trap_agg_%s, STYPE = %s)',
						   nm, l, n, CASE WHEN nm = 'count' THEN 'bigint' ELSE l END);
			INSERT INTO public.planted VALUES ('aggregate', nm, l);
		END LOOP;
	END LOOP;
	RETURN n;
END
$plant$;

-- Every function, trigger, constraint and view of the extension, as the
-- superuser.  Its own search_path is pg_catalog's, and it names the
-- extension's functions (public.), so that only the extension's own
-- resolution can reach a planted object.
CREATE FUNCTION public.o2o_scenario() RETURNS text LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $scenario$
DECLARE
	r text;
	v text[] := '{}';
	ids bigint[];
	snap pg_snapshot;
	snap_after pg_snapshot;
BEGIN
	SET LOCAL client_min_messages = warning;
	INSERT INTO o2o.grid (grid_id, code, name, province, city, county, region_id, climate, geom) VALUES
	 (1, 'G1', 'West', 'P', 'C', 'K', 1, 'north', 'SRID=4326;MULTIPOLYGON(((109 30,110 30,110 31,109 31,109 30)))'),
	 (2, 'G2', 'East', 'Q', 'D', 'L', 2, 'north', 'SRID=4326;MULTIPOLYGON(((110 30,111 30,111 31,110 31,110 30)))');
	INSERT INTO o2o.product VALUES ('FR-1', 'Fridge', 'fridge', false, NULL),
								   ('AC-1', 'AC', 'ac', true, '{north}');
	INSERT INTO o2o.national_price (sku, price, valid_from) VALUES
	 ('FR-1', 2999, '2020-01-01'), ('AC-1', 3999, '2020-01-01');
	INSERT INTO o2o.commission_rule (category, valid_from, dealer_share, installer_share, origin_share) VALUES
	 ('fridge', '2020-01-01', 0.05, 0, 0.01), ('ac', '2020-01-01', 0.05, 0.03, 0.01);
	INSERT INTO o2o.dealer (dealer_id, name, kind, location) VALUES
	 (1, 'One', 'retailer', 'SRID=4326;POINT(109.5 30.5)'), (2, 'Two', 'agent', 'SRID=4326;POINT(109.6 30.4)');
	INSERT INTO o2o.stock (dealer_id, sku, on_hand) VALUES (1, 'FR-1', 5), (2, 'FR-1', 5), (1, 'AC-1', 5);
	INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity) VALUES (1, 1, 'Wang', '{ac}', 3);
	INSERT INTO o2o.orders (sku, qty, location, address, origin_dealer_id) VALUES
	 ('FR-1', 1, 'SRID=4326;POINT(109.55 30.45)', 'a', 2), ('AC-1', 1, 'SRID=4326;POINT(109.5 30.5)', 'b', NULL),
	 ('FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', 'c', NULL), ('FR-1', 1, 'SRID=4326;POINT(108.99 30.5)', 'd', NULL);
	v := v || public.o2o_grid_of('SRID=4326;POINT(109.5 30.5)'::public.geometry)::text
		   || public.o2o_grid_of(109.5::float8, 30.5::float8)::text
		   || public.o2o_grid_nearest('SRID=4326;POINT(108.99 30.5)'::public.geometry, 5000::float8)::text
		   || (SELECT grids::text FROM public.o2o_grid_index_stats())
		   || public.o2o_national_price('FR-1'::text)::text
		   || (SELECT string_agg(level, ',') FROM public.o2o_stock_rollup('FR-1'::text))
		   || (SELECT string_agg(dealer_id::text, ',') FROM public.o2o_candidates(1::bigint, 10))
		   || public.o2o_assign(1::bigint)::text || public.o2o_assign(2::bigint)::text
		   || coalesce(public.o2o_decline(1::bigint, 'no truck'::text)::text, 'none');
	PERFORM public.o2o_complete(2::bigint);
	PERFORM public.o2o_cancel(1::bigint);
	v := v || public.o2o_assign_pending(10)::text;
	-- the storefront: promises, holds, an order placed with its hold, expiry
	v := v || (SELECT dealer_id::text FROM public.o2o_promise('FR-1'::text, 'SRID=4326;POINT(109.5 30.5)'::public.geometry, 1))
		   || (SELECT string_agg(coalesce(dealer_id, 0)::text, ',') FROM public.o2o_promise_skus(
				'SRID=4326;POINT(109.5 30.5)'::public.geometry, '{FR-1,AC-1}'::text[], '{1,1}'::int[]))
		   || (SELECT string_agg(coalesce(dealer_id, 0)::text, ',') FROM public.o2o_promise_places('FR-1'::text,
				ARRAY['SRID=4326;POINT(109.5 30.5)'::public.geometry], 1))
		   || public.o2o_hold('FR-1'::text, 'SRID=4326;POINT(109.5 30.5)'::public.geometry, 1, '10 minutes'::interval)::text
		   || public.o2o_hold('AC-1'::text, 'SRID=4326;POINT(109.5 30.5)'::public.geometry, 1, '10 minutes'::interval)::text;
	INSERT INTO o2o.orders (sku, qty, location, address, hold_id) VALUES
	 ('FR-1', 1, 'SRID=4326;POINT(109.5 30.5)', 'e', (SELECT min(hold_id) FROM o2o.hold));
	v := v || public.o2o_assign((SELECT max(order_id) FROM o2o.orders))::text
		   || public.o2o_release_hold((SELECT max(hold_id) FROM o2o.hold))::text;
	PERFORM public.o2o_hold('FR-1'::text, 'SRID=4326;POINT(109.5 30.5)'::public.geometry, 1, '10 minutes'::interval);
	UPDATE o2o.hold SET expires_at = now() - interval '1 second' WHERE state = 'held';
	v := v || public.o2o_expire_holds(10)::text
		   || (SELECT count(*)::text FROM o2o.invariant_violations);
	-- tracking (0.9.0): the time windows, progress through every step, the
	-- tracking page, the outbox (its NOTIFY trigger fires with each event)
	-- snapshots made from this transaction's xid, so that what o2o_events
	-- counts does not depend on which other xids ended meanwhile: in snap this
	-- transaction has not committed yet (its xid is at xmax), in snap_after
	-- it has (its xid is below xmin)
	snap := (pg_current_xact_id()::text || ':' || pg_current_xact_id()::text || ':')::pg_snapshot;
	UPDATE o2o.stock SET on_hand = on_hand + 20 WHERE dealer_id = 1;
	UPDATE o2o.stock SET on_hand = on_hand + 5 WHERE dealer_id = 2;
	INSERT INTO o2o.installer (installer_id, dealer_id, name, skills, daily_capacity, contact) VALUES
	 (2, 1, 'Li', '{ac}', 3, '555-2'), (3, 1, 'Zhao', '{ac}', 6, '555-3');
	v := v || (SELECT string_agg(time_window || '=' || o2o._window_capacity(7, time_window), ',' ORDER BY starts, ends)
				 FROM public.o2o_time_windows());
	INSERT INTO o2o.orders (sku, qty, location, address) VALUES
	 ('AC-1', 1, 'SRID=4326;POINT(109.5 30.5)', 't1'), ('AC-1', 1, 'SRID=4326;POINT(109.5 30.5)', 't2'),
	 ('FR-1', 1, 'SRID=4326;POINT(109.6 30.4)', 't3');
	SELECT array_agg(order_id ORDER BY order_id) INTO ids FROM o2o.orders WHERE address IN ('t1', 't2', 't3');
	v := v || public.o2o_assign(ids[1])::text || public.o2o_assign(ids[2])::text || public.o2o_assign(ids[3])::text;
	-- installed: dispatched, en_route (an ETA), arrived, installed, completed
	v := v || public.o2o_progress(ids[1], 'dispatched')::text
		   || public.o2o_progress(ids[1], 'en_route', now(), now() + interval '1 hour')::text
		   || public.o2o_progress(ids[1], 'en_route', now(), now() + interval '2 hours')::text
		   || public.o2o_progress(ids[1], 'arrived')::text
		   || public.o2o_progress(ids[1], 'installed')::text;
	PERFORM public.o2o_complete(ids[1]);
	-- failed, rescheduled to a window of another day, and a wrong step
	v := v || public.o2o_progress(ids[2], 'dispatched')::text
		   || public.o2o_progress(ids[2], 'failed', reason => 'nobody home')::text
		   || public.o2o_progress(ids[2], 'rescheduled', day => current_date + 2, time_window => 'afternoon')::text
		   || public.o2o_progress(ids[2], 'rescheduled', day => current_date + 3)::text;
	BEGIN
		PERFORM public.o2o_progress(ids[2], 'installed');
	EXCEPTION WHEN SQLSTATE 'O2006' THEN
		v := v || 'O2006'::text;
	END;
	-- a delivery without installation: delivered, then completed
	v := v || public.o2o_progress(ids[3], 'dispatched')::text || public.o2o_progress(ids[3], 'arrived')::text
		   || public.o2o_progress(ids[3], 'failed', reason => 'wrong address')::text
		   || public.o2o_progress(ids[3], 'rescheduled', day => current_date + 1, time_window => 'day')::text
		   || public.o2o_progress(ids[3], 'dispatched')::text || public.o2o_progress(ids[3], 'arrived')::text
		   || public.o2o_progress(ids[3], 'delivered')::text;
	PERFORM public.o2o_complete(ids[3]);
	snap_after := ((pg_current_xact_id()::text::bigint + 1)::text || ':'
				   || (pg_current_xact_id()::text::bigint + 1)::text || ':')::pg_snapshot;
	v := v || jsonb_array_length(public.o2o_track(ids[1])->'steps')::text
		   || (public.o2o_track(ids[2])->>'progress') || (public.o2o_track(ids[3])->>'status')
		   || (SELECT count(*)::text FROM public.o2o_events(snap, snap_after))
		   || (SELECT count(*)::text FROM public.o2o_events(snap_after, snap_after))
		   || (SELECT (count(*) > 0)::text FROM public.o2o_events(NULL));
	-- jeopardy: an installer cut, one stripped of its skill, one deactivated,
	-- each with jobs booked (assignments and a hold); a dealer closed with
	-- active jobs
	INSERT INTO o2o.orders (sku, qty, location, address)
	SELECT 'AC-1', 1, 'SRID=4326;POINT(109.5 30.5)', 'j' || k FROM generate_series(1, 6) k;
	INSERT INTO o2o.orders (sku, qty, location, address)
	SELECT 'FR-1', 1, 'SRID=4326;POINT(109.6 30.4)', 'f' || k FROM generate_series(1, 3) k;
	v := v || (SELECT string_agg(coalesce(public.o2o_assign(order_id)::text, '-'), ',' ORDER BY order_id)
				 FROM o2o.orders WHERE address ~ '^[jf][0-9]$');
	v := v || coalesce(public.o2o_hold('AC-1'::text, 'SRID=4326;POINT(109.5 30.5)'::public.geometry, 1,
									   '10 minutes'::interval)::text, 'no hold');
	UPDATE o2o.installer SET daily_capacity = 1 WHERE installer_id = 3;
	UPDATE o2o.installer SET skills = '{fridge}' WHERE installer_id = 2;
	UPDATE o2o.installer SET active = false
	 WHERE installer_id = (SELECT h.installer_id FROM o2o.hold h WHERE h.state = 'held' AND h.installer_id IS NOT NULL
							ORDER BY h.hold_id DESC LIMIT 1);
	UPDATE o2o.dealer SET active = false
	 WHERE dealer_id = (SELECT a.dealer_id FROM o2o.assignment a WHERE a.state = 'active' AND a.installer_id IS NULL
						 ORDER BY a.dealer_id DESC LIMIT 1);
	v := v || (SELECT string_agg(event || '=' || n, ',' ORDER BY event)
				 FROM (SELECT e.event, count(*) AS n FROM o2o.order_event e WHERE e.event IN ('moved', 'jeopardy')
						GROUP BY e.event) x)
		   || (SELECT count(*)::text FROM o2o.hold WHERE state = 'released')
		   || (SELECT count(*)::text FROM o2o.invariant_violations);
	-- the views of 0.9.0
	v := v || (SELECT count(*)::text FROM o2o.orders_at_risk) || (SELECT count(*)::text FROM o2o.delivery_outcomes)
		   || (SELECT string_agg(orders || ':' || kept || ':' || kept_share || ':' || within_3_days_share, ',')
				 FROM o2o.promises_kept)
		   || (SELECT string_agg(days || ':' || share || ':' || cumulative_share, ',') FROM o2o.days_to_install)
		   || (SELECT count(*)::text FROM o2o.arrivals)
		   || (SELECT string_agg(arrivals || ':' || late_share, ',') FROM o2o.late_arrivals_by_dealer)
		   || (SELECT string_agg(arrivals || ':' || late_share, ',') FROM o2o.late_arrivals_by_grid)
		   || (SELECT string_agg(reason || ':' || attempts, ',' ORDER BY reason) FROM o2o.failed_attempts);
	-- a dealer moves into the other region; a border moves
	UPDATE o2o.dealer SET location = 'SRID=4326;POINT(110.5 30.5)' WHERE dealer_id = 2;
	UPDATE o2o.grid SET geom = 'SRID=4326;MULTIPOLYGON(((109 30,110.6 30,110.6 31,109 31,109 30)))' WHERE grid_id = 1;
	BEGIN
		UPDATE o2o.order_event SET status = 'x';
	EXCEPTION WHEN SQLSTATE 'O2002' THEN
		v := v || 'append-only'::text;
	END;
	v := v || (SELECT count(*)::text FROM o2o.grid_coverage) || (SELECT count(*)::text FROM o2o.grid_holes)
		   || (SELECT count(*)::text FROM o2o.dealer_earnings_monthly) || (SELECT count(*)::text FROM o2o.price_history)
		   || (SELECT public.o2o_best(x, y::float8)::text FROM (VALUES (1::bigint, 2::float8)) t(x, y))
		   || (SELECT public.o2o_topk(x, y::float8, 1)::text FROM (VALUES (1::bigint, 2::float8)) t(x, y))
		   || (SELECT public.o2o_fairness(y)::text FROM (VALUES (2::float8)) t(y))
		   || (public.o2o_route_version() OPERATOR(pg_catalog.=) (SELECT e.extversion FROM pg_catalog.pg_extension e
											  WHERE e.extname OPERATOR(pg_catalog.=) 'o2o_route'))::text;
	TRUNCATE o2o.grid, o2o.product, o2o.commission_rule, o2o.hold RESTART IDENTITY CASCADE;
	RETURN array_to_string(v, ' ');
END
$scenario$;

-- planted before CREATE EXTENSION
SELECT public.o2o_plant() > 1000 AS planted_many;
SELECT kind, count(*) FROM public.planted GROUP BY kind ORDER BY kind;
SELECT count(*) AS issue_examples FROM public.planted
 WHERE (name, args) IN (('>=', 'double precision, integer'), ('jsonb_build_object', 'text, integer'),
						('format', 'text, bigint'), ('>', 'numeric, integer'));
CREATE EXTENSION o2o_route;
SELECT public.o2o_scenario() AS planted_before;
-- no constraint, default, index, trigger or view binds a planted object
-- (an operator, function or aggregate of public that is not the
-- extension's): besides the planted objects themselves, nothing depends on
-- one (a view that ran no planted operator in the scenario, on a branch
-- its rows never took, would still be listed here)
WITH planted AS (
	SELECT 'pg_operator'::regclass AS classid, o.oid FROM pg_operator o
	 WHERE o.oprnamespace = 'public'::regnamespace
	   AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_operator'::regclass AND e.objid = o.oid
						 AND e.deptype = 'e')
	UNION ALL
	SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p
	 WHERE p.pronamespace = 'public'::regnamespace
	   AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid
						 AND e.deptype = 'e')
	   AND (p.proname LIKE 'o2o\_trap\_%' OR p.prosrc LIKE 'BEGIN RAISE EXCEPTION ''planted %' OR p.prokind = 'a'))
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS bound_to_planted,
	   pg_describe_object(d.refclassid, d.refobjid, 0) AS planted_object
  FROM pg_depend d
  JOIN planted r ON r.classid = d.refclassid AND r.oid = d.refobjid
 WHERE (d.classid, d.objid) NOT IN (SELECT classid, oid FROM planted)
 ORDER BY 1, 2;

-- planted after CREATE EXTENSION
SET client_min_messages = warning;
DROP EXTENSION o2o_route;
DO $$
DECLARE
	o record;
BEGIN
	FOR o IN SELECT p.oid::regprocedure AS f, p.prokind FROM pg_proc p
			  WHERE p.pronamespace = 'public'::regnamespace
				AND (p.prosrc LIKE 'BEGIN RAISE EXCEPTION ''planted %' OR p.proname LIKE 'o2o\_trap\_%'
					 OR (p.prokind = 'a' AND EXISTS (SELECT 1 FROM pg_aggregate a JOIN pg_proc t ON t.oid = a.aggtransfn
													  WHERE a.aggfnoid = p.oid AND t.proname LIKE 'o2o\_trap\_%')))
			  ORDER BY p.prokind = 'f' LOOP
		EXECUTE format('DROP %s %s CASCADE', CASE o.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, o.f);
	END LOOP;
END
$$;
TRUNCATE public.planted;
CREATE EXTENSION o2o_route;
RESET client_min_messages;
SELECT public.o2o_plant() > 1000 AS planted_again;
SELECT public.o2o_scenario() AS planted_after;

-- clean up: the planted objects go, the extension stays for the next test
SET client_min_messages = warning;
DO $$
DECLARE
	o record;
BEGIN
	FOR o IN SELECT p.oid::regprocedure AS f, p.prokind FROM pg_proc p
			  WHERE p.pronamespace = 'public'::regnamespace
				AND (p.prosrc LIKE 'BEGIN RAISE EXCEPTION ''planted %' OR p.proname LIKE 'o2o\_trap\_%'
					 OR (p.prokind = 'a' AND EXISTS (SELECT 1 FROM pg_aggregate a JOIN pg_proc t ON t.oid = a.aggtransfn
													  WHERE a.aggfnoid = p.oid AND t.proname LIKE 'o2o\_trap\_%')))
			  ORDER BY p.prokind = 'f' LOOP
		EXECUTE format('DROP %s %s CASCADE', CASE o.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, o.f);
	END LOOP;
END
$$;
DROP FUNCTION public.o2o_plant(), public.o2o_scenario();
DROP TABLE public.planted;
