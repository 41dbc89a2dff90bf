/*
 * tracking.h
 *		What happens to an assigned order until it is completed: the time
 *		windows a day is cut into (and how an installer's daily capacity is
 *		shared among them), and the progress steps of a delivery with the
 *		transitions allowed between them.  The one place that knows; the
 *		ranking (score.c), the booking (reserve.c) and the SQL functions
 *		(o2o_progress, through o2o._progress_step) all ask it.
 */
#ifndef O2O_TRACKING_H
#define O2O_TRACKING_H

/* The windows of a day; a delivery without installation takes the whole day. */
typedef enum O2oWindow
{
	O2O_WIN_MORNING,
	O2O_WIN_AFTERNOON,
	O2O_WIN_EVENING,
	O2O_WIN_DAY,
	O2O_NWINDOWS
} O2oWindow;

/* the windows an installer's jobs are booked in */
#define O2O_NJOB_WINDOWS 3

/* The progress of an active assignment. */
typedef enum O2oProgress
{
	O2O_PROG_SCHEDULED,
	O2O_PROG_DISPATCHED,
	O2O_PROG_EN_ROUTE,
	O2O_PROG_ARRIVED,
	O2O_PROG_INSTALLED,
	O2O_PROG_DELIVERED,
	O2O_PROG_FAILED,
	O2O_NPROGRESS
} O2oProgress;

extern const char *O2oWindowName(O2oWindow w);

/*
 * The jobs an installer of daily capacity cap can take in window w: the
 * capacity shared as evenly as possible, earlier windows first (8 gives
 * 3, 3, 2; 2 gives 1, 1, 0).  The shares add up to cap.
 */
static inline int
O2oWindowCapacity(int cap, int w)
{
	/* in 64 bits: cap + 2 overflows an int for the largest capacities */
	return w < O2O_NJOB_WINDOWS ? (int) (((int64) cap + O2O_NJOB_WINDOWS - 1 - w) / O2O_NJOB_WINDOWS) : 0;
}

/* The first window of a day with room, given its jobs per window; -1 when full. */
static inline int
O2oFirstFreeWindow(int cap, const int *booked)
{
	for (int w = 0; w < O2O_NJOB_WINDOWS; w++)
		if (booked[w] < O2oWindowCapacity(cap, w))
			return w;
	return -1;
}

#endif							/* O2O_TRACKING_H */
