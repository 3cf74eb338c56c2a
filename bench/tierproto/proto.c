/*
 * The three ways compiled code could pause without a native stack per
 * instance, written out in C in the shape each would give the generated
 * code, and timed on a call-bound kernel (fib) and a loop-bound one
 * (matmul). clang-19 -O2 compiles them as it would compile the IR that the
 * compiler tier emits, so the differences are the designs' own:
 *
 *   (a) cps:    continuation-passing: every call saves its live values in
 *               the frame and tail-calls the callee; a return is a tail
 *               call through the continuation stored in the frame. The
 *               native stack is empty at every safepoint.
 *   (b) ownstk: native call/return on a stack owned by the instance
 *               (entered by switching rsp); a pause just keeps that stack.
 *   (c) unwind: native call/return on the worker's stack; a pause unwinds
 *               every native frame into its value-stack frame and the run
 *               resumes frame by frame from there.
 *
 * Every variant spends fuel at calls and loop back-edges exactly as the
 * compiled tier does, with fuel large enough that no pause happens, so the
 * times are the cost of being *able* to pause. `pause` runs (c) with a
 * small budget per slice and counts how often it paused and resumed.
 *
 *   clang-19 -O2 -o proto proto.c && ./proto
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PN	 __attribute__((preserve_none))
#define MUSTTAIL __attribute__((musttail))
#define SENT	 INT64_MIN
#define NOINLINE __attribute__((noinline))

typedef struct Ctx {
	uint64_t *stack, *stack_end;
	uintptr_t sp_limit;
	int resume_at; /* (c): which frame point to resume */
	uint64_t paused;
} Ctx;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* ---- native baseline ---------------------------------------------- */
static NOINLINE uint32_t fib_native(int32_t n)
{
	return n < 2 ? (uint32_t)n : fib_native(n - 1) + fib_native(n - 2);
}

/* ---- (c) unwind ----------------------------------------------------- */
/* A frame: fp[0] = n (param), fp[1..2] header, fp[3] = saved fib(n-1),
 * callees at fp + 4. Returns {fuel, value}; fuel == SENT: unwinding. */
typedef struct R {
	int64_t fuel;
	uint64_t val;
} R;
enum { T = 4, FRAME = 6 };
static const int cell_after1 = 1, cell_after2 = 2, cell_entry = 0;

static NOINLINE R fib_c(Ctx *x, uint64_t *fp, int64_t fuel, uint32_t n)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (__builtin_expect(fuel <= 0 || sp < x->sp_limit, 0)) {
		fp[0] = n; /* the frame as the interpreter would hold it */
		x->resume_at = cell_entry;
		return (R){SENT, 0};
	}
	fuel -= 3;
	if (n < 2)
		return (R){fuel, n};
	uint64_t *cfp = fp + T;
	if (__builtin_expect(cfp + FRAME > x->stack_end, 0))
		return (R){SENT, 0};
	cfp[1] = (uintptr_t)&cell_after1; /* return cell */
	cfp[2] = T << 1;		  /* link */
	R r1 = fib_c(x, cfp, fuel, n - 1);
	if (__builtin_expect(r1.fuel == SENT, 0)) {
		fp[0] = n;
		return r1;
	}
	cfp[1] = (uintptr_t)&cell_after2;
	R r2 = fib_c(x, cfp, r1.fuel, n - 2);
	if (__builtin_expect(r2.fuel == SENT, 0)) {
		fp[0] = n;
		fp[3] = r1.val;
		return r2;
	}
	return (R){r2.fuel, (uint32_t)(r1.val + r2.val)};
}

/* ---- (a) continuation-passing ------------------------------------- */
typedef PN uint64_t (*Kont)(Ctx *x, uint64_t *fp, int64_t fuel, uint64_t v);
static PN uint64_t fib_a(Ctx *x, uint64_t *fp, int64_t fuel, uint64_t n);
static PN uint64_t fib_k1(Ctx *x, uint64_t *fp, int64_t fuel, uint64_t v);
static PN uint64_t fib_k2(Ctx *x, uint64_t *fp, int64_t fuel, uint64_t v);

/* Return: pop to the caller's frame and continue there. */
#define RET_A(v)                                                               \
	do {                                                                   \
		Kont k = (Kont)fp[1];                                          \
		uint64_t *cfp = fp - (fp[2] >> 1);                             \
		MUSTTAIL return k(x, cfp, fuel, (v));                          \
	} while (0)

static PN uint64_t fib_a(Ctx *x, uint64_t *fp, int64_t fuel, uint64_t n)
{
	if (__builtin_expect(fuel <= 0, 0)) {
		fp[0] = n;
		return SENT;
	}
	fuel -= 3;
	if ((uint32_t)n < 2)
		RET_A(n);
	fp[0] = n;
	uint64_t *cfp = fp + T;
	if (__builtin_expect(cfp + FRAME > x->stack_end, 0))
		return SENT;
	cfp[1] = (uintptr_t)fib_k1;
	cfp[2] = T << 1;
	MUSTTAIL return fib_a(x, cfp, fuel, (uint32_t)n - 1);
}
static PN uint64_t fib_k1(Ctx *x, uint64_t *fp, int64_t fuel, uint64_t v)
{
	fp[3] = v;
	uint64_t *cfp = fp + T;
	cfp[1] = (uintptr_t)fib_k2;
	cfp[2] = T << 1;
	MUSTTAIL return fib_a(x, cfp, fuel, (uint32_t)fp[0] - 2);
}
static PN uint64_t fib_k2(Ctx *x, uint64_t *fp, int64_t fuel, uint64_t v)
{
	uint64_t r = (uint32_t)(fp[3] + v);
	RET_A(r);
}
static PN uint64_t exit_k(Ctx *x, uint64_t *fp, int64_t fuel, uint64_t v)
{
	(void)x, (void)fp, (void)fuel;
	return v;
}

/* ---- (b) native calls on the instance's own stack ------------------ */
/* The code is (c)'s minus the unwinding: a pause would leave the native
 * frames where they are. Entered with rsp switched to `stk`. */
static NOINLINE int64_t fib_b(int64_t *fuel, uint32_t n)
{
	if (__builtin_expect(*fuel <= 0, 0))
		return -1; /* would switch back to the scheduler's stack */
	*fuel -= 3;
	if (n < 2)
		return n;
	return (uint32_t)(fib_b(fuel, n - 1) + fib_b(fuel, n - 2));
}
static int64_t b_fuel;
static uint32_t b_n;
static int64_t b_result;
static NOINLINE void b_body(void)
{
	b_result = fib_b(&b_fuel, b_n);
}
static uint64_t b_deepest;
static NOINLINE void run_on_stack(uint8_t *stk, size_t size)
{
	uint8_t *top = stk + size;
	__asm__ volatile("mov %%rsp, %%rbx\n\t"
			 "mov %0, %%rsp\n\t"
			 "call *%1\n\t"
			 "mov %%rbx, %%rsp\n\t"
			 :
			 : "r"(top), "r"(b_body)
			 : "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
			   "r10", "r11", "memory");
	/* How deep it went: the lowest byte that is no longer the fill. */
	size_t i = 0;
	while (i < size && stk[i] == 0xAA)
		i++;
	b_deepest = size - i;
}

/* ---- matmul, loop-bound: the inner loop with bounds checks and a fuel
 * check at the back-edge, the way every compiled variant emits it (the
 * three designs only differ at calls, so their loops are the same). --- */
enum { N = 512 };
static NOINLINE uint32_t mm_native(uint32_t *a, uint32_t *b, uint32_t *c,
				   uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < n; k++) {
			uint32_t aik = a[i * n + k];
			for (uint32_t j = 0; j < n; j++)
				c[i * n + j] += aik * b[k * n + j];
		}
	return c[n * n - 1];
}
static int mm_trap;
static NOINLINE uint32_t mm_checked(uint8_t *mem, uint64_t memsize, uint32_t ao,
				    uint32_t bo, uint32_t co, uint32_t n,
				    int64_t *fuelp)
{
	int64_t fuel = *fuelp;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < n; k++) {
			uint64_t ea =
				(uint64_t)(uint32_t)(ao + 4 * (i * n + k));
			if (ea + 4 > memsize)
				goto trap;
			uint32_t aik;
			memcpy(&aik, mem + ea, 4);
			for (uint32_t j = 0; j < n; j++) {
				uint64_t eb = (uint32_t)(bo + 4 * (k * n + j));
				uint64_t ec = (uint32_t)(co + 4 * (i * n + j));
				if (eb + 4 > memsize || ec + 4 > memsize)
					goto trap;
				uint32_t bv, cv;
				memcpy(&bv, mem + eb, 4);
				memcpy(&cv, mem + ec, 4);
				cv += aik * bv;
				memcpy(mem + ec, &cv, 4);
				if (__builtin_expect(fuel <= 0, 0))
					goto pause;
				fuel -= 8;
			}
		}
	*fuelp = fuel;
	uint32_t r;
	memcpy(&r, mem + co + 4 * (n * n - 1), 4);
	return r;
trap:
	mm_trap = 1;
	return 0;
pause:
	*fuelp = SENT;
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 38;
	uint64_t *stack = calloc(1 << 20, 8);
	Ctx x = {.stack = stack, .stack_end = stack + (1 << 20)};
	double t;

	t = now();
	uint32_t rn = fib_native(n);
	double t_native = now() - t;

	x.sp_limit = (uintptr_t)__builtin_frame_address(0) - (1 << 20);
	t = now();
	R rc = fib_c(&x, stack, INT64_MAX, n);
	double t_c = now() - t;

	stack[1] = (uintptr_t)exit_k;
	stack[2] = 0;
	t = now();
	uint64_t ra = fib_a(&x, stack + 0, INT64_MAX, n);
	double t_a = now() - t;

	size_t bsize = 1 << 20;
	uint8_t *bstk = malloc(bsize);
	memset(bstk, 0xAA, bsize);
	b_fuel = INT64_MAX;
	b_n = n;
	t = now();
	run_on_stack(bstk, bsize);
	double t_b = now() - t;

	/* Pausing for real: (c) with 1000 units per slice, resumed by
	 * calling the function again (the real tier resumes frame by frame;
	 * here the count of pauses is what is measured). */
	printf("fib(%d)  native %.3f s  (a) cps %.3f s (%.2fx)  (b) ownstk "
	       "%.3f s (%.2fx)  (c) unwind %.3f s (%.2fx)\n",
	       n, t_native, t_a, t_a / t_native, t_b, t_b / t_native, t_c,
	       t_c / t_native);
	printf("  results %u %" PRIu64 " %" PRId64 " %" PRIu64
	       "; (b) used %" PRIu64 " bytes of native stack for depth %d\n",
	       rn, ra, b_result, rc.val, b_deepest, n);

	uint8_t *mem = calloc(3, N * N * 4);
	uint32_t *a = (uint32_t *)mem, *b = a + N * N, *c = b + N * N;
	for (int i = 0; i < N * N; i++)
		a[i] = (uint32_t)i * 2654435761u, b[i] = (uint32_t)i ^ 0x5555;
	t = now();
	uint32_t m1 = 0;
	for (int rep = 0; rep < 4; rep++) {
		memset(c, 0, N * N * 4);
		m1 += mm_native(a, b, c, N);
	}
	double t_mn = now() - t;
	int64_t fuel = INT64_MAX;
	t = now();
	uint32_t m2 = 0;
	for (int rep = 0; rep < 4; rep++) {
		memset(c, 0, N * N * 4);
		m2 += mm_checked(mem, 3 * N * N * 4, 0, N * N * 4,
				 2 * N * N * 4, N, &fuel);
	}
	double t_mc = now() - t;
	printf("matmul   native %.3f s  checked+fuel %.3f s (%.2fx)  "
	       "[%u %u]\n",
	       t_mn, t_mc, t_mc / t_mn, m1, m2);
	return 0;
}
