/*
 * geom.c
 *		Reading PostGIS geometries without linking PostGIS.
 *
 * Points arrive as function arguments in PostGIS's serialized form
 * (GSERIALIZED, versions 1 and 2).  Reading its small, documented header
 * directly costs a few nanoseconds, where calling back into PostGIS
 * (ST_X, ST_Y, ST_SRID) would deserialize the value three times.  Anything
 * the reader does not recognise is refused with an error, never guessed.
 *
 * Grid polygons are read once per index build, as EWKB from PostGIS's
 * geometry-to-bytea cast: the stable exchange format.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "port/pg_bswap.h"

#include "geom.h"

/* GSERIALIZED flag bits */
#define G_Z			0x01
#define G_M			0x02
#define G_BBOX		0x04
#define G_GEODETIC	0x08
#define G_EXTENDED	0x10		/* version 2 only */
#define G_VER_0		0x40		/* set in version 2 */

/* WKB geometry types */
#define WKB_POINT			1
#define WKB_POLYGON			3
#define WKB_MULTIPOLYGON	6

static const char *const TypeNames[] = {
	"unknown", "point", "linestring", "polygon", "multipoint", "multilinestring",
	"multipolygon", "geometrycollection", "circularstring", "compoundcurve",
	"curvepolygon", "multicurve", "multisurface", "polyhedralsurface", "triangle", "tin"
};

void
O2oCheckLonLat(const char *fname, double lon, double lat)
{
	if (isnan(lon) || isnan(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s: longitude or latitude out of range", fname),
				 errdetail("The point is (%g %g); longitude must be within [-180, 180] and latitude within [-90, 90].",
						   lon, lat)));
}

/*
 * The coordinates of a serialized PostGIS point of SRID 4326; false for an
 * empty point when empty_ok, an error for it otherwise, and for anything
 * that is not such a point.
 */
static bool
ReadPoint(Datum geom, const char *fname, bool empty_ok, double *lon, double *lat)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(geom);
	const uint8 *p = (const uint8 *) VARDATA_ANY(v);
	Size		len = VARSIZE_ANY_EXHDR(v);
	Size		off = 4;
	uint8		flags;
	int32		srid;
	uint32		type,
				npoints;
	double		xy[2];

	if (len < 8)
		elog(ERROR, "%s: geometry value too short", fname);
	flags = p[3];
	srid = (int32) (((uint32) p[0] << 16 | (uint32) p[1] << 8 | p[2]) << 11) >> 11;
	if (flags & G_GEODETIC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: expected a geometry, got a geography", fname)));
	if ((flags & G_VER_0) && (flags & G_EXTENDED))
		off += 8;
	else if (!(flags & G_VER_0) && (flags & ~(G_Z | G_M | G_BBOX | 0x10 | 0x20)))
		elog(ERROR, "%s: unrecognised geometry serialization (flags 0x%02x)", fname, flags);
	if (flags & G_BBOX)
		off += 2 * sizeof(float) * (2 + ((flags & G_Z) ? 1 : 0) + ((flags & G_M) ? 1 : 0));
	if (off + 8 > len)
		elog(ERROR, "%s: geometry value too short", fname);
	memcpy(&type, p + off, 4);
	memcpy(&npoints, p + off + 4, 4);
	if (type != WKB_POINT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: geometry must be a point", fname),
				 errdetail("The argument is a %s.",
						   type < lengthof(TypeNames) ? TypeNames[type] : "geometry of unknown type")));
	if (npoints == 0 && empty_ok)
		return false;
	if (npoints == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: point is empty", fname)));
	if (srid != O2O_SRID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: point must have SRID %d", fname, O2O_SRID),
				 errdetail("The point has SRID %d.", srid)));
	if (off + 8 + 2 * sizeof(double) > len)
		elog(ERROR, "%s: geometry value too short", fname);
	memcpy(xy, p + off + 8, sizeof(xy));
	*lon = xy[0];
	*lat = xy[1];
	if ((Pointer) v != DatumGetPointer(geom))
		pfree(v);
	return true;
}

void
O2oPointArg(Datum geom, const char *fname, double *lon, double *lat)
{
	(void) ReadPoint(geom, fname, false, lon, lat);
	O2oCheckLonLat(fname, *lon, *lat);
}

bool
O2oPointInRange(Datum geom, const char *fname, double *lon, double *lat)
{
	return ReadPoint(geom, fname, true, lon, lat)
		&& !isnan(*lon) && !isnan(*lat) && *lon >= -180 && *lon <= 180 && *lat >= -90 && *lat <= 90;
}

/* a bounds-checked WKB reader */
typedef struct WkbReader
{
	const uint8 *p;
	Size		len;
	Size		pos;
	bool		swap;
	bool		ok;
} WkbReader;

static uint32
WkbUint32(WkbReader *r)
{
	uint32		v;

	if (r->pos + 4 > r->len)
	{
		r->ok = false;
		return 0;
	}
	memcpy(&v, r->p + r->pos, 4);
	r->pos += 4;
	return r->swap ? pg_bswap32(v) : v;
}

/* the byte order and type of the next geometry, and its dimensions */
static uint32
WkbHeader(WkbReader *r, int *ndims)
{
	uint32		type;
	bool		little;

	if (r->pos + 1 > r->len)
	{
		r->ok = false;
		return 0;
	}
	little = r->p[r->pos++] == 1;
#ifdef WORDS_BIGENDIAN
	r->swap = little;
#else
	r->swap = !little;
#endif
	type = WkbUint32(r);
	*ndims = 2;
	/* EWKB flags */
	if (type & 0x80000000)
		(*ndims)++;
	if (type & 0x40000000)
		(*ndims)++;
	if (type & 0x20000000)
		(void) WkbUint32(r);	/* SRID */
	type &= 0x0FFFFFFF;
	/* ISO WKB dimensions */
	if (type >= 3000)
	{
		*ndims = 4;
		type -= 3000;
	}
	else if (type >= 2000)
	{
		*ndims = 3;
		type -= 2000;
	}
	else if (type >= 1000)
	{
		*ndims = 3;
		type -= 1000;
	}
	return type;
}

static bool
WkbPolygonBody(WkbReader *r, int ndims, O2oRingSink sink, void *arg)
{
	uint32		nrings = WkbUint32(r);

	for (uint32 i = 0; i < nrings && r->ok; i++)
	{
		uint32		npoints = WkbUint32(r);
		double	   *out;

		if (!r->ok || npoints > (r->len - r->pos) / (ndims * sizeof(double)))
			return false;
		out = sink(arg, (int) npoints);
		for (uint32 j = 0; j < npoints; j++)
		{
			for (int d = 0; d < 2; d++)
			{
				uint64		bits;

				memcpy(&bits, r->p + r->pos + d * sizeof(double), sizeof(bits));
				if (r->swap)
					bits = pg_bswap64(bits);
				memcpy(&out[2 * j + d], &bits, sizeof(double));
			}
			r->pos += ndims * sizeof(double);
		}
	}
	return r->ok;
}

bool
O2oReadPolygonalWkb(const uint8 *wkb, Size len, O2oRingSink sink, void *arg)
{
	WkbReader	r = {wkb, len, 0, false, true};
	int			ndims;
	uint32		type = WkbHeader(&r, &ndims);

	if (!r.ok)
		return false;
	if (type == WKB_POLYGON)
		return WkbPolygonBody(&r, ndims, sink, arg);
	if (type == WKB_MULTIPOLYGON)
	{
		uint32		ngeoms = WkbUint32(&r);

		for (uint32 i = 0; i < ngeoms && r.ok; i++)
		{
			int			pdims;

			if (WkbHeader(&r, &pdims) != WKB_POLYGON || !r.ok)
				return false;
			if (!WkbPolygonBody(&r, pdims, sink, arg))
				return false;
		}
		return r.ok;
	}
	return false;
}
