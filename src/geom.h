/*
 * geom.h
 *		Reading PostGIS geometries without linking PostGIS: points from the
 *		serialized form of a geometry argument, polygons from (E)WKB.
 */
#ifndef O2O_GEOM_H
#define O2O_GEOM_H

#include "fmgr.h"

#define O2O_SRID 4326

/*
 * The coordinates of a geometry argument that must be a non-empty POINT of
 * SRID 4326 with lon/lat in range; anything else raises a documented error
 * naming fname.
 */
extern void O2oPointArg(Datum geom, const char *fname, double *lon, double *lat);

/*
 * The coordinates of a point of SRID 4326 (a column's value); false when it
 * is empty or its lon/lat is NaN or out of range, which the table's check
 * constraints then report.
 */
extern bool O2oPointInRange(Datum geom, const char *fname, double *lon, double *lat);

/* Raise the documented error unless lon/lat are finite and in range. */
extern void O2oCheckLonLat(const char *fname, double lon, double lat);

/*
 * Callback for each ring of a (multi)polygon read from WKB: npoints
 * coordinates (x, y) in native doubles.
 */
typedef double *(*O2oRingSink) (void *arg, int npoints);

/*
 * Read a Polygon or MultiPolygon in WKB or EWKB (either byte order, any
 * dimensions; only x and y are kept), handing each ring to sink, which
 * returns where to put its 2 * npoints coordinates.  Returns false when the
 * bytes are not a polygonal WKB.
 */
extern bool O2oReadPolygonalWkb(const uint8 *wkb, Size len, O2oRingSink sink, void *arg);

#endif							/* O2O_GEOM_H */
