/*
 * Which functions of a module have machine code, and when they get it
 * (myr_tier). Built without the compiler, every module stays interpreted
 * and these do nothing.
 */
#ifndef MYR_TIER_H
#define MYR_TIER_H

#include "runtime.h"

/* After compile_module: starts the module's tier. `code`, if not NULL,
 * is compiled code the embedder supplied (myr_module_new_with_code).
 * False only if the module cannot be used at all (err says why); a
 * compiler failure leaves functions interpreted, with a note. */
bool tier_module_start(Module *m, const uint8_t *code, size_t code_len,
		       myr_error *err);

/* Stops a background compilation and frees the machine code. */
void tier_module_stop(Module *m);

/* Where a run paused at interpreter code pc of m goes on: the matching
 * resume cell of the function's machine code if it has some and pc is
 * its entry or a loop header, else pc. Counts the pause toward the
 * function's hotness. */
const Cell *tier_resume_at(const Module *m, const Cell *pc);

/* Whether machine code may still arrive for m (a run that never pauses
 * would never move to it). */
bool tier_pending(const Module *m);

#endif
