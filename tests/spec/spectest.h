/* The "spectest" host module that the spec test scripts import from:
 * print functions, four immutable globals, a table and a memory. One
 * instance of it is shared by every module of a script, as in the spec
 * interpreter, so a table or memory written by one module is seen by the
 * next. */
#ifndef SPECTEST_H
#define SPECTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "myriad.h"

typedef struct Spectest Spectest;

/* Creates the host objects. verbose: the print functions print their
 * arguments on stdout (otherwise they do nothing). NULL if out of memory
 * or if the engine refused an object. */
Spectest *spectest_new(myr_engine *engine, bool verbose);
void spectest_free(Spectest *s);

/* Finds the export called name (name_len bytes). */
bool spectest_lookup(const Spectest *s, const char *name, size_t name_len,
		     myr_extern *out);

#endif
