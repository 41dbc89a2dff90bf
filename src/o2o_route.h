/*
 * o2o_route.h
 *		Declarations shared by every module of the o2o_route extension.
 */
#ifndef O2O_ROUTE_H
#define O2O_ROUTE_H

#ifndef O2O_ROUTE_VERSION
#error "O2O_ROUTE_VERSION must be defined by the build (see Makefile)"
#endif

/* name of the extension, as in pg_extension.extname and the GUC prefix */
#define O2O_EXTENSION_NAME "o2o_route"

#endif							/* O2O_ROUTE_H */
