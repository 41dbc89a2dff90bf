/*
 * version.h
 *		Agreement between the loaded library and the installed SQL objects.
 */
#ifndef O2O_VERSION_H
#define O2O_VERSION_H

/* Raise an error unless the installed extension version equals the library's. */
extern void O2oCheckVersion(void);

#endif							/* O2O_VERSION_H */
