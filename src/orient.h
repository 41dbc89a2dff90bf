/*
 * orient.h
 *		The exact sign of an orientation determinant, for the grid index's
 *		point-in-polygon and on-border tests.
 */
#ifndef O2O_ORIENT_H
#define O2O_ORIENT_H

#include <float.h>
#include <math.h>

/*
 * O2oOrient: the sign (-1, 0, 1) of (bx - ax) * (py - ay) - (px - ax) * (by - ay),
 * exactly, for any finite doubles: a floating-point filter decides the
 * usual case, and exact integer arithmetic the rest (points on or very near
 * the line, and coordinates so small that the products underflow).
 */
extern int	O2oOrientExact(double ax, double ay, double bx, double by, double px, double py);

static inline int
O2oOrient(double ax, double ay, double bx, double by, double px, double py)
{
	double		left = (bx - ax) * (py - ay),
				right = (px - ax) * (by - ay),
				det = left - right;

	/*
	 * Shewchuk's bound for this expression, (3 + 16 eps) eps (|left| +
	 * |right|) with eps = 2^-53, plus what underflow can lose (a smallest
	 * subnormal per operation); overflow (inf, NaN) fails both tests.
	 */
	double		bound = (3.0 + 16.0 * (DBL_EPSILON / 2)) * (DBL_EPSILON / 2) * (fabs(left) + fabs(right))
		+ 8 * DBL_TRUE_MIN;

	if (det > bound)
		return 1;
	if (-det > bound)
		return -1;
	return O2oOrientExact(ax, ay, bx, by, px, py);
}

#endif							/* O2O_ORIENT_H */
