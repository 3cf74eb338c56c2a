/*
 * The compiler tier's machine-code side (built only with LLVM): jit_emit.c
 * translates wasm function bodies to LLVM IR, jit_link.c turns that into an
 * object file and links objects into the process, jit_rt.c holds the
 * runtime functions the code calls. tier.c decides what to compile when.
 *
 * The contract with the interpreter (docs/architecture.md, "The compiler
 * tier"): a compiled function keeps its frame exactly where the
 * interpreter keeps it (parameters and locals in their slots, the
 * operand stack at T + height), but only writes it there when it stops.
 * Each function gets
 *   - a body, `tailcc RET fast(Exec*, u64 *fp, i64 fuel, i32 resume,
 *     params...)`, called directly by other compiled code; RET is
 *     {i64 fuel, T result} for one result and i64 fuel otherwise (further
 *     results go to fp[0..));
 *   - a NativeGen wrapper the interpreter's `native` cells call;
 *   - its resume cells: cell 0 enters it, cell 1 + j resumes at the
 *     header of loop j, and for call site s, cell 1 + nloops + 2s resumes
 *     after the call and the next one makes the call again.
 * A function that must stop stores its locals and operand stack in the
 * frame, the innermost one also ex->pc (its resume cell), and returns
 * NATIVE_UNWIND; its callers save their own frames and return the same.
 */
#ifndef MYR_JIT_H
#define MYR_JIT_H

#include "runtime.h"

/* An object file made by jit_build: plain bytes, so it can be written to
 * the code cache and loaded again by jit_load. */
typedef struct JitObject {
	uint8_t *bytes;
	size_t len;
} JitObject;

/* The machine code of one object, linked into the process. */
typedef struct JitCode JitCode;

/* Whether compiled code can run here; if not, why. */
bool jit_init(char *why, size_t why_len);

/* The CPU the code is compiled for and the features it may use (part of
 * the code cache's key). */
const char *jit_cpu_key(void);

/* A number that changes whenever the layout compiled code assumes
 * (offsets into runtime structures, the helpers' list) changes. */
uint64_t jit_abi_hash(void);

/* Compiles the defined functions defs[0..n) of m into one object. Calls
 * between them are direct; calls to other functions look up their machine
 * code when made. quick leaves out the SLP vectorizer: it is two thirds of
 * LLVM's optimization time on large modules and pays only in hot
 * straight-line float code (nbody: 1.5x), so code that is not known to be
 * hot is built without it. False (why in err) if LLVM failed. */
bool jit_build(const Module *m, const uint32_t *defs, uint32_t n, bool quick,
	       JitObject *out, char *err, size_t err_len);

/* Links an object built for the same defs and publishes the machine code:
 * each function's `native` and `native_cells`, then its `entry`. */
bool jit_load(Module *m, const uint8_t *obj, size_t len, const uint32_t *defs,
	      uint32_t n, JitCode **out, char *err, size_t err_len);

/* Frees the code of an object; nothing may still run it. */
void jit_unload(JitCode *code);

/* ---- The ABI between compiled code and the runtime (jit_rt.c) ---- */

/* Every runtime function compiled code calls: X(name, return, params)
 * where the types are letters: v void, p pointer, i i32, l i64. */
#define MYR_JIT_HELPERS(X)                                                     \
	X(trap, v, "pii")                                                      \
	X(need_stack, l, "pplpli")                                             \
	X(call, l, "ppipppli")                                                 \
	X(call_def, l, "ppiippli")                                             \
	X(tail, l, "ppiippli")                                                 \
	X(tail_def, l, "ppiiipli")                                             \
	X(memory_grow, i, "pi")                                                \
	X(memory_fill, i, "piiii")                                             \
	X(memory_copy, i, "piiii")                                             \
	X(memory_init, i, "piiiii")                                            \
	X(data_drop, v, "pi")                                                  \
	X(table_grow, i, "pili")                                               \
	X(table_fill, i, "piilii")                                             \
	X(table_copy, i, "piiiiii")                                            \
	X(table_init, i, "piiiiii")                                            \
	X(elem_drop, v, "pi")                                                  \
	X(ref_func, l, "pi")

/* jit_rt.c: the address of runtime function `name`, NULL if none. */
void *jit_helper(const char *name);

#endif
