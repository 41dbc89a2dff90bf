/*
 * orient.c
 *		Exact orientation signs (see orient.h).
 *
 * Every finite double is an integer multiple of 2^-1074, below 2^1024: an
 * integer of at most 2098 bits once scaled by 2^1074.  The exact path
 * computes the determinant with such integers (little-endian 32-bit limbs,
 * sign and magnitude), which takes a few microseconds and is reached only
 * when the floating-point filter cannot vouch for the sign.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "orient.h"

/* 2098 bits, and products of two of them */
#define LIMBS 66
#define PLIMBS (2 * LIMBS + 1)

typedef struct Big
{
	int			sign;			/* -1, 0, 1 */
	uint32		m[PLIMBS];		/* magnitude */
} Big;

/* x * 2^1074 as an integer */
static void
BigFromDouble(double x, Big *b)
{
	int			e;
	double		f = frexp(fabs(x), &e);	/* |x| = f * 2^e, 0.5 <= f < 1 */
	uint64		mant;
	int			shift;

	memset(b, 0, sizeof(Big));
	if (x == 0)
		return;
	b->sign = x < 0 ? -1 : 1;
	mant = (uint64) ldexp(f, 53);	/* |x| = mant * 2^(e - 53), exactly */
	shift = e - 53 + 1074;
	/* subnormals: mant has trailing zero bits, and shift may be negative */
	while (shift < 0)
	{
		Assert((mant & 1) == 0);
		mant >>= 1;
		shift++;
	}
	for (int bit = 0; mant != 0; bit += 32, mant >>= 32)
	{
		int			pos = shift + bit;
		uint64		chunk = (mant & 0xFFFFFFFF) << (pos % 32);

		b->m[pos / 32] |= (uint32) chunk;
		if (chunk >> 32)
			b->m[pos / 32 + 1] |= (uint32) (chunk >> 32);
	}
}

static int
MagCmp(const uint32 *a, const uint32 *b)
{
	for (int i = PLIMBS - 1; i >= 0; i--)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

/* r = a - b, magnitudes, a >= b */
static void
MagSub(const uint32 *a, const uint32 *b, uint32 *r)
{
	int64		borrow = 0;

	for (int i = 0; i < PLIMBS; i++)
	{
		int64		d = (int64) a[i] - b[i] - borrow;

		borrow = d < 0;
		r[i] = (uint32) (d + (borrow << 32));
	}
}

/* r = a + b, magnitudes (no overflow at these sizes) */
static void
MagAdd(const uint32 *a, const uint32 *b, uint32 *r)
{
	uint64		carry = 0;

	for (int i = 0; i < PLIMBS; i++)
	{
		uint64		s = (uint64) a[i] + b[i] + carry;

		r[i] = (uint32) s;
		carry = s >> 32;
	}
}

/* r = a - b, signed; r may be a or b */
static void
BigSub(const Big *a, const Big *b, Big *r)
{
	Big			t;

	memset(&t, 0, sizeof(t));
	if (b->sign == 0)
		t = *a;
	else if (a->sign == 0)
	{
		t = *b;
		t.sign = -b->sign;
	}
	else if (a->sign != b->sign)
	{
		MagAdd(a->m, b->m, t.m);
		t.sign = a->sign;
	}
	else
	{
		int			c = MagCmp(a->m, b->m);

		if (c != 0)
		{
			if (c > 0)
				MagSub(a->m, b->m, t.m);
			else
				MagSub(b->m, a->m, t.m);
			t.sign = c > 0 ? a->sign : -a->sign;
		}
	}
	*r = t;
}

/* r = a * b; the factors are below 2^2099, so the product fits */
static void
BigMul(const Big *a, const Big *b, Big *r)
{
	memset(r, 0, sizeof(Big));
	if (a->sign == 0 || b->sign == 0)
		return;
	r->sign = a->sign * b->sign;
	for (int i = 0; i < LIMBS + 1; i++)
	{
		uint64		carry = 0;

		if (a->m[i] == 0)
			continue;
		for (int j = 0; j < LIMBS + 1 && i + j < PLIMBS; j++)
		{
			uint64		t = (uint64) a->m[i] * b->m[j] + r->m[i + j] + carry;

			r->m[i + j] = (uint32) t;
			carry = t >> 32;
		}
		for (int k = i + LIMBS + 1; carry != 0 && k < PLIMBS; k++)
		{
			uint64		t = (uint64) r->m[k] + carry;

			r->m[k] = (uint32) t;
			carry = t >> 32;
		}
	}
}

int
O2oOrientExact(double ax, double ay, double bx, double by, double px, double py)
{
	Big			v[6],
				l,
				r;

	BigFromDouble(ax, &v[0]);
	BigFromDouble(ay, &v[1]);
	BigFromDouble(bx, &v[2]);
	BigFromDouble(by, &v[3]);
	BigFromDouble(px, &v[4]);
	BigFromDouble(py, &v[5]);
	BigSub(&v[2], &v[0], &v[2]);	/* bx - ax */
	BigSub(&v[3], &v[1], &v[3]);	/* by - ay */
	BigSub(&v[4], &v[0], &v[4]);	/* px - ax */
	BigSub(&v[5], &v[1], &v[5]);	/* py - ay */
	BigMul(&v[2], &v[5], &l);
	BigMul(&v[4], &v[3], &r);
	BigSub(&l, &r, &l);
	return l.sign;
}
