/*
 * gridindex.h
 *		An in-memory index over all grid polygons: which grid covers a point,
 *		and which grid is nearest to a point outside every grid.
 *
 * The index is a uniform raster of cells over the bounding box of all grids.
 * For every cell it lists the polygons that touch it, in ascending grid_id
 * order.  A polygon that covers the whole cell is marked "full"; otherwise
 * the entry carries the polygon's edges that cross the cell (each edge is
 * listed in the cells it crosses, not in every cell of its bounding box)
 * and whether a reference point of the cell lies inside the polygon.  A
 * point is inside when the reference point is, flipped once for every edge
 * that the segment from the point to the reference point crosses; that
 * segment stays inside the cell, so only the cell's edges are tested.  A
 * reference point that lies on an edge stands for the point displaced by
 * an infinitely small (eps, eps^2), which lies on none, so every cell has
 * one.
 *
 * This file has no knowledge of PostgreSQL catalogs or PostGIS: it takes
 * rings of coordinates and answers queries.  It allocates in
 * CurrentMemoryContext.
 */
#ifndef O2O_GRIDINDEX_H
#define O2O_GRIDINDEX_H

typedef struct GridIndexEntry
{
	int32		poly;			/* index into grid_ids */
	uint32		edge_start;		/* first of nedges in GridIndex.edges */
	uint32		nedges;			/* 0: the polygon covers the whole cell */
	uint8		ref_inside;		/* is the cell's reference point inside */
	uint8		ref_k;			/* which candidate reference point (GridRefPoint) */
} GridIndexEntry;

typedef struct GridIndex
{
	int32		npolys;
	int32	   *grid_ids;		/* ascending */
	int64		nverts;
	double	   *xy;				/* x0, y0, x1, y1, ...; rings closed */
	int64		nedges_total;	/* edges of all polygons */
	double		minx,
				miny,
				maxx,
				maxy;			/* bounding box of every vertex */
	int32		nx,
				ny;				/* raster size */
	double		cw,
				ch;				/* cell width and height, degrees */
	double		icw,
				ich;			/* their inverses */
	uint32	   *cell_start;		/* nx * ny + 1 offsets into entries */
	GridIndexEntry *entries;
	uint32		nentries;
	uint32	   *edges;			/* edge = index of its first vertex */
	uint32		nedge_refs;
	Size		index_bytes;	/* memory of every array above */
	Size		vertex_bytes;	/* of which the coordinates */
} GridIndex;

typedef struct GridIndexBuilder GridIndexBuilder;

/* Start a new index. */
extern GridIndexBuilder *GridIndexBegin(void);

/*
 * Add one closed ring of npoints points to the polygon of grid_id (rings of
 * one polygon or multipolygon are added one after the other, holes
 * included) and return room for its 2 * npoints coordinates, which the
 * caller fills in.
 */
extern double *GridIndexAddRing(GridIndexBuilder *b, int32 grid_id, int npoints);

/*
 * Build the cells; the builder is consumed.  Grids may be added in any
 * order, each grid's rings one after the other.
 */
extern GridIndex *GridIndexFinish(GridIndexBuilder *b);

/*
 * The grid covering (x, y), borders included; where several cover it, the
 * lowest grid_id.  Returns false when no grid covers the point.
 */
extern bool GridIndexLookup(const GridIndex *idx, double x, double y, int32 *grid_id);

/*
 * The grid nearest to (x, y) within max_m metres (0 when a grid covers the
 * point); ties go to the lowest grid_id.  Distances are measured on a
 * sphere of the mean Earth radius through a local equirectangular
 * projection at the point's latitude, wrapping at the antimeridian.  The
 * work is bounded by the cells within max_m, and by the raster's cells.
 */
extern bool GridIndexNearest(const GridIndex *idx, double x, double y, double max_m,
							 int32 *grid_id, double *dist_m);

/*
 * A flat copy of an index, with no pointer in it (for shared memory): its
 * size, the copy, and a view whose arrays point into a flat copy.
 */
extern Size GridIndexFlatSize(const GridIndex *idx);
extern void GridIndexFlatten(const GridIndex *idx, void *dst);
extern void GridIndexView(const void *flat, GridIndex *idx);

#endif							/* O2O_GRIDINDEX_H */
