/*
 * gridindex.c
 *		The in-memory index over all grid polygons (see gridindex.h).
 *
 * Why a raster of cells rather than an R-tree of polygons: a point query
 * then costs one array lookup; in most cells a single polygon covers the
 * whole cell and the answer is immediate, and in the others only the few
 * edges inside the cell are tested instead of the ~1,000 of each candidate
 * polygon.  An edge is listed in the cells it crosses, found row by row
 * (widened by a hair, EDGE_SLACK), so every edge that passes through or
 * near a cell is listed with it, and the index grows with the edges and
 * the cells they cross, not with their bounding boxes.
 *
 * Border semantics follow PostGIS ST_Covers: a point exactly on an edge
 * (zero orientation determinant, within the edge's bounding box) is
 * covered.  The orientation signs are exact (orient.c), so a point a hair
 * off a vertex, or coordinates whose products underflow, are judged right.
 * A cell's reference point may itself lie on an edge: it then stands for
 * the point displaced by (eps, eps^2) for an infinitely small eps, which
 * lies on no edge (simulation of simplicity), so any point of the cell can
 * serve and building the index never fails.  Overlaps resolve to the
 * lowest grid_id, because the entries of a cell are in ascending grid_id
 * order and the first hit wins.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "gridindex.h"
#include "orient.h"

/* mean Earth radius 6,371,008.8 m: metres per degree of arc */
#define METRES_PER_DEGREE 111194.92664455873
/* a preferred reference point keeps at least this far (degrees) from every edge */
#define REF_MARGIN 1e-9
/* edges are listed in every cell within this distance (degrees) */
#define EDGE_SLACK 2e-9
/* candidate reference points per cell */
#define NREF 12

typedef struct RingInfo
{
	int32		poly;
	int64		start;			/* first vertex */
	int32		npoints;
} RingInfo;

struct GridIndexBuilder
{
	double	   *xy;
	int64		nverts;
	int64		vcap;
	RingInfo   *rings;
	int32		nrings;
	int32		rcap;
	int32	   *grid_ids;
	int32		npolys;
	int32		pcap;
};

/* an edge crossing the centre line of a row, at x */
typedef struct Crossing
{
	int32		row;
	uint32		v;				/* the edge */
	double		x;
} Crossing;

typedef struct CellEntry
{
	uint32		cell;
	GridIndexEntry e;
} CellEntry;

/* a polygon's bounding box, in cells */
typedef struct CellBox
{
	int32		c0,
				c1,
				r0,
				r1;
} CellBox;

/* the build's scratch arrays (in the build context) and its output */
typedef struct BuildState
{
	GridIndex  *idx;
	const GridIndexBuilder *b;
	MemoryContext idxcxt;		/* where the index's arrays live */
	MemoryContext tmpcxt;
	double		xtol;			/* bound on the error of a Crossing's x */
	uint64	   *pairs;			/* (cell of the box << 32) | edge */
	int64		npairs,
				pcap;
	uint64	   *sorted;
	int64		scap;
	int64	   *counts;
	int64		kcap;
	Crossing   *cross,
			   *crosstmp;
	int64		ncross,
				ccap,
				cttcap;
	CellEntry  *cells;
	int64		ncellent,
				cecap;
	uint32	   *edges;
	int64		nedges,
				ecap;
} BuildState;

/* reference point k of a cell: the centre first, then scattered points */
static const double RefFrac[NREF][2] = {
	{0.5, 0.5}, {0.309017, 0.618034}, {0.707107, 0.292893}, {0.173205, 0.414214},
	{0.866025, 0.732051}, {0.447214, 0.123457}, {0.632456, 0.894427}, {0.223607, 0.816497},
	{0.912871, 0.182574}, {0.377964, 0.267261}, {0.534522, 0.963624}, {0.086603, 0.645497}
};

static inline void
GridRefPoint(const GridIndex *idx, int32 col, int32 row, int k, double *rx, double *ry)
{
	*rx = idx->minx + (col + RefFrac[k][0]) * idx->cw;
	*ry = idx->miny + (row + RefFrac[k][1]) * idx->ch;
}

static inline int32
CellX(const GridIndex *idx, double x)
{
	double		f = floor((x - idx->minx) * idx->icw);

	if (f < 0)
		return 0;
	if (f >= idx->nx)
		return idx->nx - 1;
	return (int32) f;
}

static inline int32
CellY(const GridIndex *idx, double y)
{
	double		f = floor((y - idx->miny) * idx->ich);

	if (f < 0)
		return 0;
	if (f >= idx->ny)
		return idx->ny - 1;
	return (int32) f;
}

/* squared distance from (px, py) to the segment a-b, in the given units */
static inline double
SegDist2(double px, double py, double ax, double ay, double bx, double by,
		 double kx, double ky)
{
	double		dx = (bx - ax) * kx,
				dy = (by - ay) * ky,
				wx = (px - ax) * kx,
				wy = (py - ay) * ky;
	double		len2 = dx * dx + dy * dy;
	double		t = len2 > 0 ? (wx * dx + wy * dy) / len2 : 0;

	if (t < 0)
		t = 0;
	else if (t > 1)
		t = 1;
	wx -= t * dx;
	wy -= t * dy;
	return wx * wx + wy * wy;
}

/*
 * The side of the line a -> b on which the reference point r lies, taking r
 * displaced by (eps, eps^2): the sign of orient(a, b, r) - eps (by - ay) +
 * eps^2 (bx - ax).  Zero only for a zero-length edge.
 */
static inline int
RefSide(double ax, double ay, double bx, double by, double rx, double ry)
{
	int			s = O2oOrient(ax, ay, bx, by, rx, ry);

	if (s != 0)
		return s;
	if (by != ay)
		return by > ay ? -1 : 1;
	if (bx != ax)
		return bx > ax ? 1 : -1;
	return 0;
}

/*
 * The side of the line q -> r (r displaced as above) on which p lies: the
 * sign of orient(q, r, p) + eps (py - qy) - eps^2 (px - qx).  Zero only
 * when p is q.
 */
static inline int
SegRefSide(double qx, double qy, double rx, double ry, double px, double py)
{
	int			s = O2oOrient(qx, qy, rx, ry, px, py);

	if (s != 0)
		return s;
	if (py != qy)
		return py > qy ? 1 : -1;
	if (px != qx)
		return px > qx ? -1 : 1;
	return 0;
}

/*
 * Is (qx, qy) inside, given the edges near it and whether the reference
 * point r (displaced as above) is inside?  Flip once for every edge that
 * the segment q -> r crosses.  The displaced r lies on no edge and no
 * vertex lies on the segment, so each crossing is proper and the count is
 * exact.  Returns true as soon as q lies on an edge, with *on_border set.
 */
static bool
CrossParity(const double *xy, const uint32 *edges, uint32 nedges, double qx, double qy,
			double rx, double ry, bool inside, bool *on_border)
{
	*on_border = false;
	for (uint32 i = 0; i < nedges; i++)
	{
		const double *p = xy + 2 * (int64) edges[i];
		double		ax = p[0],
					ay = p[1],
					bx = p[2],
					by = p[3];
		int			det = O2oOrient(ax, ay, bx, by, qx, qy);

		/* on the border: covered */
		if (det == 0 && qx >= Min(ax, bx) && qx <= Max(ax, bx)
			&& qy >= Min(ay, by) && qy <= Max(ay, by))
		{
			*on_border = true;
			return true;
		}
		/* a and b on either side of q -> r, and q and r on either side of a -> b */
		if ((SegRefSide(qx, qy, rx, ry, ax, ay) > 0) != (SegRefSide(qx, qy, rx, ry, bx, by) > 0)
			&& (det > 0) != (RefSide(ax, ay, bx, by, rx, ry) > 0))
			inside = !inside;
	}
	return inside;
}

/*
 * Does edge a -> b, which crosses the horizontal line through the
 * reference point r (half-open at its ends), cross it left of r displaced
 * as above?  Exact: r lies right of an upward edge, or left of a downward
 * one.
 */
static inline bool
CrossesLeftOfRef(const double *p, double rx, double ry)
{
	int			s = RefSide(p[0], p[1], p[2], p[3], rx, ry);

	return p[3] > p[1] ? s < 0 : s > 0;
}

static void *
GrowArray(void *arr, int64 *cap, int64 need, Size elem)
{
	int64		newcap;

	if (need <= *cap)
		return arr;
	newcap = Max(need, Max(*cap * 2, 1024));
	if (arr == NULL)
		arr = palloc_extended(newcap * elem, MCXT_ALLOC_HUGE);
	else
		arr = repalloc_huge(arr, newcap * elem);
	*cap = newcap;
	return arr;
}

GridIndexBuilder *
GridIndexBegin(void)
{
	return palloc0(sizeof(GridIndexBuilder));
}

double *
GridIndexAddRing(GridIndexBuilder *b, int32 grid_id, int npoints)
{
	RingInfo   *r;

	if (b->npolys == 0 || b->grid_ids[b->npolys - 1] != grid_id)
	{
		int64		cap = b->pcap;

		b->grid_ids = GrowArray(b->grid_ids, &cap, b->npolys + 1, sizeof(int32));
		b->pcap = (int32) cap;
		b->grid_ids[b->npolys++] = grid_id;
	}
	if (b->nverts + npoints >= (int64) PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("grid polygons have too many vertices to index"),
				 errdetail("The index holds at most %u vertices.", PG_UINT32_MAX - 1)));
	{
		int64		cap = b->rcap;

		b->rings = GrowArray(b->rings, &cap, b->nrings + 1, sizeof(RingInfo));
		b->rcap = (int32) cap;
	}
	b->xy = GrowArray(b->xy, &b->vcap, b->nverts + npoints, 2 * sizeof(double));
	r = &b->rings[b->nrings++];
	r->poly = b->npolys - 1;
	r->start = b->nverts;
	r->npoints = npoints;
	b->nverts += npoints;
	return b->xy + 2 * r->start;
}

/* qsort order of a row's crossings: by x */
static int
CrossingCmp(const void *a, const void *b)
{
	double		xa = ((const Crossing *) a)->x,
				xb = ((const Crossing *) b)->x;

	return xa < xb ? -1 : xa > xb ? 1 : 0;
}

/*
 * Crossings by row (counting sort over the polygon's rows pr0 .. pr0+nrows-1),
 * then by x within a row: insertion sort for the usual few, qsort for the
 * thousands of a row across a star.
 */
static void
SortCrossings(Crossing *c, int64 n, int32 pr0, int32 nrows, Crossing *tmp, int64 *counts)
{
	memset(counts, 0, (nrows + 1) * sizeof(int64));
	for (int64 i = 0; i < n; i++)
		counts[c[i].row - pr0 + 1]++;
	for (int32 r = 0; r < nrows; r++)
		counts[r + 1] += counts[r];
	for (int64 i = 0; i < n; i++)
		tmp[counts[c[i].row - pr0]++] = c[i];
	memcpy(c, tmp, n * sizeof(Crossing));
	for (int64 i = 0; i < n;)
	{
		int64		e = i + 1;

		while (e < n && c[e].row == c[i].row)
			e++;
		if (e - i > 16)
			qsort(c + i, e - i, sizeof(Crossing), CrossingCmp);
		else
		{
			for (int64 j = i + 1; j < e; j++)
			{
				Crossing	t = c[j];
				int64		k = j - 1;

				while (k >= i && c[k].x > t.x)
				{
					c[k + 1] = c[k];
					k--;
				}
				c[k + 1] = t;
			}
		}
		i = e;
	}
}

/*
 * List edge v in every cell of the polygon's box that it passes within
 * EDGE_SLACK of: row by row, the stretch of the edge inside the row's band
 * (widened by the slack) gives the columns.  An edge spanning R rows and C
 * columns takes about R + C cells, where its bounding box would take R * C
 * (the same when R or C is 1, the usual case, which takes the box).  The
 * interpolation errs by ~1e-13 degree, far less than the slack.
 */
static void
RegisterEdge(BuildState *s, uint32 v, const CellBox *box)
{
	const GridIndex *idx = s->idx;
	const double *q = s->b->xy + 2 * (int64) v;
	double		ax = q[0],
				ay = q[1],
				bx = q[2],
				by = q[3],
				inv = ay != by ? 1.0 / (by - ay) : 0;
	int32		pw = box->c1 - box->c0 + 1;
	int32		r0 = Max(CellY(idx, Min(ay, by) - EDGE_SLACK), box->r0),
				r1 = Min(CellY(idx, Max(ay, by) + EDGE_SLACK), box->r1),
				bc0 = Max(CellX(idx, Min(ax, bx) - EDGE_SLACK), box->c0),
				bc1 = Min(CellX(idx, Max(ax, bx) + EDGE_SLACK), box->c1);
	bool		whole_box = r0 == r1 || bc0 == bc1 || ay == by;

	for (int32 row = r0; row <= r1; row++)
	{
		int32		c0 = bc0,
					c1 = bc1;

		if (!whole_box)
		{
			double		lo = idx->miny + row * idx->ch - EDGE_SLACK,
						hi = idx->miny + (row + 1) * idx->ch + EDGE_SLACK,
						t0 = Min(Max((lo - ay) * inv, 0.0), 1.0),
						t1 = Min(Max((hi - ay) * inv, 0.0), 1.0),
						x0 = ax + t0 * (bx - ax),
						x1 = ax + t1 * (bx - ax);

			c0 = Max(CellX(idx, Min(x0, x1) - EDGE_SLACK), bc0);
			c1 = Min(CellX(idx, Max(x0, x1) + EDGE_SLACK), bc1);
		}
		if (c0 > c1)
			continue;
		s->pairs = GrowArray(s->pairs, &s->pcap, s->npairs + (c1 - c0 + 1), sizeof(uint64));
		for (int32 col = c0; col <= c1; col++)
			s->pairs[s->npairs++] =
				((uint64) ((row - box->r0) * pw + (col - box->c0)) << 32) | v;
	}
}

/* Note where edge v crosses the centre line of each row it spans. */
static void
AddCrossings(BuildState *s, uint32 v)
{
	const GridIndex *idx = s->idx;
	const double *q = s->b->xy + 2 * (int64) v;
	double		ax = q[0],
				ay = q[1],
				bx = q[2],
				by = q[3];

	for (int32 row = CellY(idx, Min(ay, by)), rlast = CellY(idx, Max(ay, by)); row <= rlast; row++)
	{
		double		yr = idx->miny + (row + 0.5) * idx->ch;

		if ((ay > yr) != (by > yr))
		{
			s->cross = GrowArray(s->cross, &s->ccap, s->ncross + 1, sizeof(Crossing));
			s->cross[s->ncross].row = row;
			s->cross[s->ncross].v = v;
			/* t in [0, 1] first: no product can underflow */
			s->cross[s->ncross].x = ax + (yr - ay) / (by - ay) * (bx - ax);
			s->ncross++;
		}
	}
}

/* Sort the polygon's pairs by cell of its box (counting sort), and its crossings. */
static void
SortPolygon(BuildState *s, const CellBox *box)
{
	int64		nbox = (int64) (box->c1 - box->c0 + 1) * (box->r1 - box->r0 + 1);
	int32		ph = box->r1 - box->r0 + 1;

	s->counts = GrowArray(s->counts, &s->kcap, nbox + 1, sizeof(int64));
	s->sorted = GrowArray(s->sorted, &s->scap, s->npairs, sizeof(uint64));
	memset(s->counts, 0, (nbox + 1) * sizeof(int64));
	for (int64 i = 0; i < s->npairs; i++)
		s->counts[(s->pairs[i] >> 32) + 1]++;
	for (int64 c = 0; c < nbox; c++)
		s->counts[c + 1] += s->counts[c];
	for (int64 i = 0; i < s->npairs; i++)
		s->sorted[s->counts[s->pairs[i] >> 32]++] = s->pairs[i];
	{
		uint64	   *t = s->pairs;
		int64		tc = s->pcap;

		s->pairs = s->sorted;
		s->pcap = s->scap;
		s->sorted = t;
		s->scap = tc;
	}
	s->crosstmp = GrowArray(s->crosstmp, &s->cttcap, s->ncross, sizeof(Crossing));
	s->counts = GrowArray(s->counts, &s->kcap, (int64) ph + 1, sizeof(int64));
	SortCrossings(s->cross, s->ncross, box->r0, ph, s->crosstmp, s->counts);
}

/*
 * Choose the reference point of a border cell whose nedges edges start at
 * edges[0], and whether it is inside; centre_inside tells whether the
 * (displaced) centre is.  Preferred: the first candidate that keeps
 * REF_MARGIN from every edge, so that lookups stay on the fast path of the
 * orientation test; when the edges crowd every candidate, the centre, whose
 * displaced point is always usable.  Returns the candidate's number.
 */
static int
ChooseReference(const GridIndex *idx, const double *xy, const uint32 *edges, uint32 nedges,
				int32 col, int32 row, bool centre_inside, bool *inside)
{
	double		cx,
				cy;

	GridRefPoint(idx, col, row, 0, &cx, &cy);
	for (int k = 0; k < NREF; k++)
	{
		double		rx,
					ry;
		bool		clear = true,
					on_border;

		GridRefPoint(idx, col, row, k, &rx, &ry);
		for (uint32 e = 0; e < nedges && clear; e++)
		{
			const double *q = xy + 2 * (int64) edges[e];

			/* cheap box test first: most edges are far away */
			if (rx < Min(q[0], q[2]) - REF_MARGIN || rx > Max(q[0], q[2]) + REF_MARGIN
				|| ry < Min(q[1], q[3]) - REF_MARGIN || ry > Max(q[1], q[3]) + REF_MARGIN)
				continue;
			if (SegDist2(rx, ry, q[0], q[1], q[2], q[3], 1, 1) <= REF_MARGIN * REF_MARGIN)
				clear = false;
		}
		if (clear)
		{
			/* from the centre to the candidate: both in the cell, so only its edges */
			*inside = k == 0 ? centre_inside
				: CrossParity(xy, edges, nedges, rx, ry, cx, cy, centre_inside, &on_border);
			return k;
		}
	}
	*inside = centre_inside;
	return 0;
}

/* Append an entry for polygon p in cell, with nedges edges (0: full). */
static void
AddEntry(BuildState *s, uint32 cell, int32 p, uint32 nedges, bool inside, int refk)
{
	MemoryContextSwitchTo(s->idxcxt);
	s->cells = GrowArray(s->cells, &s->cecap, s->ncellent + 1, sizeof(CellEntry));
	MemoryContextSwitchTo(s->tmpcxt);
	s->cells[s->ncellent].cell = cell;
	s->cells[s->ncellent].e.poly = p;
	s->cells[s->ncellent].e.edge_start = nedges > 0 ? (uint32) (s->nedges - nedges) : 0;
	s->cells[s->ncellent].e.nedges = nedges;
	s->cells[s->ncellent].e.ref_inside = inside ? 1 : 0;
	s->cells[s->ncellent].e.ref_k = (uint8) refk;
	s->ncellent++;
}

/*
 * Walk the polygon's box row by row and emit its entries: a border cell
 * keeps its edges and a reference point, a cell without edges whose centre
 * is inside is full.  A centre is inside when an odd number of the row's
 * crossings lie left of it; those within xtol of it are decided exactly.
 */
static void
EmitPolygonCells(BuildState *s, int32 p, const CellBox *box)
{
	const GridIndex *idx = s->idx;
	const double *xy = s->b->xy;
	int32		pw = box->c1 - box->c0 + 1;
	int64		pi = 0,
				ci = 0;

	for (int32 row = box->r0; row <= box->r1; row++)
	{
		int64		ce,
					k;

		CHECK_FOR_INTERRUPTS();
		while (ci < s->ncross && s->cross[ci].row < row)
			ci++;
		ce = ci;
		while (ce < s->ncross && s->cross[ce].row == row)
			ce++;
		k = ci;
		for (int32 col = box->c0; col <= box->c1; col++)
		{
			uint32		cell = (uint32) ((int64) row * idx->nx + col);
			uint32		local = (uint32) ((row - box->r0) * pw + (col - box->c0));
			double		xc,
						yc;
			bool		parity;
			int64		es;

			GridRefPoint(idx, col, row, 0, &xc, &yc);
			while (k < ce && s->cross[k].x < xc - s->xtol)
				k++;
			parity = ((k - ci) & 1) != 0;
			for (int64 j = k; j < ce && s->cross[j].x <= xc + s->xtol; j++)
				if (CrossesLeftOfRef(xy + 2 * (int64) s->cross[j].v, xc, yc))
					parity = !parity;
			es = pi;
			while (pi < s->npairs && (uint32) (s->pairs[pi] >> 32) == local)
				pi++;

			if (pi > es)
			{
				/* a border passes: keep the edges and a reference point */
				uint32		n = (uint32) (pi - es);
				bool		inside;
				int			refk;

				MemoryContextSwitchTo(s->idxcxt);
				s->edges = GrowArray(s->edges, &s->ecap, s->nedges + n, sizeof(uint32));
				MemoryContextSwitchTo(s->tmpcxt);
				for (int64 e = es; e < pi; e++)
					s->edges[s->nedges++] = (uint32) s->pairs[e];
				refk = ChooseReference(idx, xy, s->edges + s->nedges - n, n, col, row,
									   parity, &inside);
				AddEntry(s, cell, p, n, inside, refk);
			}
			else if (parity)
			{
				/* no border here and the centre is inside: the whole cell is */
				AddEntry(s, cell, p, 0, true, 0);
			}
		}
	}
}

/* Index polygon p, whose rings are ring0 .. ring1 - 1. */
static void
IndexPolygon(BuildState *s, int32 p, int32 ring0, int32 ring1)
{
	const GridIndexBuilder *b = s->b;
	double		pminx = DBL_MAX,
				pminy = DBL_MAX,
				pmaxx = -DBL_MAX,
				pmaxy = -DBL_MAX;
	CellBox		box;

	for (int32 r = ring0; r < ring1; r++)
	{
		const double *v = b->xy + 2 * b->rings[r].start;

		for (int32 i = 0; i < b->rings[r].npoints; i++)
		{
			pminx = Min(pminx, v[2 * i]);
			pmaxx = Max(pmaxx, v[2 * i]);
			pminy = Min(pminy, v[2 * i + 1]);
			pmaxy = Max(pmaxy, v[2 * i + 1]);
		}
	}
	if (pminx > pmaxx)
		return;
	box.c0 = CellX(s->idx, pminx);
	box.c1 = CellX(s->idx, pmaxx);
	box.r0 = CellY(s->idx, pminy);
	box.r1 = CellY(s->idx, pmaxy);

	s->npairs = 0;
	s->ncross = 0;
	for (int32 r = ring0; r < ring1; r++)
	{
		for (int32 i = 0; i + 1 < b->rings[r].npoints; i++)
		{
			uint32		v = (uint32) (b->rings[r].start + i);

			CHECK_FOR_INTERRUPTS();
			RegisterEdge(s, v, &box);
			AddCrossings(s, v);
		}
	}
	if (s->npairs == 0)
		return;
	SortPolygon(s, &box);
	EmitPolygonCells(s, p, &box);
	if (s->nedges >= (int64) PG_UINT32_MAX || s->ncellent >= (int64) PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("grid polygons are too detailed to index")));
}

/* qsort orders: polygons by grid_id, rings by polygon then position */
static int
PolyOrderCmp(const void *a, const void *b, void *arg)
{
	const int32 *ids = arg;
	int32		x = ids[*(const int32 *) a],
				y = ids[*(const int32 *) b];

	return x < y ? -1 : x > y ? 1 : 0;
}

static int
RingOrderCmp(const void *a, const void *b)
{
	const RingInfo *x = a,
			   *y = b;

	if (x->poly != y->poly)
		return x->poly < y->poly ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/*
 * Number the polygons in ascending grid_id order, which the cells' entries
 * and the nearest search's ties rely on.  Grids may arrive in any order (the
 * build reads o2o.grid as it lies, with no sort), each as consecutive rings.
 */
static void
SortPolygons(GridIndexBuilder *b)
{
	int32	   *order,
			   *newpos,
			   *ids;
	bool		sorted = true;

	for (int32 p = 1; p < b->npolys && sorted; p++)
		sorted = b->grid_ids[p - 1] < b->grid_ids[p];
	if (sorted)
		return;
	order = palloc(b->npolys * sizeof(int32));
	newpos = palloc(b->npolys * sizeof(int32));
	ids = palloc(b->npolys * sizeof(int32));
	for (int32 p = 0; p < b->npolys; p++)
		order[p] = p;
	qsort_arg(order, b->npolys, sizeof(int32), PolyOrderCmp, b->grid_ids);
	for (int32 p = 0; p < b->npolys; p++)
	{
		ids[p] = b->grid_ids[order[p]];
		newpos[order[p]] = p;
		if (p > 0 && ids[p] == ids[p - 1])
			elog(ERROR, "grid %d was added twice to the grid index", ids[p]);
	}
	for (int32 r = 0; r < b->nrings; r++)
		b->rings[r].poly = newpos[b->rings[r].poly];
	qsort(b->rings, b->nrings, sizeof(RingInfo), RingOrderCmp);
	memcpy(b->grid_ids, ids, b->npolys * sizeof(int32));
	pfree(order);
	pfree(newpos);
	pfree(ids);
}

/* The raster: about one cell per eight edges, over every vertex. */
static void
ChooseRaster(GridIndex *idx, const GridIndexBuilder *b)
{
	double		w,
				h,
				target;

	idx->minx = idx->maxx = b->xy[0];
	idx->miny = idx->maxy = b->xy[1];
	for (int64 i = 1; i < b->nverts; i++)
	{
		double		x = b->xy[2 * i],
					y = b->xy[2 * i + 1];

		idx->minx = Min(idx->minx, x);
		idx->maxx = Max(idx->maxx, x);
		idx->miny = Min(idx->miny, y);
		idx->maxy = Max(idx->maxy, y);
	}
	for (int32 r = 0; r < b->nrings; r++)
		idx->nedges_total += Max(b->rings[r].npoints - 1, 0);
	w = Max(idx->maxx - idx->minx, 1e-6);
	h = Max(idx->maxy - idx->miny, 1e-6);
	target = Min(Max(idx->nedges_total / 8.0, 1.0), 4.0e6);
	idx->nx = (int32) Min(Max(ceil(sqrt(target * w / h)), 1.0), 8192.0);
	idx->ny = (int32) Min(Max(ceil(target / idx->nx), 1.0), 8192.0);
	idx->cw = w / idx->nx;
	idx->ch = h / idx->ny;
	idx->icw = idx->nx / w;
	idx->ich = idx->ny / h;
}

/*
 * Build the cells polygon by polygon, each in its own scratch arrays, then
 * group the entries by cell.
 */
GridIndex *
GridIndexFinish(GridIndexBuilder *b)
{
	GridIndex  *idx = palloc0(sizeof(GridIndex));
	BuildState	s = {0};
	MemoryContext oldcxt;
	int64		ncells;
	int32		ring = 0;

	SortPolygons(b);
	idx->npolys = b->npolys;
	idx->nverts = b->nverts;
	idx->grid_ids = b->grid_ids;
	idx->xy = b->nverts > 0 ? repalloc_huge(b->xy, b->nverts * 2 * sizeof(double)) : NULL;
	b->xy = idx->xy;
	idx->vertex_bytes = b->nverts * 2 * sizeof(double);
	if (b->npolys == 0 || b->nverts == 0)
	{
		idx->npolys = 0;
		return idx;
	}
	ChooseRaster(idx, b);
	ncells = (int64) idx->nx * idx->ny;

	s.idx = idx;
	s.b = b;
	s.idxcxt = CurrentMemoryContext;
	/* a crossing's x errs by a few units in the last place of |ax| + |bx - ax| */
	s.xtol = 16 * DBL_EPSILON * (Max(fabs(idx->minx), fabs(idx->maxx)) + (idx->maxx - idx->minx))
		+ 16 * DBL_MIN;
	s.tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "o2o grid index build",
									 ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(s.tmpcxt);

	for (int32 p = 0; p < b->npolys; p++)
	{
		int32		ring0 = ring;

		/* a build over millions of vertices must stay cancellable */
		CHECK_FOR_INTERRUPTS();
		while (ring < b->nrings && b->rings[ring].poly == p)
			ring++;
		IndexPolygon(&s, p, ring0, ring);
	}

	/* group the entries by cell; entries of a cell stay in grid_id order */
	MemoryContextSwitchTo(s.idxcxt);
	idx->cell_start = palloc_extended((ncells + 1) * sizeof(uint32),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	idx->nentries = (uint32) s.ncellent;
	idx->entries = palloc_extended(Max(s.ncellent, 1) * sizeof(GridIndexEntry), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < s.ncellent; i++)
		idx->cell_start[s.cells[i].cell + 1]++;
	for (int64 c = 0; c < ncells; c++)
		idx->cell_start[c + 1] += idx->cell_start[c];
	{
		uint32	   *fill = palloc_extended(ncells * sizeof(uint32), MCXT_ALLOC_HUGE);

		memcpy(fill, idx->cell_start, ncells * sizeof(uint32));
		for (int64 i = 0; i < s.ncellent; i++)
			idx->entries[fill[s.cells[i].cell]++] = s.cells[i].e;
		pfree(fill);
	}
	if (s.cells)
		pfree(s.cells);
	idx->nedge_refs = (uint32) s.nedges;
	idx->edges = s.nedges > 0 ? repalloc_huge(s.edges, s.nedges * sizeof(uint32)) : NULL;

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(s.tmpcxt);
	if (b->rings)
		pfree(b->rings);
	pfree(b);
	idx->index_bytes = sizeof(GridIndex) + idx->vertex_bytes
		+ idx->npolys * sizeof(int32) + (ncells + 1) * sizeof(uint32)
		+ idx->nentries * sizeof(GridIndexEntry) + idx->nedge_refs * sizeof(uint32);
	return idx;
}

/* Does the polygon of entry e cover (x, y)?  col/row: the cell of e. */
static inline bool
EntryCovers(const GridIndex *idx, const GridIndexEntry *e, int32 col, int32 row,
			double x, double y)
{
	double		rx,
				ry;
	bool		on_border;

	if (e->nedges == 0)
		return true;
	GridRefPoint(idx, col, row, e->ref_k, &rx, &ry);
	return CrossParity(idx->xy, idx->edges + e->edge_start, e->nedges, x, y, rx, ry,
					   e->ref_inside != 0, &on_border);
}

bool
GridIndexLookup(const GridIndex *idx, double x, double y, int32 *grid_id)
{
	int32		col,
				row;
	uint32		cell;

	if (idx->npolys == 0 || !(x >= idx->minx && x <= idx->maxx && y >= idx->miny && y <= idx->maxy))
		return false;
	col = CellX(idx, x);
	row = CellY(idx, y);
	cell = (uint32) ((int64) row * idx->nx + col);
	for (uint32 i = idx->cell_start[cell]; i < idx->cell_start[cell + 1]; i++)
	{
		const GridIndexEntry *e = &idx->entries[i];

		if (EntryCovers(idx, e, col, row, x, y))
		{
			*grid_id = idx->grid_ids[e->poly];
			return true;
		}
	}
	return false;
}

/*
 * The state of a nearest-grid search: the query, its metric and cell (which
 * may lie outside the raster), and the best edge so far.
 */
typedef struct NearestSearch
{
	const GridIndex *idx;
	double		x,
				y;
	double		kx,
				ky;				/* metres per degree of longitude, latitude */
	int64		qc,
				qr;
	double		best2;			/* squared metres */
	int32		best_poly;
	/* the cells that can still hold a nearer edge */
	int64		c0,
				c1,
				r0,
				r1;
} NearestSearch;

/* squared metres, with a hair to spare for rounding: nothing nearer is skipped */
static inline bool
BeyondBest(const NearestSearch *ns, double d2)
{
	return d2 > ns->best2 * (1 + 1e-9) + 1e-12;
}

/*
 * Shrink the window of cells to those within the best distance so far:
 * rows within reach / (ch * ky) of the query's row (ky is constant), and
 * columns within reach / (cw * kx) of its column where kx > 0 (at a pole
 * every longitude is at the same distance, so every column stays).  Two
 * cells to spare cover the query's offset in its cell and rounding.
 * Returns false when no cell of the raster is left.
 */
static bool
NearestWindow(NearestSearch *ns)
{
	const GridIndex *idx = ns->idx;
	double		reach = sqrt(ns->best2),
				rows = reach / (idx->ch * ns->ky) + 2,
				cols = ns->kx > 0 ? reach / (idx->cw * ns->kx) + 2 : HUGE_VAL,
				lo,
				hi;

	lo = Max((double) ns->qr - rows, 0.0);
	hi = Min((double) ns->qr + rows, (double) (idx->ny - 1));
	if (!(lo <= hi))
		return false;
	ns->r0 = (int64) ceil(lo);
	ns->r1 = (int64) floor(hi);
	lo = Max((double) ns->qc - cols, 0.0);
	hi = Min((double) ns->qc + cols, (double) (idx->nx - 1));
	if (!(lo <= hi))
		return false;
	ns->c0 = (int64) ceil(lo);
	ns->c1 = (int64) floor(hi);
	return ns->r0 <= ns->r1 && ns->c0 <= ns->c1;
}

/* Measure the edges of one cell, unless the whole cell is beyond the best. */
static void
NearestVisit(NearestSearch *ns, int64 col, int64 row)
{
	const GridIndex *idx = ns->idx;
	uint32		cell = (uint32) (row * idx->nx + col);
	double		x0 = idx->minx + col * idx->cw - EDGE_SLACK,
				x1 = idx->minx + (col + 1) * idx->cw + EDGE_SLACK,
				y0 = idx->miny + row * idx->ch - EDGE_SLACK,
				y1 = idx->miny + (row + 1) * idx->ch + EDGE_SLACK,
				dx = (ns->x < x0 ? x0 - ns->x : ns->x > x1 ? ns->x - x1 : 0) * ns->kx,
				dy = (ns->y < y0 ? y0 - ns->y : ns->y > y1 ? ns->y - y1 : 0) * ns->ky;

	if (idx->cell_start[cell] == idx->cell_start[cell + 1] || BeyondBest(ns, dx * dx + dy * dy))
		return;
	for (uint32 i = idx->cell_start[cell]; i < idx->cell_start[cell + 1]; i++)
	{
		const GridIndexEntry *e = &idx->entries[i];

		for (uint32 j = 0; j < e->nedges; j++)
		{
			const double *p = idx->xy + 2 * (int64) idx->edges[e->edge_start + j];
			double		d2 = SegDist2(ns->x, ns->y, p[0], p[1], p[2], p[3], ns->kx, ns->ky);

			if (d2 < ns->best2 || (d2 == ns->best2 && ns->best_poly >= 0 && e->poly < ns->best_poly)
				|| (d2 <= ns->best2 && ns->best_poly < 0))
			{
				ns->best2 = d2;
				ns->best_poly = e->poly;
			}
		}
	}
}

/* Visit the cells of ring r (Chebyshev distance r from the query's cell) in the window. */
static void
NearestRing(NearestSearch *ns, int64 r)
{
	int64		qc = ns->qc,
				qr = ns->qr;

	/* its top and bottom rows */
	for (int64 row = qr - r; row <= qr + r; row += (r > 0 ? 2 * r : 1))
	{
		if (row < ns->r0 || row > ns->r1)
			continue;
		for (int64 col = Max(qc - r, ns->c0), last = Min(qc + r, ns->c1); col <= last; col++)
			NearestVisit(ns, col, row);
	}
	/* its left and right columns, between those rows */
	if (r == 0)
		return;
	for (int64 col = qc - r; col <= qc + r; col += 2 * r)
	{
		if (col < ns->c0 || col > ns->c1)
			continue;
		for (int64 row = Max(qr - r + 1, ns->r0), last = Min(qr + r - 1, ns->r1); row <= last; row++)
			NearestVisit(ns, col, row);
	}
}

/*
 * Rings of cells around the query, nearest first, within the window that
 * the best distance so far (at first max_m) leaves.  The search ends when
 * the window has no ring left, or when every cell of the remaining rings is
 * beyond the best distance: a cell r rings out in x is more than (r - 1)
 * cell widths away, (r - 1) * cw * kx metres, and in y (r - 1) * ch * ky
 * metres (the bound takes r - 2: one ring to spare for rounding).  Each
 * ring holds a cell of the window, so the work is bounded by the window's
 * cells, and far from every grid by the raster's, whatever max_m.
 */
static void
NearestFrom(NearestSearch *ns, double x)
{
	const GridIndex *idx = ns->idx;

	ns->x = x;
	ns->qc = (int64) floor((x - idx->minx) * idx->icw);
	ns->qr = (int64) floor((ns->y - idx->miny) * idx->ich);
	for (int64 r = 0;; r++)
	{
		int64		dc,
					dr,
					far_c,
					far_r;
		double		lower_x,
					lower_y;

		/* far from every grid the rings are many */
		CHECK_FOR_INTERRUPTS();
		if (!NearestWindow(ns))
			break;
		/* the window's nearest and farthest rings */
		dc = Max(Max(ns->c0 - ns->qc, ns->qc - ns->c1), 0);
		dr = Max(Max(ns->r0 - ns->qr, ns->qr - ns->r1), 0);
		far_c = Max(Abs(ns->qc - ns->c0), Abs(ns->qc - ns->c1));
		far_r = Max(Abs(ns->qr - ns->r0), Abs(ns->qr - ns->r1));
		r = Max(r, Max(dc, dr));
		if (r > Max(far_c, far_r))
			break;
		lower_x = far_c >= r ? Max(r - 2, 0) * idx->cw * ns->kx : HUGE_VAL;
		lower_y = far_r >= r ? Max(r - 2, 0) * idx->ch * ns->ky : HUGE_VAL;
		if (BeyondBest(ns, Min(lower_x, lower_y) * Min(lower_x, lower_y)))
			break;
		NearestRing(ns, r);
	}
}

/*
 * The metric is a local equirectangular projection at the query: kx =
 * cos(lat) metres per degree of longitude, ky per degree of latitude.  It
 * wraps at the antimeridian: the query is also measured from its copies
 * 360 degrees east and west, so that (-179.9, 0) is as near a grid at
 * 179.9 as (179.9, 0) is; a copy too far for the best distance costs
 * nothing.  At a pole kx is 0: every longitude is the same point.
 */
bool
GridIndexNearest(const GridIndex *idx, double x, double y, double max_m,
				 int32 *grid_id, double *dist_m)
{
	NearestSearch ns;

	if (GridIndexLookup(idx, x, y, grid_id))
	{
		*dist_m = 0;
		return true;
	}
	if (idx->npolys == 0)
		return false;
	ns.idx = idx;
	ns.y = y;
	ns.kx = fabs(y) >= 90 ? 0 : Max(cos(y * M_PI / 180.0), 0.0) * METRES_PER_DEGREE;
	ns.ky = METRES_PER_DEGREE;
	ns.best2 = max_m * max_m;
	ns.best_poly = -1;
	NearestFrom(&ns, x);
	NearestFrom(&ns, x - 360);
	NearestFrom(&ns, x + 360);
	if (ns.best_poly < 0)
		return false;
	*grid_id = idx->grid_ids[ns.best_poly];
	*dist_m = sqrt(ns.best2);
	return true;
}

/*
 * The flat copy: the GridIndex struct, then each array at a MAXALIGNed
 * offset, in a fixed order.  It holds no pointer, so it can live in shared
 * memory mapped at a different address in every backend.
 */
#define FLAT_PARTS 5

static void
FlatParts(const GridIndex *idx, Size *sizes)
{
	bool		cells = idx->npolys > 0;	/* else nothing else was built */

	sizes[0] = idx->npolys * sizeof(int32);
	sizes[1] = cells ? idx->nverts * 2 * sizeof(double) : 0;
	sizes[2] = cells ? ((int64) idx->nx * idx->ny + 1) * sizeof(uint32) : 0;
	sizes[3] = cells ? idx->nentries * sizeof(GridIndexEntry) : 0;
	sizes[4] = cells ? idx->nedge_refs * sizeof(uint32) : 0;
}

Size
GridIndexFlatSize(const GridIndex *idx)
{
	Size		sizes[FLAT_PARTS];
	Size		total = MAXALIGN(sizeof(GridIndex));

	FlatParts(idx, sizes);
	for (int i = 0; i < FLAT_PARTS; i++)
		total += MAXALIGN(sizes[i]);
	return total;
}

void
GridIndexFlatten(const GridIndex *idx, void *dst)
{
	Size		sizes[FLAT_PARTS];
	const void *src[FLAT_PARTS] = {idx->grid_ids, idx->xy, idx->cell_start, idx->entries, idx->edges};
	GridIndex  *head = dst;
	char	   *p = (char *) dst + MAXALIGN(sizeof(GridIndex));

	FlatParts(idx, sizes);
	*head = *idx;
	head->grid_ids = NULL;
	head->xy = NULL;
	head->cell_start = NULL;
	head->entries = NULL;
	head->edges = NULL;
	for (int i = 0; i < FLAT_PARTS; i++)
	{
		if (sizes[i] > 0)
			memcpy(p, src[i], sizes[i]);
		p += MAXALIGN(sizes[i]);
	}
}

void
GridIndexView(const void *flat, GridIndex *idx)
{
	Size		sizes[FLAT_PARTS];
	char	   *p = (char *) flat + MAXALIGN(sizeof(GridIndex));
	void	   *parts[FLAT_PARTS];

	*idx = *(const GridIndex *) flat;
	FlatParts(idx, sizes);		/* from the counts, which the copy keeps */
	for (int i = 0; i < FLAT_PARTS; i++)
	{
		parts[i] = sizes[i] > 0 ? p : NULL;
		p += MAXALIGN(sizes[i]);
	}
	idx->grid_ids = parts[0];
	idx->xy = parts[1];
	idx->cell_start = parts[2];
	idx->entries = parts[3];
	idx->edges = parts[4];
}
