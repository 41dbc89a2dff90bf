/*
 * explain.c
 *		What users read about a decision: the reason names, the jsonb
 *		explanation of an assignment, the reason an order is unassignable.
 *
 * The explanations are built as jsonb values directly: no text to print and
 * parse again.  Numbers are exact decimals of a fixed scale; keys come in a
 * fixed order.
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "candidates.h"
#include "explain.h"
#include "guc.h"

/* by CandReason: the words users see */
static const char *const reason_names[] = {
	[REASON_NONE] = NULL,
	[REASON_NO_STOCK] = "no stock",
	[REASON_OUT_OF_RADIUS] = "out of radius",
	[REASON_NO_SKILL] = "no installer with the skill",
	[REASON_NO_SLOT] = "no free slot",
	[REASON_DECLINED] = "declined before",
	[REASON_INACTIVE] = "inactive",
	[REASON_NO_GRID] = "delivery point outside every grid",
	[REASON_CLIMATE] = "model not sold in this climate zone",
	[REASON_RESERVED_MEANWHILE] = "reserved meanwhile",
	[REASON_BUSY] = "busy",
	[REASON_STALE] = "stock not synced"
};

StaticAssertDecl(lengthof(reason_names) == REASON_STALE + 1,
				 "reason_names must name every CandReason");

/* a jsonb value being built */
typedef struct JsonOut
{
	JsonbParseState *st;
	JsonbValue *res;
} JsonOut;

/* push one token (and value) */
static void
JPush(JsonOut *j, JsonbIteratorToken tok, JsonbValue *v)
{
	j->res = pushJsonbValue(&j->st, tok, v);
}

/* an object key */
static void
JKey(JsonOut *j, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	JPush(j, WJB_KEY, &v);
}

/* a key and its string value */
static void
JStr(JsonOut *j, const char *key, const char *str)
{
	JsonbValue	v;

	JKey(j, key);
	v.type = jbvString;
	v.val.string.val = (char *) str;
	v.val.string.len = strlen(str);
	JPush(j, WJB_VALUE, &v);
}

/* x rounded to `scale` decimals (0: an integer) */
static void
JNum(JsonOut *j, const char *key, double x, int scale)
{
	JsonbValue	v;
	double		f = scale == 4 ? 1e4 : scale == 1 ? 10 : 1;

	Assert(scale == 0 || scale == 1 || scale == 4);
	JKey(j, key);
	v.type = jbvNumeric;
	v.val.numeric = scale == 0 ? int64_to_numeric((int64) x)
		: int64_div_fast_to_numeric((int64) llround(x * f), scale);
	JPush(j, WJB_VALUE, &v);
}

/* a key and its boolean value */
static void
JBool(JsonOut *j, const char *key, bool b)
{
	JsonbValue	v;

	JKey(j, key);
	v.type = jbvBool;
	v.val.boolean = b;
	JPush(j, WJB_VALUE, &v);
}

/* a key with null */
static void
JNull(JsonOut *j, const char *key)
{
	JsonbValue	v;

	JKey(j, key);
	v.type = jbvNull;
	JPush(j, WJB_VALUE, &v);
}

/* the finished value, as a jsonb datum */
static Datum
JDatum(JsonOut *j)
{
	return JsonbPGetDatum(JsonbValueToJsonb(j->res));
}

/* a date as YYYY-MM-DD, whatever DateStyle is */
static char *
IsoDate(DateADT d)
{
	struct pg_tm tm;
	char		buf[MAXDATELEN + 1];

	j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	EncodeDateOnly(&tm, USE_ISO_DATES, buf);
	return pstrdup(buf);
}

/* one candidate's decision parts, as an object */
static void
CandJson(JsonOut *j, const Order *o, const Cand *c)
{
	JPush(j, WJB_BEGIN_OBJECT, NULL);
	JNum(j, "dealer_id", c->dealer_id, 0);
	JNum(j, "grid_id", c->grid_id, 0);
	JBool(j, "same_grid", c->same_grid);
	JNum(j, "distance_m", c->distance_m, 1);
	JNum(j, "available", c->available, 0);
	JNum(j, "load", c->load, 4);
	if (c->installer_id >= 0)
	{
		JNum(j, "installer_id", c->installer_id, 0);
		JStr(j, "install_day", IsoDate(o->today + 1 + c->day_index));
	}
	JNum(j, "score", c->score, 4);
	JKey(j, "parts");
	JPush(j, WJB_BEGIN_OBJECT, NULL);
	JNum(j, "distance", c->s_distance, 4);
	JNum(j, "stock", c->s_stock, 4);
	JNum(j, "load", c->s_load, 4);
	JNum(j, "cross_grid_penalty", c->penalty, 4);
	JPush(j, WJB_END_OBJECT, NULL);
	JPush(j, WJB_END_OBJECT, NULL);
}

/* the o2o_route.cross_grid policy, as the setting names it */
static const char *
CrossGridName(void)
{
	return o2o_cross_grid == O2O_CROSS_NEVER ? "never" :
		o2o_cross_grid == O2O_CROSS_FREE ? "free" : "fallback";
}

/* why nobody can serve: counts of the reasons, for the order and its event */
char *
O2oUnassignableReason(const Order *o, const Cand *cands, int ncands)
{
	StringInfoData s;

	/* the order of the counts; never busy: such an order stays pending */
	static const CandReason reasons[] = {
		REASON_NO_STOCK, REASON_OUT_OF_RADIUS, REASON_NO_SKILL, REASON_NO_SLOT,
		REASON_DECLINED, REASON_INACTIVE, REASON_CLIMATE, REASON_RESERVED_MEANWHILE, REASON_STALE
	};

	initStringInfo(&s);
	if (o->grid_id < 0)
	{
		appendStringInfoString(&s, "delivery point outside every grid");
		return s.data;
	}
	if (!o->climate_ok)
	{
		appendStringInfo(&s, "model not sold in the %s", O2oClimateName(o->climate));
		return s.data;
	}
	if (ncands == 0)
	{
		appendStringInfo(&s, "no dealer within %.0f m", o2o_max_distance_m);
		return s.data;
	}
	appendStringInfo(&s, "no dealer can serve (%d considered:", ncands);
	for (int r = 0; r < (int) lengthof(reasons); r++)
	{
		int			n = 0;

		for (int i = 0; i < ncands; i++)
			if (cands[i].reason == reasons[r])
				n++;
		if (n > 0)
			appendStringInfo(&s, " %d %s,", n, reason_names[reasons[r]]);
	}
	s.data[s.len - 1] = ')';
	return s.data;
}

/*
 * Why a candidate cannot serve, in words: the reason's name, and for stock
 * too old to route on, since when ("stock not synced since ...").
 */
char *
O2oCandReasonText(const Cand *c)
{
	if (c->reason == REASON_STALE)
		return TIMESTAMP_NOT_FINITE(c->counted_at) ? pstrdup("stock never synced")
			: psprintf("stock not synced since %s", timestamptz_to_str(c->counted_at));
	return pstrdup(reason_names[c->reason]);
}

/* the words for a reason; NULL for none */
const char *
O2oReasonName(CandReason reason)
{
	Assert((int) reason >= 0 && (int) reason < (int) lengthof(reason_names));
	return reason_names[reason];
}

/* the assignment's explanation: policy, grid, winner, up to 3 runners-up */
Datum
O2oAssignmentDetail(const Order *o, const Cand *cands, int ncands, int win)
{
	JsonOut		detail = {0};
	int			shown = 0;

	JPush(&detail, WJB_BEGIN_OBJECT, NULL);
	JStr(&detail, "policy", CrossGridName());
	JNum(&detail, "grid_id", o->grid_id, 0);
	JBool(&detail, "nearest_grid", o->nearest);
	JNum(&detail, "considered", ncands, 0);
	JKey(&detail, "winner");
	CandJson(&detail, o, &cands[win]);
	JKey(&detail, "runners_up");
	JPush(&detail, WJB_BEGIN_ARRAY, NULL);
	for (int i = win + 1; i < ncands && shown < 3; i++)
	{
		if (cands[i].reason != REASON_NONE)
			continue;
		CandJson(&detail, o, &cands[i]);
		shown++;
	}
	JPush(&detail, WJB_END_ARRAY, NULL);
	JPush(&detail, WJB_END_OBJECT, NULL);
	return JDatum(&detail);
}

/* the full explanation is in the assignment; the event says who and when */
Datum
O2oAssignedEventDetail(const Cand *c)
{
	JsonOut		ev = {0};

	JPush(&ev, WJB_BEGIN_OBJECT, NULL);
	JNum(&ev, "dealer_id", c->dealer_id, 0);
	if (c->installer_id >= 0)
		JNum(&ev, "installer_id", c->installer_id, 0);
	else
		JNull(&ev, "installer_id");
	JBool(&ev, "cross_grid", !c->same_grid);
	JPush(&ev, WJB_END_OBJECT, NULL);
	return JDatum(&ev);
}

/* the unassignable event's detail: policy, how many were considered, why */
Datum
O2oUnassignableEventDetail(int ncands, const char *why)
{
	JsonOut		detail = {0};

	JPush(&detail, WJB_BEGIN_OBJECT, NULL);
	JStr(&detail, "policy", CrossGridName());
	JNum(&detail, "considered", ncands, 0);
	JStr(&detail, "reason", why);
	JPush(&detail, WJB_END_OBJECT, NULL);
	return JDatum(&detail);
}
