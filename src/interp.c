/*
 * The interpreter: one handler per internal instruction, chained by
 * guaranteed tail calls.
 *
 * Each handler receives the machine state as arguments (pc, frame pointer,
 * memory base and size, fuel, execution state) so that, with clang's
 * preserve_none convention, all of it stays in registers from one handler
 * to the next; a handler ends by jumping to the next one's address, read
 * from the first cell of the next instruction. Nothing recurses on the C
 * stack: a wasm call writes a frame header into the value stack and jumps.
 *
 * Fuel is spent at the two places where a run can go on indefinitely:
 * loop back-edges and calls. It is checked before it is spent, so every
 * slice gets past at least one safepoint however small its fuel; when it
 * has run out the handler saves pc and fp in the Exec and returns, and
 * exec_run() later re-enters at the same instruction.
 */
#include <math.h>
#include <stdio.h>

#include "runtime.h"
#include "tier.h"

#if defined(__clang__) && __clang_major__ >= 13
#define MUSTTAIL __attribute__((musttail))
#else
#define MUSTTAIL
#endif

#define H(name) static MYR_CC int op_##name(OP_PARAMS)
/* 32-bit operand i of the current instruction. */
#define F(i)  (((const uint32_t *)(pc + 1))[i])
#define FS(i) ((int32_t)F(i))
#define DISPATCH()                                                             \
	do {                                                                   \
		MUSTTAIL return pc->fn(pc, fp, mem, memsize, fuel, ex, acc);   \
	} while (0)
#define NEXT(cells)                                                            \
	do {                                                                   \
		pc += (cells);                                                 \
		DISPATCH();                                                    \
	} while (0)
#define TRAP(code) return do_trap(ex, pc, fp, (code))
#define PAUSE()	   return do_pause(ex, pc, fp, fuel, acc)
/* Reloads the cached memory registers after anything that may have grown
 * or switched the memory. */
#define RELOAD_MEM()                                                           \
	do {                                                                   \
		mem = ex->mem ? ex->mem->base : NULL;                          \
		memsize = ex->mem ? ex->mem->size : 0;                         \
	} while (0)

/* ------------------------------------------------------------------ */
/* Cold paths                                                          */

/* Which function of the running module holds pc (for trap messages). */
static uint32_t func_at(const Module *m, const Cell *pc)
{
	const Func *f = module_func_at(m, pc);
	return f ? f->index : MYR_NO_FUNC;
}

static __attribute__((noinline, cold)) int do_trap(Exec *ex, const Cell *pc,
						   uint64_t *fp, myr_trap code)
{
	(void)fp;
	ex->trap = (uint8_t)code;
	ex->trap_func = func_at(ex->inst->mod, pc);
	return RUN_TRAP;
}

void exec_set_trap_msg(Exec *ex, myr_trap trap, const char *msg)
{
	ex->trap = (uint8_t)trap;
	ex->trap_func = MYR_NO_FUNC;
	free(ex->trap_msg);
	ex->trap_msg = msg ? strdup(msg) : NULL;
}

void exec_error(const Exec *ex, myr_error *out)
{
	error_clear(out);
	out->kind = MYR_ERR_TRAP;
	out->trap = (myr_trap)ex->trap;
	out->func = ex->trap_func;
	out->exit_code = ex->exit_code;
	const char *what =
		ex->trap_msg ? ex->trap_msg : myr_trap_message(out->trap);
	if (ex->trap == MYR_TRAP_EXIT)
		snprintf(out->message, sizeof out->message, "exit with code %d",
			 ex->exit_code);
	else if (ex->trap_func != MYR_NO_FUNC)
		snprintf(out->message, sizeof out->message,
			 "%s (in function %u)", what, ex->trap_func);
	else
		snprintf(out->message, sizeof out->message, "%s", what);
}

/* Saves where the run stopped; it goes on from pc when run again. */
static __attribute__((noinline)) int do_stop(Exec *ex, const Cell *pc,
					     uint64_t *fp, int64_t fuel,
					     uint64_t acc, int rc)
{
	ex->pc = pc;
	ex->fp_off = (size_t)(fp - ex->stack);
	ex->fuel_left = fuel;
	ex->acc = acc;
	return rc;
}

static __attribute__((noinline)) int
do_pause(Exec *ex, const Cell *pc, uint64_t *fp, int64_t fuel, uint64_t acc)
{
	return do_stop(ex, pc, fp, fuel, acc, RUN_OUT_OF_FUEL);
}

/* A frame could not be pushed: past the stack limit that is a trap;
 * inside compiled code (which holds pointers into the stack) the stack
 * must not move, so the run stops at the call, the compiled frames are
 * saved, the stack grows, and the call is made again. */
#define STACK_FAIL()                                                           \
	do {                                                                   \
		if (ex->unwind == RUN_GROW)                                    \
			return do_stop(ex, pc, fp, fuel, acc, RUN_GROW);       \
		TRAP(ex->stack_nomem ? MYR_TRAP_LIMIT                          \
				     : MYR_TRAP_STACK_EXHAUSTED);              \
	} while (0)

uint64_t *exec_grow_stack(Exec *ex, uint64_t *fp, size_t need)
{
	size_t off = (size_t)(fp - ex->stack);
	size_t cap = (size_t)(ex->stack_end - ex->stack);
	if (off + need > ex->max_slots)
		return NULL;
	if (ex->nest > 0) {
		ex->unwind = RUN_GROW;
		ex->grow_need = need;
		return NULL;
	}
	size_t ncap = MAX(cap * 2, off + need);
	ncap = MIN(ncap, ex->max_slots);
	uint64_t *s;
	if (ex->stack_inline) {
		/* The first growth leaves the instance block's stack. */
		s = xrealloc_array(NULL, ncap, sizeof *s);
		if (s)
			memcpy(s, ex->stack, cap * sizeof *s);
	} else {
		s = xrealloc_array(ex->stack, ncap, sizeof *s);
	}
	if (!s) {
		ex->stack_nomem = true;
		return NULL;
	}
	ex->stack_inline = false;
	ex->stack = s;
	ex->stack_end = s + ncap;
	return s + off;
}

/* ------------------------------------------------------------------ */
/* Value helpers                                                       */

static inline float f32_of(uint64_t v)
{
	uint32_t b = (uint32_t)v;
	float f;
	memcpy(&f, &b, 4);
	return f;
}

static inline double f64_of(uint64_t v)
{
	double d;
	memcpy(&d, &v, 8);
	return d;
}

static inline uint64_t bits_f32(float f)
{
	uint32_t b;
	memcpy(&b, &f, 4);
	return b;
}

static inline uint64_t bits_f64(double d)
{
	uint64_t b;
	memcpy(&b, &d, 8);
	return b;
}

static inline uint32_t rotl32(uint32_t x, uint32_t n)
{
	n &= 31;
	return (x << n) | (x >> ((32 - n) & 31));
}
static inline uint32_t rotr32(uint32_t x, uint32_t n)
{
	n &= 31;
	return (x >> n) | (x << ((32 - n) & 31));
}
static inline uint64_t rotl64(uint64_t x, uint64_t n)
{
	n &= 63;
	return (x << n) | (x >> ((64 - n) & 63));
}
static inline uint64_t rotr64(uint64_t x, uint64_t n)
{
	n &= 63;
	return (x >> n) | (x << ((64 - n) & 63));
}

/* Wasm min/max: NaN if either is NaN, and -0 < +0. */
#define WASM_MINMAX(name, T, is_min)                                           \
	static inline T name(T a, T b)                                         \
	{                                                                      \
		if (isnan(a) || isnan(b))                                      \
			return a + b;                                          \
		if (a == b)                                                    \
			return (signbit(a) == (is_min)) ? a : b;               \
		return (is_min) ? (a < b ? a : b) : (a > b ? a : b);           \
	}
WASM_MINMAX(wasm_fminf, float, 1)
WASM_MINMAX(wasm_fmaxf, float, 0)
WASM_MINMAX(wasm_fmin, double, 1)
WASM_MINMAX(wasm_fmax, double, 0)

/* ------------------------------------------------------------------ */
/* Accumulator variants                                                */

/* How an operand is read and a result written in each variant (ops.h):
 * from / to its slot, or from / to the accumulator. */
#define IN_S(i)	   fp[F(i)]
#define IN_ACC(i)  acc
#define OUT_S(v)   (fp[F(0)] = (v))
#define OUT_ACC(v) (acc = (v))

/* Each family's variants, from one generator GEN(name, in..., out, ...)
 * whose trailing arguments are passed through. */
#define VAL2_VARIANTS(GEN, name, ...)                                          \
	GEN(name, IN_S, IN_S, OUT_S, __VA_ARGS__)                              \
	GEN(name##_o, IN_S, IN_S, OUT_ACC, __VA_ARGS__)                        \
	GEN(name##_a, IN_ACC, IN_S, OUT_S, __VA_ARGS__)                        \
	GEN(name##_ao, IN_ACC, IN_S, OUT_ACC, __VA_ARGS__)                     \
	GEN(name##_b, IN_S, IN_ACC, OUT_S, __VA_ARGS__)                        \
	GEN(name##_bo, IN_S, IN_ACC, OUT_ACC, __VA_ARGS__)
#define VAL1_VARIANTS(GEN, name, ...)                                          \
	GEN(name, IN_S, OUT_S, __VA_ARGS__)                                    \
	GEN(name##_o, IN_S, OUT_ACC, __VA_ARGS__)                              \
	GEN(name##_a, IN_ACC, OUT_S, __VA_ARGS__)                              \
	GEN(name##_ao, IN_ACC, OUT_ACC, __VA_ARGS__)
#define STORE_VARIANTS(GEN, name, ...)                                         \
	GEN(name, IN_S, IN_S, __VA_ARGS__)                                     \
	GEN(name##_a, IN_ACC, IN_S, __VA_ARGS__)                               \
	GEN(name##_b, IN_S, IN_ACC, __VA_ARGS__)
#define BR1_VARIANTS(GEN, name, ...)                                           \
	GEN(name, IN_S, __VA_ARGS__)                                           \
	GEN(name##_a, IN_ACC, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Integer arithmetic                                                  */

#define BIN32_GEN(hname, IA, IB, OUT, expr)                                    \
	H(hname)                                                               \
	{                                                                      \
		uint32_t a = (uint32_t)IA(1), b = (uint32_t)IB(2);             \
		OUT((uint32_t)(expr));                                         \
		NEXT(3);                                                       \
	}
#define BIN64_GEN(hname, IA, IB, OUT, expr)                                    \
	H(hname)                                                               \
	{                                                                      \
		uint64_t a = IA(1), b = IB(2);                                 \
		OUT((uint64_t)(expr));                                         \
		NEXT(3);                                                       \
	}
#define BINK32_GEN(hname, IA, OUT, expr)                                       \
	H(hname)                                                               \
	{                                                                      \
		uint32_t a = (uint32_t)IA(1), b = F(2);                        \
		OUT((uint32_t)(expr));                                         \
		NEXT(3);                                                       \
	}
#define BINK64_GEN(hname, IA, OUT, expr)                                       \
	H(hname)                                                               \
	{                                                                      \
		uint64_t a = IA(1), b = (uint64_t)(int64_t)FS(2);              \
		OUT((uint64_t)(expr));                                         \
		NEXT(3);                                                       \
	}
#define BIN32(name, expr)  VAL2_VARIANTS(BIN32_GEN, i32_##name, expr)
#define BIN64(name, expr)  VAL2_VARIANTS(BIN64_GEN, i64_##name, expr)
#define BINK32(name, expr) VAL1_VARIANTS(BINK32_GEN, i32_##name##_k, expr)
#define BINK64(name, expr) VAL1_VARIANTS(BINK64_GEN, i64_##name##_k, expr)
/* Operations that exist with a slot and with an immediate operand. */
#define BOTH(name, e32, e64)                                                   \
	BIN32(name, e32) BIN64(name, e64) BINK32(name, e32) BINK64(name, e64)

BOTH(add, a + b, a + b)
BOTH(mul, a *b, a *b)
BOTH(and, a &b, a &b)
BOTH(or, a | b, a | b)
BOTH(xor, a ^ b, a ^ b)
BOTH(shl, a << (b & 31), a << (b & 63))
BOTH(shr_s, (int32_t)a >> (b & 31), (int64_t)a >> (b & 63))
BOTH(shr_u, a >> (b & 31), a >> (b & 63))
BOTH(eq, a == b, a == b)
BOTH(ne, a != b, a != b)
BOTH(lt_s, (int32_t)a < (int32_t)b, (int64_t)a < (int64_t)b)
BOTH(lt_u, a < b, a < b)
BOTH(gt_s, (int32_t)a > (int32_t)b, (int64_t)a > (int64_t)b)
BOTH(gt_u, a > b, a > b)
BOTH(le_s, (int32_t)a <= (int32_t)b, (int64_t)a <= (int64_t)b)
BOTH(le_u, a <= b, a <= b)
BOTH(ge_s, (int32_t)a >= (int32_t)b, (int64_t)a >= (int64_t)b)
BOTH(ge_u, a >= b, a >= b)
BIN32(sub, a - b)
BIN64(sub, a - b)
BOTH(rotl, rotl32(a, b), rotl64(a, b))
BOTH(rotr, rotr32(a, b), rotr64(a, b))

/* Division and remainder trap on a zero divisor; signed division also on
 * MIN / -1, whose remainder is 0. */
#define DIV_GEN(hname, IA, IB, OUT, ST, UT, MIN, is_signed, is_rem)            \
	H(hname)                                                               \
	{                                                                      \
		UT ua = (UT)IA(1), ub = (UT)IB(2), r;                          \
		if (UNLIKELY(ub == 0))                                         \
			TRAP(MYR_TRAP_DIV_BY_ZERO);                            \
		if (is_signed) {                                               \
			ST a = (ST)ua, b = (ST)ub;                             \
			if (is_rem) {                                          \
				r = b == -1 ? 0 : (UT)(a % b);                 \
			} else {                                               \
				if (UNLIKELY(a == (MIN) && b == -1))           \
					TRAP(MYR_TRAP_INT_OVERFLOW);           \
				r = (UT)(a / b);                               \
			}                                                      \
		} else {                                                       \
			r = is_rem ? ua % ub : ua / ub;                        \
		}                                                              \
		OUT((uint64_t)r);                                              \
		NEXT(3);                                                       \
	}
VAL2_VARIANTS(DIV_GEN, i32_div_s, int32_t, uint32_t, INT32_MIN, 1, 0)
VAL2_VARIANTS(DIV_GEN, i32_div_u, int32_t, uint32_t, INT32_MIN, 0, 0)
VAL2_VARIANTS(DIV_GEN, i32_rem_s, int32_t, uint32_t, INT32_MIN, 1, 1)
VAL2_VARIANTS(DIV_GEN, i32_rem_u, int32_t, uint32_t, INT32_MIN, 0, 1)
VAL2_VARIANTS(DIV_GEN, i64_div_s, int64_t, uint64_t, INT64_MIN, 1, 0)
VAL2_VARIANTS(DIV_GEN, i64_div_u, int64_t, uint64_t, INT64_MIN, 0, 0)
VAL2_VARIANTS(DIV_GEN, i64_rem_s, int64_t, uint64_t, INT64_MIN, 1, 1)
VAL2_VARIANTS(DIV_GEN, i64_rem_u, int64_t, uint64_t, INT64_MIN, 0, 1)

/* ------------------------------------------------------------------ */
/* Floating point                                                      */

#define FBIN_GEN(hname, IA, IB, OUT, get, put, expr)                           \
	H(hname)                                                               \
	{                                                                      \
		__typeof__(get(0)) a = get(IA(1)), b = get(IB(2));             \
		OUT(put(expr));                                                \
		NEXT(3);                                                       \
	}
#define FCMP_GEN(hname, IA, IB, OUT, get, expr)                                \
	H(hname)                                                               \
	{                                                                      \
		__typeof__(get(0)) a = get(IA(1)), b = get(IB(2));             \
		OUT((uint64_t)((expr) ? 1 : 0));                               \
		NEXT(3);                                                       \
	}
#define FBIN(T, name, get, put, expr)                                          \
	VAL2_VARIANTS(FBIN_GEN, T##_##name, get, put, expr)
#define FCMP(T, name, get, expr) VAL2_VARIANTS(FCMP_GEN, T##_##name, get, expr)
#define FOPS(T, get, put, fmin, fmax)                                          \
	FBIN(T, add, get, put, a + b)                                          \
	FBIN(T, sub, get, put, a - b)                                          \
	FBIN(T, mul, get, put, a *b)                                           \
	FBIN(T, div, get, put, a / b)                                          \
	FBIN(T, min, get, put, fmin(a, b))                                     \
	FBIN(T, max, get, put, fmax(a, b))                                     \
	FCMP(T, eq, get, a == b)                                               \
	FCMP(T, ne, get, a != b)                                               \
	FCMP(T, lt, get, a < b)                                                \
	FCMP(T, gt, get, a > b)                                                \
	FCMP(T, le, get, a <= b)                                               \
	FCMP(T, ge, get, a >= b)
FOPS(f32, f32_of, bits_f32, wasm_fminf, wasm_fmaxf)
FOPS(f64, f64_of, bits_f64, wasm_fmin, wasm_fmax)

/* Sign manipulation works on the bits so that NaN payloads survive. */
#define COPYSIGN_GEN(hname, IA, IB, OUT, sign)                                 \
	H(hname)                                                               \
	{                                                                      \
		OUT((IA(1) & ((sign) - 1)) | (IB(2) & (sign)));                \
		NEXT(3);                                                       \
	}
VAL2_VARIANTS(COPYSIGN_GEN, f32_copysign, (uint64_t)0x80000000u)
VAL2_VARIANTS(COPYSIGN_GEN, f64_copysign, (uint64_t)1 << 63)

#define UN_GEN(hname, IA, OUT, expr)                                           \
	H(hname)                                                               \
	{                                                                      \
		uint64_t a = IA(1);                                            \
		OUT((uint64_t)(expr));                                         \
		NEXT(2);                                                       \
	}
#define UN(name, expr) VAL1_VARIANTS(UN_GEN, name, expr)

UN(i32_eqz, (uint32_t)a == 0)
UN(i64_eqz, a == 0)
UN(i32_clz, (uint32_t)a ? (uint64_t)__builtin_clz((uint32_t)a) : 32)
UN(i32_ctz, (uint32_t)a ? (uint64_t)__builtin_ctz((uint32_t)a) : 32)
UN(i32_popcnt, (uint64_t)__builtin_popcount((uint32_t)a))
UN(i64_clz, a ? (uint64_t)__builtin_clzll(a) : 64)
UN(i64_ctz, a ? (uint64_t)__builtin_ctzll(a) : 64)
UN(i64_popcnt, (uint64_t)__builtin_popcountll(a))
UN(f32_abs, a & 0x7FFFFFFFu)
UN(f32_neg, (a ^ 0x80000000u) & 0xFFFFFFFFu)
UN(f32_ceil, bits_f32(ceilf(f32_of(a))))
UN(f32_floor, bits_f32(floorf(f32_of(a))))
UN(f32_trunc, bits_f32(truncf(f32_of(a))))
UN(f32_nearest, bits_f32(nearbyintf(f32_of(a))))
UN(f32_sqrt, bits_f32(sqrtf(f32_of(a))))
UN(f64_abs, a & ~((uint64_t)1 << 63))
UN(f64_neg, a ^ ((uint64_t)1 << 63))
UN(f64_ceil, bits_f64(ceil(f64_of(a))))
UN(f64_floor, bits_f64(floor(f64_of(a))))
UN(f64_trunc, bits_f64(trunc(f64_of(a))))
UN(f64_nearest, bits_f64(nearbyint(f64_of(a))))
UN(f64_sqrt, bits_f64(sqrt(f64_of(a))))
UN(i32_wrap_i64, (uint32_t)a)
UN(i64_extend_i32_s, (uint64_t)(int64_t)(int32_t)a)
UN(i64_extend_i32_u, (uint32_t)a)
UN(f32_convert_i32_s, bits_f32((float)(int32_t)a))
UN(f32_convert_i32_u, bits_f32((float)(uint32_t)a))
UN(f32_convert_i64_s, bits_f32((float)(int64_t)a))
UN(f32_convert_i64_u, bits_f32((float)a))
UN(f32_demote_f64, bits_f32((float)f64_of(a)))
UN(f64_convert_i32_s, bits_f64((double)(int32_t)a))
UN(f64_convert_i32_u, bits_f64((double)(uint32_t)a))
UN(f64_convert_i64_s, bits_f64((double)(int64_t)a))
UN(f64_convert_i64_u, bits_f64((double)a))
UN(f64_promote_f32, bits_f64((double)f32_of(a)))
UN(i32_extend8_s, (uint32_t)(int32_t)(int8_t)a)
UN(i32_extend16_s, (uint32_t)(int32_t)(int16_t)a)
UN(i64_extend8_s, (uint64_t)(int64_t)(int8_t)a)
UN(i64_extend16_s, (uint64_t)(int64_t)(int16_t)a)
UN(i64_extend32_s, (uint64_t)(int64_t)(int32_t)a)
UN(ref_is_null, a == 0)

/* Trapping float-to-int conversions. `lo` and `hi` are the exclusive
 * bounds of the values whose truncation fits the integer type. */
#define TRUNC_GEN(hname, IA, OUT, get, IT, lo, hi)                             \
	H(hname)                                                               \
	{                                                                      \
		__typeof__(get(0)) x = get(IA(1));                             \
		if (UNLIKELY(isnan(x)))                                        \
			TRAP(MYR_TRAP_INVALID_CONVERSION);                     \
		if (UNLIKELY(!(x > (lo) && x < (hi))))                         \
			TRAP(MYR_TRAP_INT_OVERFLOW);                           \
		OUT(sizeof(IT) == 4 ? (uint32_t)(IT)x : (uint64_t)(IT)x);      \
		NEXT(2);                                                       \
	}
#define TRUNC(name, get, IT, lo, hi)                                           \
	VAL1_VARIANTS(TRUNC_GEN, name, get, IT, lo, hi)
TRUNC(i32_trunc_f32_s, f32_of, int32_t, -2147483904.0f, 2147483648.0f)
TRUNC(i32_trunc_f32_u, f32_of, uint32_t, -1.0f, 4294967296.0f)
TRUNC(i32_trunc_f64_s, f64_of, int32_t, -2147483649.0, 2147483648.0)
TRUNC(i32_trunc_f64_u, f64_of, uint32_t, -1.0, 4294967296.0)
TRUNC(i64_trunc_f32_s, f32_of, int64_t, -9223373136366403584.0f,
      9223372036854775808.0f)
TRUNC(i64_trunc_f32_u, f32_of, uint64_t, -1.0f, 18446744073709551616.0f)
TRUNC(i64_trunc_f64_s, f64_of, int64_t, -9223372036854777856.0,
      9223372036854775808.0)
TRUNC(i64_trunc_f64_u, f64_of, uint64_t, -1.0, 18446744073709551616.0)

/* Saturating conversions: NaN is 0, out of range clamps. */
#define TRUNC_SAT_GEN(hname, IA, OUT, get, IT, lo, hi, minv, maxv)             \
	H(hname)                                                               \
	{                                                                      \
		__typeof__(get(0)) x = get(IA(1));                             \
		IT r;                                                          \
		if (isnan(x))                                                  \
			r = 0;                                                 \
		else if (!(x > (lo)))                                          \
			r = (minv);                                            \
		else if (!(x < (hi)))                                          \
			r = (maxv);                                            \
		else                                                           \
			r = (IT)x;                                             \
		OUT(sizeof(IT) == 4 ? (uint32_t)r : (uint64_t)r);              \
		NEXT(2);                                                       \
	}
#define TRUNC_SAT(name, get, IT, lo, hi, minv, maxv)                           \
	VAL1_VARIANTS(TRUNC_SAT_GEN, name, get, IT, lo, hi, minv, maxv)
TRUNC_SAT(i32_trunc_sat_f32_s, f32_of, int32_t, -2147483904.0f, 2147483648.0f,
	  INT32_MIN, INT32_MAX)
TRUNC_SAT(i32_trunc_sat_f32_u, f32_of, uint32_t, -1.0f, 4294967296.0f, 0,
	  UINT32_MAX)
TRUNC_SAT(i32_trunc_sat_f64_s, f64_of, int32_t, -2147483649.0, 2147483648.0,
	  INT32_MIN, INT32_MAX)
TRUNC_SAT(i32_trunc_sat_f64_u, f64_of, uint32_t, -1.0, 4294967296.0, 0,
	  UINT32_MAX)
TRUNC_SAT(i64_trunc_sat_f32_s, f32_of, int64_t, -9223373136366403584.0f,
	  9223372036854775808.0f, INT64_MIN, INT64_MAX)
TRUNC_SAT(i64_trunc_sat_f32_u, f32_of, uint64_t, -1.0f, 18446744073709551616.0f,
	  0, UINT64_MAX)
TRUNC_SAT(i64_trunc_sat_f64_s, f64_of, int64_t, -9223372036854777856.0,
	  9223372036854775808.0, INT64_MIN, INT64_MAX)
TRUNC_SAT(i64_trunc_sat_f64_u, f64_of, uint64_t, -1.0, 18446744073709551616.0,
	  0, UINT64_MAX)

/* ------------------------------------------------------------------ */
/* Memory                                                              */

/* Every access checks addr + offset + size <= memsize explicitly: no
 * guard regions, so a million small memories fit in the address space.
 * The address operand is A + D, wrapped to 32 bits, where D is the
 * constant of an i32.add the compiler folded in (ops.h). */
#define LOAD_GEN(hname, IA, OUT, T, conv)                                      \
	H(hname)                                                               \
	{                                                                      \
		uint64_t ea = (uint64_t)(uint32_t)(IA(1) + F(3)) + F(2);       \
		if (UNLIKELY(ea + sizeof(T) > memsize))                        \
			TRAP(MYR_TRAP_MEMORY_OOB);                             \
		T v;                                                           \
		memcpy(&v, mem + ea, sizeof v);                                \
		OUT((uint64_t)(conv));                                         \
		NEXT(3);                                                       \
	}
#define LOAD(name, T, conv) VAL1_VARIANTS(LOAD_GEN, name, T, conv)
LOAD(i32_load, uint32_t, v)
LOAD(i64_load, uint64_t, v)
LOAD(i32_load8_s, int8_t, (uint32_t)(int32_t)v)
LOAD(i32_load8_u, uint8_t, v)
LOAD(i32_load16_s, int16_t, (uint32_t)(int32_t)v)
LOAD(i32_load16_u, uint16_t, v)
LOAD(i64_load8_s, int8_t, (uint64_t)(int64_t)v)
LOAD(i64_load8_u, uint8_t, v)
LOAD(i64_load16_s, int16_t, (uint64_t)(int64_t)v)
LOAD(i64_load16_u, uint16_t, v)
LOAD(i64_load32_s, int32_t, (uint64_t)(int64_t)v)
LOAD(i64_load32_u, uint32_t, v)

#define STORE_GEN(hname, IA, IB, T)                                            \
	H(hname)                                                               \
	{                                                                      \
		uint64_t ea = (uint64_t)(uint32_t)(IA(0) + F(3)) + F(2);       \
		if (UNLIKELY(ea + sizeof(T) > memsize))                        \
			TRAP(MYR_TRAP_MEMORY_OOB);                             \
		T v = (T)IB(1);                                                \
		memcpy(mem + ea, &v, sizeof v);                                \
		NEXT(3);                                                       \
	}
#define STORE(name, T) STORE_VARIANTS(STORE_GEN, name, T)
STORE(i32_store, uint32_t)
STORE(i64_store, uint64_t)
STORE(i32_store8, uint8_t)
STORE(i32_store16, uint16_t)
STORE(i64_store8, uint8_t)
STORE(i64_store16, uint16_t)
STORE(i64_store32, uint32_t)

/* Constant address: the compiler folded address + offset into K. */
#define LOAD_ABS(name, T, conv)                                                \
	H(name##_abs)                                                          \
	{                                                                      \
		uint64_t ea = F(1);                                            \
		if (UNLIKELY(ea + sizeof(T) > memsize))                        \
			TRAP(MYR_TRAP_MEMORY_OOB);                             \
		T v;                                                           \
		memcpy(&v, mem + ea, sizeof v);                                \
		fp[F(0)] = conv;                                               \
		NEXT(2);                                                       \
	}
LOAD_ABS(i32_load, uint32_t, v)
LOAD_ABS(i64_load, uint64_t, v)
LOAD_ABS(i32_load8_s, int8_t, (uint32_t)(int32_t)v)
LOAD_ABS(i32_load8_u, uint8_t, v)
LOAD_ABS(i32_load16_s, int16_t, (uint32_t)(int32_t)v)
LOAD_ABS(i32_load16_u, uint16_t, v)
LOAD_ABS(i64_load8_s, int8_t, (uint64_t)(int64_t)v)
LOAD_ABS(i64_load8_u, uint8_t, v)
LOAD_ABS(i64_load16_s, int16_t, (uint64_t)(int64_t)v)
LOAD_ABS(i64_load16_u, uint16_t, v)
LOAD_ABS(i64_load32_s, int32_t, (uint64_t)(int64_t)v)
LOAD_ABS(i64_load32_u, uint32_t, v)

#define STORE_ABS(name, T)                                                     \
	H(name##_abs)                                                          \
	{                                                                      \
		uint64_t ea = F(1);                                            \
		if (UNLIKELY(ea + sizeof(T) > memsize))                        \
			TRAP(MYR_TRAP_MEMORY_OOB);                             \
		T v = (T)fp[F(0)];                                             \
		memcpy(mem + ea, &v, sizeof v);                                \
		NEXT(2);                                                       \
	}
STORE_ABS(i32_store, uint32_t)
STORE_ABS(i64_store, uint64_t)
STORE_ABS(i32_store8, uint8_t)
STORE_ABS(i32_store16, uint16_t)
STORE_ABS(i64_store8, uint8_t)
STORE_ABS(i64_store16, uint16_t)
STORE_ABS(i64_store32, uint32_t)

H(memory_size)
{
	fp[F(0)] = memsize >> ex->mem->page_log2;
	NEXT(2);
}

H(memory_grow)
{
	int64_t old = memory_grow(ex->mem, (uint32_t)fp[F(1)]);
	fp[F(0)] = (uint32_t)(int32_t)old;
	RELOAD_MEM();
	NEXT(2);
}

H(memory_fill)
{
	uint64_t d = (uint32_t)fp[F(0)], n = (uint32_t)fp[F(2)];
	if (UNLIKELY(d + n > memsize))
		TRAP(MYR_TRAP_MEMORY_OOB);
	memset(mem + d, (int)(uint8_t)fp[F(1)], n);
	NEXT(3);
}

H(memory_copy)
{
	uint64_t d = (uint32_t)fp[F(0)], s = (uint32_t)fp[F(1)];
	uint64_t n = (uint32_t)fp[F(2)];
	if (UNLIKELY(d + n > memsize || s + n > memsize))
		TRAP(MYR_TRAP_MEMORY_OOB);
	memmove(mem + d, mem + s, n);
	NEXT(3);
}

H(memory_init)
{
	uint64_t d = (uint32_t)fp[F(0)], s = (uint32_t)fp[F(1)];
	uint64_t n = (uint32_t)fp[F(2)];
	myr_instance *inst = ex->inst;
	const DataSeg *seg = &inst->mod->datas[F(3)];
	uint64_t len =
		instance_dropped(inst, inst->mod->nelems + F(3)) ? 0 : seg->len;
	if (UNLIKELY(s + n > len || d + n > memsize))
		TRAP(MYR_TRAP_MEMORY_OOB);
	if (n)
		memcpy(mem + d, seg->bytes + s, n);
	NEXT(3);
}

H(data_drop)
{
	myr_instance *inst = ex->inst;
	instance_drop(inst, inst->mod->nelems + F(0));
	NEXT(2);
}

/* ------------------------------------------------------------------ */
/* Tables and references                                               */

H(table_get)
{
	myr_table *t = ex->tables[F(2)];
	uint32_t i = (uint32_t)fp[F(1)];
	if (UNLIKELY(i >= t->size))
		TRAP(MYR_TRAP_TABLE_OOB);
	fp[F(0)] = t->elems[i];
	NEXT(3);
}

H(table_set)
{
	myr_table *t = ex->tables[F(2)];
	uint32_t i = (uint32_t)fp[F(0)];
	if (UNLIKELY(i >= t->size))
		TRAP(MYR_TRAP_TABLE_OOB);
	t->elems[i] = fp[F(1)];
	NEXT(3);
}

H(table_size)
{
	fp[F(0)] = ex->tables[F(1)]->size;
	NEXT(2);
}

H(table_grow)
{
	int64_t old =
		table_grow(ex->tables[F(3)], (uint32_t)fp[F(2)], fp[F(1)]);
	fp[F(0)] = (uint32_t)(int32_t)old;
	NEXT(3);
}

H(table_fill)
{
	myr_table *t = ex->tables[F(3)];
	uint64_t i = (uint32_t)fp[F(0)], n = (uint32_t)fp[F(2)];
	uint64_t v = fp[F(1)];
	if (UNLIKELY(i + n > t->size))
		TRAP(MYR_TRAP_TABLE_OOB);
	for (uint64_t k = 0; k < n; k++)
		t->elems[i + k] = v;
	NEXT(3);
}

H(table_copy)
{
	myr_table *dt = ex->tables[F(3)], *st = ex->tables[F(4)];
	uint64_t d = (uint32_t)fp[F(0)], s = (uint32_t)fp[F(1)];
	uint64_t n = (uint32_t)fp[F(2)];
	if (UNLIKELY(d + n > dt->size || s + n > st->size))
		TRAP(MYR_TRAP_TABLE_OOB);
	memmove(dt->elems + d, st->elems + s, n * sizeof *dt->elems);
	NEXT(4);
}

uint64_t exec_elem_value(myr_instance *inst, const ElemItem *it)
{
	switch (it->kind) {
	case ITEM_FUNC:
		return (uint64_t)(uintptr_t)instance_func(inst, it->idx);
	case ITEM_GLOBAL_GET: {
		const Module *m = inst->mod;
		if (it->idx < m->nglobal_imports)
			return *inst->global_imps[it->idx];
		return inst->globals[it->idx - m->nglobal_imports];
	}
	default:
		return 0;
	}
}

H(table_init)
{
	myr_instance *inst = ex->inst;
	myr_table *t = ex->tables[F(3)];
	const ElemSeg *seg = &inst->mod->elems[F(4)];
	uint64_t d = (uint32_t)fp[F(0)], s = (uint32_t)fp[F(1)];
	uint64_t n = (uint32_t)fp[F(2)];
	uint64_t len = instance_dropped(inst, F(4)) ? 0 : seg->count;
	if (UNLIKELY(s + n > len || d + n > t->size))
		TRAP(MYR_TRAP_TABLE_OOB);
	for (uint64_t k = 0; k < n; k++)
		t->elems[d + k] = exec_elem_value(inst, &seg->items[s + k]);
	NEXT(4);
}

H(elem_drop)
{
	instance_drop(ex->inst, F(0));
	NEXT(2);
}

H(ref_func)
{
	fp[F(0)] = (uint64_t)(uintptr_t)instance_func(ex->inst, F(1));
	NEXT(2);
}

/* ------------------------------------------------------------------ */
/* Variables and parametric                                            */

H(copy)
{
	fp[F(0)] = fp[F(1)];
	NEXT(2);
}

H(copy2)
{
	fp[F(2)] = fp[F(3)];
	fp[F(0)] = fp[F(1)];
	NEXT(3);
}

H(const)
{
	fp[F(0)] = pc[2].u64;
	NEXT(3);
}

H(select)
{
	fp[F(0)] = (uint32_t)fp[F(3)] ? fp[F(1)] : fp[F(2)];
	NEXT(3);
}

H(global_get)
{
	fp[F(0)] = ex->globals[F(1)];
	NEXT(2);
}

H(global_get_imp)
{
	fp[F(0)] = *ex->global_imps[F(1)];
	NEXT(2);
}

H(global_set)
{
	ex->globals[F(1)] = fp[F(0)];
	NEXT(2);
}

H(global_set_imp)
{
	*ex->global_imps[F(1)] = fp[F(0)];
	NEXT(2);
}

/* ------------------------------------------------------------------ */
/* Branches                                                            */

H(br)
{
	pc += FS(0);
	DISPATCH();
}

/* A loop's back-edge pauses after the branch is taken, at the loop's
 * header: there every value is in its home slot and the accumulator is
 * free, the state compiled code can resume from (on-stack replacement). */
H(br_loop)
{
	int64_t cost = F(1);
	pc += FS(0);
	if (UNLIKELY(fuel <= 0))
		PAUSE();
	fuel -= cost;
	DISPATCH();
}

/* Branches on a value against zero: A, OFF (and COST for the loops). */
#define BRZ_GEN(hname, IA, test, is_loop)                                      \
	H(hname)                                                               \
	{                                                                      \
		uint64_t a = IA(0);                                            \
		if (test) {                                                    \
			int64_t cost = is_loop ? F(2) : 0;                     \
			pc += FS(1);                                           \
			if (is_loop) {                                         \
				if (UNLIKELY(fuel <= 0))                       \
					PAUSE();                               \
				fuel -= cost;                                  \
			}                                                      \
			DISPATCH();                                            \
		}                                                              \
		NEXT(is_loop ? 3 : 2);                                         \
	}
BR1_VARIANTS(BRZ_GEN, br_nz, a != 0, 0)
BR1_VARIANTS(BRZ_GEN, br_z, a == 0, 0)
BR1_VARIANTS(BRZ_GEN, br_nz_loop, a != 0, 1)
BR1_VARIANTS(BRZ_GEN, br_z_loop, a == 0, 1)

/* Fused compare-and-branch, in the four operand forms and the loop
 * (fuel-spending) variants of each. */
#define BRCMP_GEN(hname, IA, T, getb, cmp, is_loop)                            \
	H(hname)                                                               \
	{                                                                      \
		T a = (T)IA(0);                                                \
		T b = getb;                                                    \
		if (a cmp b) {                                                 \
			int64_t cost = is_loop ? F(3) : 0;                     \
			pc += FS(2);                                           \
			if (is_loop) {                                         \
				if (UNLIKELY(fuel <= 0))                       \
					PAUSE();                               \
				fuel -= cost;                                  \
			}                                                      \
			DISPATCH();                                            \
		}                                                              \
		NEXT(3);                                                       \
	}
#define BRCMP1(name, T, getb, cmp, is_loop)                                    \
	BR1_VARIANTS(BRCMP_GEN, br_##name, T, getb, cmp, is_loop)
#define BRCMP_FORMS(suffix, T32, T64, cmp)                                     \
	BRCMP1(i32_##suffix, T32, (T32)fp[F(1)], cmp, 0)                       \
	BRCMP1(i64_##suffix, T64, (T64)fp[F(1)], cmp, 0)                       \
	BRCMP1(i32k_##suffix, T32, (T32)F(1), cmp, 0)                          \
	BRCMP1(i64k_##suffix, T64, (T64)(int64_t)FS(1), cmp, 0)                \
	BRCMP1(i32_loop_##suffix, T32, (T32)fp[F(1)], cmp, 1)                  \
	BRCMP1(i64_loop_##suffix, T64, (T64)fp[F(1)], cmp, 1)                  \
	BRCMP1(i32k_loop_##suffix, T32, (T32)F(1), cmp, 1)                     \
	BRCMP1(i64k_loop_##suffix, T64, (T64)(int64_t)FS(1), cmp, 1)
BRCMP_FORMS(eq, uint32_t, uint64_t, ==)
BRCMP_FORMS(ne, uint32_t, uint64_t, !=)
BRCMP_FORMS(lt_s, int32_t, int64_t, <)
BRCMP_FORMS(lt_u, uint32_t, uint64_t, <)
BRCMP_FORMS(gt_s, int32_t, int64_t, >)
BRCMP_FORMS(gt_u, uint32_t, uint64_t, >)
BRCMP_FORMS(le_s, int32_t, int64_t, <=)
BRCMP_FORMS(le_u, uint32_t, uint64_t, <=)
BRCMP_FORMS(ge_s, int32_t, int64_t, >=)
BRCMP_FORMS(ge_u, uint32_t, uint64_t, >=)

/* The counter step of a loop fused into its back-edge test. A pause
 * happens after the step, so the run resumes at the branch target. */
#define BRADD(name, T, getb, cmp)                                              \
	H(br_##name)                                                           \
	{                                                                      \
		fp[F(4)] = (uint32_t)(fp[F(5)] + F(6));                        \
		T a = (T)fp[F(0)];                                             \
		T b = getb;                                                    \
		if (a cmp b) {                                                 \
			int64_t cost = F(3);                                   \
			pc += FS(2);                                           \
			if (UNLIKELY(fuel <= 0))                               \
				PAUSE();                                       \
			fuel -= cost;                                          \
			DISPATCH();                                            \
		}                                                              \
		NEXT(5);                                                       \
	}
#define BRADD_FORMS(suffix, T, cmp)                                            \
	BRADD(add_i32_loop_##suffix, T, (T)fp[F(1)], cmp)                      \
	BRADD(add_i32k_loop_##suffix, T, (T)F(1), cmp)
BRADD_FORMS(eq, uint32_t, ==)
BRADD_FORMS(ne, uint32_t, !=)
BRADD_FORMS(lt_s, int32_t, <)
BRADD_FORMS(lt_u, uint32_t, <)
BRADD_FORMS(gt_s, int32_t, >)
BRADD_FORMS(gt_u, uint32_t, >)
BRADD_FORMS(le_s, int32_t, <=)
BRADD_FORMS(le_u, uint32_t, <=)
BRADD_FORMS(ge_s, int32_t, >=)
BRADD_FORMS(ge_u, uint32_t, >=)

H(br_table)
{
	uint32_t i = (uint32_t)fp[F(0)];
	uint32_t n = F(1);
	if (i > n)
		i = n;
	pc += FS(2 + i);
	DISPATCH();
}

H(unreachable)
{
	(void)mem, (void)memsize, (void)fuel, (void)acc;
	TRAP(MYR_TRAP_UNREACHABLE);
}

/* ------------------------------------------------------------------ */
/* Calls and returns                                                   */

/* Where a call of f enters: its interpreter code, or the entry cell of
 * its machine code once the compiled tier has made it (tier.c), which
 * publishes the cell after the code it leads to. */
static inline const Cell *func_entry(const Func *f)
{
	return __atomic_load_n(&f->entry, __ATOMIC_ACQUIRE);
}

/* Switches the execution state to inst if it is not the current one;
 * returns the link bit to record in the callee's header. */
static inline uint64_t enter_instance(Exec *ex, uint64_t *hdr,
				      myr_instance *inst)
{
	if (LIKELY(inst == ex->inst))
		return 0;
	hdr[HDR_CALLER] = (uint64_t)(uintptr_t)ex->inst;
	exec_enter(ex, inst);
	return 1;
}

/* Locals start at zero and the constant pool holds the function's
 * constants: one template copy does both. */
static inline void init_locals(uint64_t *locals, const Func *f)
{
	const uint64_t *init = f->init;
	for (uint32_t i = 0; i < f->ninit; i++)
		locals[i] = init[i];
}

/* Builds the frame of wasm function f at fp + base and returns the new
 * fp, or NULL if the stack is exhausted. `*fpp` is updated if the stack
 * moved. */
static inline uint64_t *push_frame(Exec *ex, uint64_t **fpp, uint32_t base,
				   const Func *f, const Cell *ret,
				   myr_instance *inst)
{
	uint64_t *nfp = *fpp + base;
	if (UNLIKELY(nfp + f->frame_slots > ex->stack_end)) {
		uint64_t *fp = exec_grow_stack(ex, *fpp, base + f->frame_slots);
		if (!fp)
			return NULL;
		*fpp = fp;
		nfp = fp + base;
	}
	uint64_t *hdr = nfp + f->nparams;
	uint64_t cross = inst ? enter_instance(ex, hdr, inst) : 0;
	hdr[HDR_RET] = (uint64_t)(uintptr_t)ret;
	hdr[HDR_LINK] = ((uint64_t)base << 1) | cross;
	init_locals(hdr + FRAME_HEADER, f);
	return nfp;
}

H(call)
{
	const Func *f = pc[2].ptr;
	if (UNLIKELY(fuel <= 0))
		PAUSE();
	fuel -= f->entry_fuel;
	uint64_t *nfp = push_frame(ex, &fp, F(0), f, pc + 3, NULL);
	if (UNLIKELY(!nfp))
		STACK_FAIL();
	fp = nfp;
	pc = func_entry(f);
	DISPATCH();
}

/* Calls a host function with its arguments in slots[0..), results written
 * back there. Returns RUN_DONE on success. */
static int call_host(Exec *ex, const myr_func *fn, uint64_t *slots);

/* Performs a call through a function object: a wasm function of this or
 * another instance, or a host function. On return pc/fp/mem point to
 * where execution continues; anything but RUN_DONE ends the run. */
static inline __attribute__((always_inline)) int
call_object(Exec *ex, const myr_func *fn, uint32_t base, const Cell *ret,
	    const Cell **pc, uint64_t **fp, uint8_t **mem, uint64_t *memsize,
	    int64_t *fuel)
{
	if (fn->kind == FUNC_WASM) {
		const Func *f = fn->def;
		if (UNLIKELY(*fuel <= 0))
			return RUN_OUT_OF_FUEL;
		*fuel -= f->entry_fuel;
		myr_instance *prev = ex->inst;
		uint64_t *nfp = push_frame(ex, fp, base, f, ret, fn->inst);
		if (UNLIKELY(!nfp))
			return RUN_TRAP;
		if (prev != ex->inst) {
			*mem = ex->mem ? ex->mem->base : NULL;
			*memsize = ex->mem ? ex->mem->size : 0;
		}
		*fp = nfp;
		*pc = func_entry(f);
		return RUN_DONE;
	}
	ex->pc = *pc;
	ex->fp_off = (size_t)(*fp - ex->stack);
	ex->fuel_left = *fuel; /* what a yield or block leaves the run */
	int rc = call_host(ex, fn, *fp + base);
	if (rc == RUN_YIELD)
		ex->pc = ret; /* done: resume after the call */
	if (rc != RUN_DONE)
		return rc; /* RUN_BLOCKED resumes at the call, to redo it */
	*mem = ex->mem ? ex->mem->base : NULL;
	*memsize = ex->mem ? ex->mem->size : 0;
	*pc = ret;
	return RUN_DONE;
}

/* After call_object did not continue: turn its status into the run's
 * result (a yield or a block has saved where to resume). */
#define CALL_FAILED(rc)                                                        \
	do {                                                                   \
		if ((rc) == RUN_OUT_OF_FUEL)                                   \
			PAUSE();                                               \
		if ((rc) == RUN_TRAP && ex->trap == MYR_TRAP_NONE)             \
			STACK_FAIL();                                          \
		return (rc);                                                   \
	} while (0)

H(call_import)
{
	const myr_func *fn = ex->func_imps[F(1)];
	ex->trap = MYR_TRAP_NONE;
	int rc = call_object(ex, fn, F(0), pc + 2, &pc, &fp, &mem, &memsize,
			     &fuel);
	if (UNLIKELY(rc != RUN_DONE))
		CALL_FAILED(rc);
	DISPATCH();
}

/* The function a call_indirect reaches, or the trap that stops it. */
static inline const myr_func *indirect_target(Exec *ex, uint32_t table,
					      uint32_t i, uint32_t canon,
					      myr_trap *trap)
{
	myr_table *t = ex->tables[table];
	if (UNLIKELY(i >= t->size)) {
		*trap = MYR_TRAP_UNDEFINED_ELEMENT;
		return NULL;
	}
	const myr_func *fn = (const myr_func *)(uintptr_t)t->elems[i];
	if (UNLIKELY(!fn)) {
		*trap = MYR_TRAP_UNINITIALIZED_ELEMENT;
		return NULL;
	}
	if (UNLIKELY(fn->canon != canon)) {
		*trap = MYR_TRAP_INDIRECT_TYPE_MISMATCH;
		return NULL;
	}
	return fn;
}

H(call_indirect)
{
	myr_trap trap;
	const myr_func *fn =
		indirect_target(ex, F(2), (uint32_t)fp[F(1)], F(3), &trap);
	if (UNLIKELY(!fn))
		TRAP(trap);
	if (LIKELY(fn->kind == FUNC_WASM && fn->inst == ex->inst)) {
		const Func *f = fn->def;
		if (UNLIKELY(fuel <= 0))
			PAUSE();
		fuel -= f->entry_fuel;
		uint64_t *nfp = push_frame(ex, &fp, F(0), f, pc + 3, NULL);
		if (UNLIKELY(!nfp))
			STACK_FAIL();
		fp = nfp;
		pc = func_entry(f);
		DISPATCH();
	}
	ex->trap = MYR_TRAP_NONE;
	int rc = call_object(ex, fn, F(0), pc + 3, &pc, &fp, &mem, &memsize,
			     &fuel);
	if (UNLIKELY(rc != RUN_DONE))
		CALL_FAILED(rc);
	DISPATCH();
}

/* Returns n results found at fp[src..): they move to fp[0..) and control
 * goes back to the caller recorded in the header at fp[hdr]. */
#define RETURN_COMMON(hdr_slot, copy_results)                                  \
	do {                                                                   \
		uint64_t *hdr = fp + (hdr_slot);                               \
		const Cell *ret = (const Cell *)(uintptr_t)hdr[HDR_RET];       \
		uint64_t link = hdr[HDR_LINK];                                 \
		myr_instance *caller =                                         \
			(link & 1)                                             \
				? (myr_instance *)(uintptr_t)hdr[HDR_CALLER]   \
				: NULL;                                        \
		copy_results;                                                  \
		fp -= link >> 1;                                               \
		pc = ret;                                                      \
		if (UNLIKELY(caller != NULL)) {                                \
			exec_enter(ex, caller);                                \
			RELOAD_MEM();                                          \
		}                                                              \
		DISPATCH();                                                    \
	} while (0)

H(return0)
{
	RETURN_COMMON(F(0), (void)0);
}

H(return1)
{
	RETURN_COMMON(F(1), fp[0] = fp[F(0)]);
}

H(returnN)
{
	RETURN_COMMON(F(2), memmove(fp, fp + F(0), F(1) * sizeof *fp));
}

/* Tail calls reuse the caller's frame: the arguments move down to fp[0],
 * the header moves to where the callee expects it. */
static inline __attribute__((always_inline)) uint64_t *
tail_frame(Exec *ex, uint64_t *fp, uint32_t base, uint32_t own_hdr,
	   const Func *f, myr_instance *inst)
{
	uint64_t *hdr = fp + own_hdr;
	uint64_t ret = hdr[HDR_RET], link = hdr[HDR_LINK];
	uint64_t caller = hdr[HDR_CALLER];
	if (UNLIKELY(fp + f->frame_slots > ex->stack_end)) {
		fp = exec_grow_stack(ex, fp,
				     MAX(f->frame_slots, base + f->nparams));
		if (!fp)
			return NULL;
	}
	memmove(fp, fp + base, f->nparams * sizeof *fp);
	uint64_t *nh = fp + f->nparams;
	if (inst && inst != ex->inst) {
		if (!(link & 1)) {
			caller = (uint64_t)(uintptr_t)ex->inst;
			link |= 1;
		}
		exec_enter(ex, inst);
	}
	nh[HDR_RET] = ret;
	nh[HDR_LINK] = link;
	nh[HDR_CALLER] = caller;
	init_locals(nh + FRAME_HEADER, f);
	return fp;
}

H(return_call)
{
	const Func *f = pc[2].ptr;
	if (UNLIKELY(fuel <= 0))
		PAUSE();
	fuel -= f->entry_fuel;
	uint64_t *nfp = tail_frame(ex, fp, F(0), F(1), f, NULL);
	if (UNLIKELY(!nfp))
		STACK_FAIL();
	fp = nfp;
	pc = func_entry(f);
	DISPATCH();
}

/* A tail call through a function object; host functions are called, then
 * their results returned as if by return. */
#define TAIL_CALL_OBJECT(fn, base, own_hdr)                                    \
	do {                                                                   \
		if ((fn)->kind == FUNC_WASM) {                                 \
			const Func *f_ = (fn)->def;                            \
			if (UNLIKELY(fuel <= 0))                               \
				PAUSE();                                       \
			fuel -= f_->entry_fuel;                                \
			uint64_t *nfp_ = tail_frame(ex, fp, base, own_hdr, f_, \
						    (fn)->inst);               \
			if (UNLIKELY(!nfp_))                                   \
				STACK_FAIL();                                  \
			fp = nfp_;                                             \
			pc = func_entry(f_);                                   \
			RELOAD_MEM();                                          \
			DISPATCH();                                            \
		}                                                              \
		ex->pc = pc;                                                   \
		ex->fp_off = (size_t)(fp - ex->stack);                         \
		ex->fuel_left = fuel;                                          \
		ex->trap = MYR_TRAP_NONE;                                      \
		int rc_ = call_host(ex, (fn), fp + (base));                    \
		/* A yield in tail position is only a hint: the results        \
		 * still have to be returned. */                               \
		if (rc_ != RUN_DONE && rc_ != RUN_YIELD)                       \
			return rc_;                                            \
		RELOAD_MEM();                                                  \
		uint32_t nres_ = (fn)->type->nresults;                         \
		RETURN_COMMON(own_hdr,                                         \
			      memmove(fp, fp + (base), nres_ * sizeof *fp));   \
	} while (0)

H(return_call_import)
{
	const myr_func *fn = ex->func_imps[F(1)];
	TAIL_CALL_OBJECT(fn, F(0), F(2));
}

H(return_call_indirect)
{
	myr_trap trap;
	const myr_func *fn =
		indirect_target(ex, F(2), (uint32_t)fp[F(1)], F(3), &trap);
	if (UNLIKELY(!fn))
		TRAP(trap);
	TAIL_CALL_OBJECT(fn, F(0), F(4));
}

H(exit)
{
	(void)pc, (void)fp, (void)mem, (void)memsize, (void)fuel, (void)ex;
	(void)acc;
	return RUN_DONE;
}

static const Cell exit_cell = {.fn = op_exit};

/* ------------------------------------------------------------------ */
/* Compiled code (tier.h)                                              */

H(exit_nested)
{
	(void)pc, (void)fp, (void)mem, (void)memsize, (void)acc;
	ex->fuel_left = fuel;
	return RUN_DONE;
}

static const Cell exit_nested_cell = {.fn = op_exit_nested};

/* How much of the machine stack compiled code may use below the point
 * where a run entered it; past that it saves its frames and comes back
 * here with an empty native stack (RUN_DEPTH). Threads that run
 * instances need this much stack plus what host functions use. */
#define NATIVE_STACK_BUDGET ((uintptr_t)256 << 10)

/* Runs compiled code in the frame at fp, from resume point F(0). When it
 * returns, its results are at fp[0..) and the frame returns as an
 * interpreted one would. When it stops, every compiled frame it left has
 * been saved in the value stack and ex->pc is where the run goes on: the
 * outermost entry grows the stack or starts over with an empty native
 * stack if that was why, and otherwise ends the run. */
H(native)
{
	NativeGen gen = (NativeGen)pc[2].ptr;
	bool outer = ex->nest == 0;
	if (outer)
		ex->native_limit = (uintptr_t)__builtin_frame_address(0) -
				   NATIVE_STACK_BUDGET;
	/* The results may overwrite the header (when there are more of them
	 * than parameters), so it is read first. Nothing the code does
	 * before it returns changes it (tail calls keep the frame's). */
	uint64_t saved[FRAME_HEADER];
	memcpy(saved, fp + F(1), sizeof saved);
	ex->nest++;
	int64_t left = gen(ex, fp, fuel, F(0));
	ex->nest--;
	if (LIKELY(left != NATIVE_UNWIND)) {
		fuel = left;
		RELOAD_MEM();
		fp -= saved[HDR_LINK] >> 1;
		pc = (const Cell *)(uintptr_t)saved[HDR_RET];
		if (UNLIKELY(saved[HDR_LINK] & 1)) {
			exec_enter(
				ex,
				(myr_instance *)(uintptr_t)saved[HDR_CALLER]);
			RELOAD_MEM();
		}
		DISPATCH();
	}
	int rc = ex->unwind;
	if (!outer || (rc != RUN_GROW && rc != RUN_DEPTH))
		return rc;
	ex->unwind = 0;
	fp = ex->stack + ex->fp_off;
	if (rc == RUN_GROW) {
		fp = exec_grow_stack(ex, fp, ex->grow_need);
		if (!fp) {
			ex->trap = ex->stack_nomem ? MYR_TRAP_LIMIT
						   : MYR_TRAP_STACK_EXHAUSTED;
			ex->trap_func = MYR_NO_FUNC;
			return RUN_TRAP;
		}
	}
	pc = ex->pc;
	fuel = ex->fuel_left;
	acc = ex->acc;
	RELOAD_MEM();
	DISPATCH();
}

/* The stack has no room for a frame of `need` slots at fp: a trap past
 * the limit, else a request to grow it and come back to `redo`. */
int64_t exec_native_need_stack(Exec *ex, uint64_t *fp, size_t need,
			       const Cell *redo, int64_t fuel, uint32_t func)
{
	size_t off = (size_t)(fp - ex->stack);
	if (off + need > ex->max_slots) {
		ex->trap = MYR_TRAP_STACK_EXHAUSTED;
		ex->trap_func = func;
		ex->unwind = RUN_TRAP;
		return NATIVE_UNWIND;
	}
	ex->unwind = RUN_GROW;
	ex->grow_need = need;
	ex->pc = redo;
	ex->fp_off = off;
	ex->fuel_left = fuel;
	return NATIVE_UNWIND;
}

/* Runs the interpreter (or whatever the entry leads to) from pc in the
 * frame nfp until that frame returns to exit_nested_cell. */
static int run_nested(Exec *ex, const Cell *pc, uint64_t *nfp, int64_t fuel)
{
	uint8_t *mem = ex->mem ? ex->mem->base : NULL;
	uint64_t memsize = ex->mem ? ex->mem->size : 0;
	return pc->fn(pc, nfp, mem, memsize, fuel, ex, 0);
}

/* A host function called from compiled code: a block makes the call
 * again from `redo`, a yield goes on after it. */
static int native_call_host(Exec *ex, uint64_t *fp, uint32_t base,
			    const myr_func *fn, const Cell *redo, int64_t fuel)
{
	ex->pc = redo;
	ex->fp_off = (size_t)(fp - ex->stack);
	ex->fuel_left = fuel;
	return call_host(ex, fn, fp + base);
}

int64_t exec_call_wasm_from_native(Exec *ex, uint64_t *fp, uint32_t base,
				   const Func *f, myr_instance *inst,
				   const Cell *ret, const Cell *redo,
				   int64_t fuel, uint32_t func)
{
	uint64_t *nfp = fp + base;
	if (UNLIKELY(nfp + f->frame_slots > ex->stack_end))
		return exec_native_need_stack(ex, fp, base + f->frame_slots,
					      redo, fuel, func);
	fuel -= f->entry_fuel;
	uint64_t *hdr = nfp + f->nparams;
	uint64_t cross = enter_instance(ex, hdr, inst);
	hdr[HDR_RET] = (uint64_t)(uintptr_t)&exit_nested_cell;
	hdr[HDR_LINK] = ((uint64_t)base << 1) | cross;
	init_locals(hdr + FRAME_HEADER, f);
	int rc = run_nested(ex, func_entry(f), nfp, fuel);
	if (rc == RUN_DONE)
		return ex->fuel_left;
	/* From now on the callee returns to its compiled caller's frame. */
	hdr[HDR_RET] = (uint64_t)(uintptr_t)ret;
	ex->unwind = (uint8_t)rc;
	return NATIVE_UNWIND;
}

int64_t exec_call_from_native(Exec *ex, uint64_t *fp, uint32_t base,
			      const myr_func *fn, const Cell *ret,
			      const Cell *redo, int64_t fuel, uint32_t func)
{
	if (fn->kind == FUNC_WASM)
		return exec_call_wasm_from_native(
			ex, fp, base, fn->def, fn->inst, ret, redo, fuel, func);
	int rc = native_call_host(ex, fp, base, fn, redo, fuel);
	if (rc == RUN_DONE)
		return fuel;
	if (rc == RUN_YIELD)
		ex->pc = ret;
	ex->unwind = (uint8_t)rc;
	return NATIVE_UNWIND;
}

int64_t exec_tail_wasm_from_native(Exec *ex, uint64_t *fp, uint32_t base,
				   uint32_t own_hdr, const Func *f,
				   myr_instance *inst, const Cell *redo,
				   int64_t fuel, uint32_t func)
{
	size_t need = MAX(f->frame_slots, base + f->nparams);
	if (UNLIKELY(fp + need > ex->stack_end)) {
		exec_native_need_stack(ex, fp, need, redo, fuel, func);
		return NATIVE_UNWIND_KEEP;
	}
	fuel -= f->entry_fuel;
	/* The callee's frame replaces the caller's (it cannot need to grow:
	 * the room was checked). */
	uint64_t *nfp = tail_frame(ex, fp, base, own_hdr, f, inst);
	uint64_t *hdr = nfp + f->nparams;
	uint64_t ret = hdr[HDR_RET];
	hdr[HDR_RET] = (uint64_t)(uintptr_t)&exit_nested_cell;
	int rc = run_nested(ex, func_entry(f), nfp, fuel);
	/* On return the compiled caller returns the results as its own; the
	 * return to an interpreted frame uses the header as it was when the
	 * compiled code was entered (see op_native), and the callee's own
	 * return has switched back to the frame's instance. */
	if (rc == RUN_DONE)
		return ex->fuel_left;
	hdr[HDR_RET] = ret;
	ex->unwind = (uint8_t)rc;
	return NATIVE_UNWIND;
}

int64_t exec_tail_from_native(Exec *ex, uint64_t *fp, uint32_t base,
			      uint32_t own_hdr, const myr_func *fn,
			      const Cell *redo, int64_t fuel, uint32_t func)
{
	if (fn->kind == FUNC_WASM)
		return exec_tail_wasm_from_native(ex, fp, base, own_hdr,
						  fn->def, fn->inst, redo, fuel,
						  func);
	int rc = native_call_host(ex, fp, base, fn, redo, fuel);
	/* A yield in tail position is only a hint. */
	if (rc == RUN_DONE || rc == RUN_YIELD) {
		memmove(fp, fp + base, fn->type->nresults * sizeof *fp);
		return fuel;
	}
	ex->unwind = (uint8_t)rc;
	/* A block is made again from the caller's frame. */
	return rc == RUN_BLOCKED ? NATIVE_UNWIND_KEEP : NATIVE_UNWIND;
}

/* ------------------------------------------------------------------ */
/* Host calls                                                          */

static void slot_to_val(ValType t, uint64_t s, myr_val *v)
{
	v->type = (myr_valtype)t;
	switch (t) {
	case VT_I32:
		v->of.i32 = (int32_t)(uint32_t)s;
		break;
	case VT_F32:
		memcpy(&v->of.f32, &s, 4);
		break;
	case VT_F64:
		memcpy(&v->of.f64, &s, 8);
		break;
	case VT_FUNCREF:
		v->of.funcref = (myr_func *)(uintptr_t)s;
		break;
	case VT_EXTERNREF:
		v->of.externref = (void *)(uintptr_t)s;
		break;
	default:
		v->of.i64 = (int64_t)s;
		break;
	}
}

static uint64_t val_to_slot(const myr_val *v)
{
	uint64_t s = 0;
	switch (v->type) {
	case MYR_I32:
		return (uint32_t)v->of.i32;
	case MYR_F32:
		memcpy(&s, &v->of.f32, 4);
		return s;
	case MYR_F64:
		memcpy(&s, &v->of.f64, 8);
		return s;
	case MYR_FUNCREF:
		return (uint64_t)(uintptr_t)v->of.funcref;
	case MYR_EXTERNREF:
		return (uint64_t)(uintptr_t)v->of.externref;
	default:
		return (uint64_t)v->of.i64;
	}
}

uint64_t exec_val_to_slot(const myr_val *v)
{
	return val_to_slot(v);
}

void exec_slot_to_val(ValType t, uint64_t s, myr_val *v)
{
	slot_to_val(t, s, v);
}

static int call_host(Exec *ex, const myr_func *fn, uint64_t *slots)
{
	const HostFunc *h = (const HostFunc *)fn;
	myr_hostret r;
	if (h->raw) {
		r = h->raw(ex, h->env, slots);
	} else {
		const FuncType *t = fn->type;
		myr_val small[16];
		size_t n = (size_t)t->nparams + t->nresults;
		myr_val *vals = n <= 16 ? small : calloc(n, sizeof *vals);
		if (!vals)
			return do_trap(ex, ex->pc, slots, MYR_TRAP_LIMIT);
		for (uint32_t i = 0; i < t->nparams; i++)
			slot_to_val(ft_params(t)[i], slots[i], &vals[i]);
		myr_val *res = vals + t->nparams;
		for (uint32_t i = 0; i < t->nresults; i++) {
			res[i].type = (myr_valtype)ft_results(t)[i];
			res[i].of.i64 = 0;
		}
		r = h->fn((myr_caller *)ex, h->env, vals, res);
		if (r == MYR_HOST_OK || r == MYR_HOST_YIELD)
			for (uint32_t i = 0; i < t->nresults; i++)
				slots[i] = val_to_slot(&res[i]);
		if (vals != small)
			free(vals);
	}
	ex->resumed = false;
	if (r == MYR_HOST_OK)
		return RUN_DONE;
	if (r == MYR_HOST_YIELD)
		return RUN_YIELD;
	if (r == MYR_HOST_BLOCK)
		return RUN_BLOCKED;
	if (ex->trap == MYR_TRAP_NONE)
		exec_set_trap_msg(ex, MYR_TRAP_HOST, "host function trapped");
	return RUN_TRAP;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */

const OpFn op_handlers[OP_COUNT_] = {
#define MYR_OP_HANDLER(name, cells) [OP_##name] = op_##name,
	MYR_OPS(MYR_OP_HANDLER)
#undef MYR_OP_HANDLER
};

bool exec_prepare_call(Exec *ex, const Func *f, myr_instance *inst)
{
	uint64_t *fp = ex->stack;
	if (fp + f->frame_slots > ex->stack_end) {
		fp = exec_grow_stack(ex, fp, f->frame_slots);
		if (!fp)
			return false;
	}
	uint64_t *hdr = fp + f->nparams;
	hdr[HDR_RET] = (uint64_t)(uintptr_t)&exit_cell;
	hdr[HDR_LINK] = 0;
	init_locals(hdr + FRAME_HEADER, f);
	exec_enter(ex, inst);
	ex->pc = func_entry(f);
	ex->fp_off = 0;
	return true;
}

int exec_run(Exec *ex, int64_t fuel)
{
	const Cell *pc = ex->pc;
	const Module *m = ex->inst->mod;
	/* A run paused in interpreter code may go on in compiled code now
	 * (tier.c), and where it paused tells the compiler what is hot. */
	if (UNLIKELY(m->tier != NULL) && pc >= m->code &&
	    pc < m->code + m->code_cells)
		pc = tier_resume_at(m, pc);
	uint64_t *fp = ex->stack + ex->fp_off;
	uint8_t *mem = ex->mem ? ex->mem->base : NULL;
	uint64_t memsize = ex->mem ? ex->mem->size : 0;
	ex->trap = MYR_TRAP_NONE;
	ex->unwind = 0;
	ex->stack_nomem = false;
	return pc->fn(pc, fp, mem, memsize, fuel, ex, ex->acc);
}
