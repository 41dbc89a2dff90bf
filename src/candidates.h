/*
 * candidates.h
 *		The order being routed and the dealers that could serve it: reading
 *		the order, probing stock, the list of candidates.  The lowest layer
 *		of assignment: score, rank, reserve and explain build on it.
 */
#ifndef O2O_CANDIDATES_H
#define O2O_CANDIDATES_H

#include "utils/date.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

#include "dealercache.h"
#include "orderstate.h"
#include "probe.h"

#define EARTH_RADIUS_M 6371008.8

/* the order being routed */
typedef struct Order
{
	int64		order_id;
	char	   *sku;
	int32		qty;
	O2oOrderStatus status;
	double		lon,
				lat;
	int32		grid_id;		/* -1: outside every grid, even the nearest */
	int32		region_id;
	bool		nearest;		/* the grid is the nearest, not a covering one */
	char	   *category;
	bool		needs_install;
	bool		climate_ok;		/* the model is sold in the grid's climate */
	O2oClimate	climate;		/* the grid's; valid when grid_id >= 0 */
	int32		active_dealer;	/* -1: none */
	int32	   *declined;		/* dealers that declined it before */
	int			ndeclined;
	bool		read_only;		/* o2o_candidates, o2o_promise: read under the query's snapshot */
	bool		lazy_stock;		/* explaining: read stock only where it decides */
	DateADT		today;
	int64		hold_id;		/* the order's checkout hold, or the hold being made; -1: none */
	bool		for_hold;		/* reserving for the hold hold_id, not for the order */
} Order;

/*
 * Why a candidate cannot serve, REASON_NONE when it can (or is not
 * evaluated yet).  The names users see are in explain.c.
 */
typedef enum CandReason
{
	REASON_NONE = 0,
	REASON_NO_STOCK,
	REASON_OUT_OF_RADIUS,
	REASON_NO_SKILL,
	REASON_NO_SLOT,
	REASON_DECLINED,
	REASON_INACTIVE,
	REASON_NO_GRID,
	REASON_CLIMATE,
	REASON_RESERVED_MEANWHILE,
	REASON_BUSY,
	REASON_STALE				/* stock older than o2o_route.stock_max_age */
} CandReason;

/* Cand.available not read yet: see Order.lazy_stock */
#define STOCK_UNREAD (-2)

/* one dealer considered for the order */
typedef struct Cand
{
	const DealerInfo *d;		/* valid while ranking only */
	int32		dealer_id;
	int32		grid_id;
	int32		region_id;
	bool		active;
	double		radius_m;
	int32		available;		/* on_hand - reserved - safety; -1: no stock row; STOCK_UNREAD */
	double		distance_m;
	bool		same_grid;
	bool		excluded;		/* declined this order before */
	/* installers with the skill, best first; their first free day */
	int32		ninst;
	int32	   *inst_id;
	int32	   *inst_cap;
	int32	  **inst_booked;	/* per day of the horizon */
	int32	   *inst_first_free;	/* day index, or -1 */
	int8	  **inst_window;	/* per day: the first window with room, or -1 */
	double	   *inst_load;
	double		dealer_load;
	/* the result */
	int32		installer_id;	/* -1: none needed or none found */
	int32		day_index;		/* of install_day, from the start day */
	int32		window;			/* O2oWindow of the job: O2O_WIN_DAY without installer */
	double		load;
	double		s_distance,
				s_stock,
				s_load,
				penalty,
				score;
	CandReason	reason;			/* REASON_NONE: eligible (or not evaluated yet) */
	TimestampTz counted_at;		/* the dealer's last count; DT_NOBEGIN: never synced */
	bool		evaluated;		/* installers read, eligibility and score final */
	double		bound;			/* the score it can reach at most (load 0) */
} Cand;

/* a lon/lat box: o2o_route.max_distance_m around the delivery point */
typedef struct Box
{
	double		minlon,
				minlat,
				maxlon,
				maxlat;
} Box;

static inline bool
O2oInBox(const Box *b, double lon, double lat)
{
	return lon >= b->minlon && lon <= b->maxlon && lat >= b->minlat && lat <= b->maxlat;
}

/* stock rows, probed by (sku, grid_id) or by (dealer_id, sku) */
typedef struct StockProbe
{
	O2oProbe	p;
	bool		open;
	AttrNumber	a_dealer,
				a_on_hand,
				a_reserved,
				a_safety;
} StockProbe;

/* the dealers' last counts (o2o.dealer_sync), probed by dealer_id */
typedef struct SyncProbe
{
	O2oProbe	p;
	bool		open;
	AttrNumber	a_counted_at;
} SyncProbe;

/*
 * Read (and, when lock, lock) the order, its product and earlier
 * assignments; find its grid.  Raises the documented errors for an unknown
 * order.
 */
extern void O2oLoadOrder(Order *o, int64 order_id, bool lock);

/*
 * An order not placed yet (o2o_promise, o2o_hold): qty units of sku to
 * (lon, lat).  Raises the documented errors for an unknown SKU or qty < 1.
 */
extern void O2oLoadPlace(Order *o, const char *sku, double lon, double lat, int32 qty, bool read_only);

/* The snapshot the probes of one step read under; the caller unregisters. */
extern Snapshot O2oOrderSnapshot(const Order *o);

/* Great-circle distance in metres. */
extern double O2oHaversine(double lon1, double lat1, double lon2, double lat2);

static inline double
O2oDealerDistance(const Order *o, const DealerInfo *d)
{
	return O2oHaversine(o->lon, o->lat, d->lon, d->lat);
}

/* nearer first, then the lower id: the order of every list of candidates */
static inline int
O2oNearerFirst(double dx, int32 ix, double dy, int32 iy)
{
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return (ix > iy) - (ix < iy);
}

/* Append a dealer to a growing array of candidates. */
extern void O2oAddCand(const Order *o, const DealerInfo *d, double distance_m, int32 available,
					   bool same_grid, Cand **cands, int *ncands, int *cap);

/*
 * Open the stock probe (once; sp zeroed first), by (sku, grid_id) or by
 * (dealer_id, sku); O2oStockClose() closes it if opened.
 */
extern void O2oStockOpen(StockProbe *sp, bool by_grid, Snapshot snap);
extern void O2oStockClose(StockProbe *sp);

/*
 * Whether a dealer at distance_m from the delivery point may still matter
 * (promising, see rank.c); a dealer that cannot, and so every farther one,
 * is not read.
 */
typedef bool (*O2oMayMatter) (void *arg, double distance_m);

/*
 * Add the nearest o2o_route.max_candidates active dealers of a grid with
 * the units, no farther than limit_m; with a box, only those of other
 * grids than the order's inside it; with may_matter, only until it says no
 * more can.  sp is opened by grid.
 */
extern void O2oAddGridStock(const Order *o, StockProbe *sp, Datum sku, int32 grid_id, const Box *box,
							double limit_m, O2oMayMatter may_matter, void *arg,
							Cand **cands, int *ncands, int *cap);

/* Units of the SKU at a dealer; -1: no stock row.  sp opened by dealer. */
extern int32 O2oDealerAvailable(StockProbe *sp, Datum sku, int32 dealer_id);

/* The safety stock of a dealer's stock row; 0 when it has none. */
extern int32 O2oDealerSafety(StockProbe *sp, Datum sku, int32 dealer_id);

/* The time of a dealer's last applied count; DT_NOBEGIN when it never synced. */
extern TimestampTz O2oDealerCountedAt(SyncProbe *sp, int32 dealer_id, Snapshot snap);
extern void O2oSyncClose(SyncProbe *sp);

#endif							/* O2O_CANDIDATES_H */
