/*-------------------------------------------------------------------------
 *
 * agg.h
 *	  Parallel-safe routing aggregates: o2o_best, o2o_topk, o2o_fairness.
 *
 * Each aggregate keeps an "internal" transition state, so each one needs
 * transition, final, combine, serialize and deserialize functions to be
 * usable in partial (parallel) aggregation.
 *
 *-------------------------------------------------------------------------
 */
#ifndef O2O_AGG_H
#define O2O_AGG_H

#include "fmgr.h"

/* Largest k accepted by o2o_topk; bounds the per-group state size. */
#define O2O_TOPK_MAX_K 10000

/* o2o_best(id bigint, score float8) -> bigint */
extern PGDLLEXPORT Datum o2o_best_transfn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_best_finalfn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_best_combinefn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_best_serialfn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_best_deserialfn(PG_FUNCTION_ARGS);

/* o2o_topk(id bigint, score float8, k int) -> bigint[] */
extern PGDLLEXPORT Datum o2o_topk_transfn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_topk_finalfn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_topk_combinefn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_topk_serialfn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_topk_deserialfn(PG_FUNCTION_ARGS);

/* o2o_fairness(load float8) -> float8 */
extern PGDLLEXPORT Datum o2o_fairness_transfn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_fairness_finalfn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_fairness_combinefn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_fairness_serialfn(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum o2o_fairness_deserialfn(PG_FUNCTION_ARGS);

#endif							/* O2O_AGG_H */
