/*
 * version.h
 *		Agreement between the loaded library and the installed SQL objects.
 */
#ifndef O2O_VERSION_H
#define O2O_VERSION_H

/* Raise an error unless the installed extension version equals the library's. */
extern void O2oCheckVersion(void);

/* The schema an extension is installed in, or InvalidOid. */
extern Oid	O2oExtensionSchema(const char *extname);

#endif							/* O2O_VERSION_H */
