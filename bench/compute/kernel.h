/*
 * Shared by every compute kernel. A kernel is one C file with no I/O that
 * defines `run`, which does a fixed amount of work and returns a checksum
 * that depends on all of it (so no compiler can drop any of the work).
 *
 * The same file is built twice: to wasm32 (where `run` is the module's only
 * function export) and natively, where native_main.c includes the kernel and
 * prints run()'s result the way the myriad CLI does.
 */
#ifndef MYR_BENCH_KERNEL_H
#define MYR_BENCH_KERNEL_H

#include <stdint.h>

#ifdef __wasm__
#define KERNEL_EXPORT __attribute__((export_name("run")))
#else
#define KERNEL_EXPORT /* native: native_main.c calls run() directly */
#endif

/*
 * Sizes and seeds are read from volatile globals: the compiler must load
 * them at run time, so it cannot evaluate a kernel at build time (clang will
 * happily fold a loop whose inputs are all constants). The sizes are listed
 * in docs/performance.md: keep that table in step when changing them.
 */
#define KERNEL_INPUT static volatile

/*
 * Two sizes per kernel: the benchmark's (about a second of native time, so
 * start-up and compile time are small next to the run) and the test's
 * (kernels.tiers runs every kernel in every tier, the interpreter too,
 * under ASan as well, so it uses a size a fifth to a half as big).
 * The build makes the test size with -DKERNEL_TEST.
 */
#ifdef KERNEL_TEST
#define KERNEL_SIZE(bench, test) (test)
#else
#define KERNEL_SIZE(bench, test) (bench)
#endif

/*
 * Pseudo-random numbers: a 64-bit LCG (Knuth's MMIX constants) returning the
 * high 32 bits, whose low bits are far better than the LCG's own low bits.
 * Integer-only and fully specified, so wasm and native see the same stream.
 */
static inline uint32_t lcg_next(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*state >> 32);
}

#endif
