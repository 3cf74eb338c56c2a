/*
 * Every instruction of the internal code, as an X-macro list:
 * X(name, cells) where cells is the instruction's length in 8-byte cells,
 * handler included. interp.c defines one handler `op_<name>` per entry and
 * compile.c emits them. The operand layout of each group is documented
 * beside it: R is the result slot, A/B/C operand slots, K an immediate,
 * OFF a branch offset in cells relative to the instruction's first cell.
 * Operands are 32-bit fields packed after the handler cell, in order.
 *
 * The accumulator: a value that one instruction produces and the very
 * next one consumes can travel in a machine register (the handlers'
 * `acc` argument) instead of a frame slot. The groups that take part are
 * listed once per variant with a suffix M: _o writes the result to acc
 * instead of R; _a reads operand A from acc, _b operand B; _ao and _bo do
 * both. A variant keeps its base op's layout (the fields it does not use
 * are ignored), so the compiler switches an instruction's variant by
 * changing its handler only.
 *
 * clang-format is off here: it reflows the lists into a staircase and does
 * not reach a fixed point on them.
 */
/* clang-format off */

/* Numeric binary ops: R, A, B. */
#define MYR_BINOPS_I(X, T, M)                                                 \
	X(T##_add##M, 3) X(T##_sub##M, 3) X(T##_mul##M, 3)                    \
	X(T##_div_s##M, 3) X(T##_div_u##M, 3) X(T##_rem_s##M, 3)              \
	X(T##_rem_u##M, 3) X(T##_and##M, 3) X(T##_or##M, 3)                   \
	X(T##_xor##M, 3) X(T##_shl##M, 3) X(T##_shr_s##M, 3)                  \
	X(T##_shr_u##M, 3) X(T##_rotl##M, 3) X(T##_rotr##M, 3)                \
	X(T##_eq##M, 3) X(T##_ne##M, 3) X(T##_lt_s##M, 3) X(T##_lt_u##M, 3)   \
	X(T##_gt_s##M, 3) X(T##_gt_u##M, 3) X(T##_le_s##M, 3)                 \
	X(T##_le_u##M, 3) X(T##_ge_s##M, 3) X(T##_ge_u##M, 3)

#define MYR_BINOPS_F(X, T, M)                                                 \
	X(T##_add##M, 3) X(T##_sub##M, 3) X(T##_mul##M, 3)                    \
	X(T##_div##M, 3) X(T##_min##M, 3) X(T##_max##M, 3)                    \
	X(T##_copysign##M, 3) X(T##_eq##M, 3) X(T##_ne##M, 3)                 \
	X(T##_lt##M, 3) X(T##_gt##M, 3) X(T##_le##M, 3) X(T##_ge##M, 3)

/* Binary ops with an immediate right operand: R, A, K (K is 32 bits,
 * sign-extended for i64). */
#define MYR_BINOPS_K(X, T, M)                                                 \
	X(T##_add_k##M, 3) X(T##_mul_k##M, 3) X(T##_and_k##M, 3)              \
	X(T##_or_k##M, 3) X(T##_xor_k##M, 3) X(T##_shl_k##M, 3)               \
	X(T##_shr_s_k##M, 3) X(T##_shr_u_k##M, 3) X(T##_rotl_k##M, 3)         \
	X(T##_rotr_k##M, 3) X(T##_eq_k##M, 3) X(T##_ne_k##M, 3)               \
	X(T##_lt_s_k##M, 3) X(T##_lt_u_k##M, 3) X(T##_gt_s_k##M, 3)           \
	X(T##_gt_u_k##M, 3) X(T##_le_s_k##M, 3) X(T##_le_u_k##M, 3)           \
	X(T##_ge_s_k##M, 3) X(T##_ge_u_k##M, 3)

/* Fused compare-and-branch: A, B, OFF (and A, K, OFF for _k). The _loop
 * forms are back-edges: a fourth field holds the fuel cost. */
#define MYR_BRCMP_N(X, T, M, N)                                               \
	X(br_##T##_eq##M, N) X(br_##T##_ne##M, N) X(br_##T##_lt_s##M, N)      \
	X(br_##T##_lt_u##M, N) X(br_##T##_gt_s##M, N)                         \
	X(br_##T##_gt_u##M, N) X(br_##T##_le_s##M, N)                         \
	X(br_##T##_le_u##M, N) X(br_##T##_ge_s##M, N)                         \
	X(br_##T##_ge_u##M, N)
#define MYR_BRCMP(X, T, M) MYR_BRCMP_N(X, T, M, 3)
#define MYR_BRCMP_ALL(X, M)                                                   \
	MYR_BRCMP(X, i32, M) MYR_BRCMP(X, i64, M) MYR_BRCMP(X, i32k, M)       \
	MYR_BRCMP(X, i64k, M) MYR_BRCMP(X, i32_loop, M)                       \
	MYR_BRCMP(X, i64_loop, M) MYR_BRCMP(X, i32k_loop, M)                  \
	MYR_BRCMP(X, i64k_loop, M)
/* Branch on a value against zero: A, OFF (and A, OFF, COST for the loop
 * forms). */
#define MYR_BRZ(X, M)                                                         \
	X(br_nz##M, 2) X(br_z##M, 2) X(br_nz_loop##M, 3) X(br_z_loop##M, 3)

/* Unary ops and conversions: R, A. */
#define MYR_UNOPS(X, M)                                                       \
	X(i32_eqz##M, 2) X(i32_clz##M, 2) X(i32_ctz##M, 2)                    \
	X(i32_popcnt##M, 2) X(i64_eqz##M, 2) X(i64_clz##M, 2)                 \
	X(i64_ctz##M, 2) X(i64_popcnt##M, 2) X(f32_abs##M, 2)                 \
	X(f32_neg##M, 2) X(f32_ceil##M, 2) X(f32_floor##M, 2)                 \
	X(f32_trunc##M, 2) X(f32_nearest##M, 2) X(f32_sqrt##M, 2)             \
	X(f64_abs##M, 2) X(f64_neg##M, 2) X(f64_ceil##M, 2)                   \
	X(f64_floor##M, 2) X(f64_trunc##M, 2) X(f64_nearest##M, 2)            \
	X(f64_sqrt##M, 2) X(i32_wrap_i64##M, 2)                               \
	X(i32_trunc_f32_s##M, 2) X(i32_trunc_f32_u##M, 2)                     \
	X(i32_trunc_f64_s##M, 2) X(i32_trunc_f64_u##M, 2)                     \
	X(i64_extend_i32_s##M, 2) X(i64_extend_i32_u##M, 2)                   \
	X(i64_trunc_f32_s##M, 2) X(i64_trunc_f32_u##M, 2)                     \
	X(i64_trunc_f64_s##M, 2) X(i64_trunc_f64_u##M, 2)                     \
	X(f32_convert_i32_s##M, 2) X(f32_convert_i32_u##M, 2)                 \
	X(f32_convert_i64_s##M, 2) X(f32_convert_i64_u##M, 2)                 \
	X(f32_demote_f64##M, 2) X(f64_convert_i32_s##M, 2)                    \
	X(f64_convert_i32_u##M, 2) X(f64_convert_i64_s##M, 2)                 \
	X(f64_convert_i64_u##M, 2) X(f64_promote_f32##M, 2)                   \
	X(i32_extend8_s##M, 2) X(i32_extend16_s##M, 2)                        \
	X(i64_extend8_s##M, 2) X(i64_extend16_s##M, 2)                        \
	X(i64_extend32_s##M, 2) X(i32_trunc_sat_f32_s##M, 2)                  \
	X(i32_trunc_sat_f32_u##M, 2) X(i32_trunc_sat_f64_s##M, 2)             \
	X(i32_trunc_sat_f64_u##M, 2) X(i64_trunc_sat_f32_s##M, 2)             \
	X(i64_trunc_sat_f32_u##M, 2) X(i64_trunc_sat_f64_s##M, 2)             \
	X(i64_trunc_sat_f64_u##M, 2) X(ref_is_null##M, 2)

/* Loads: R, A (address), K (offset), D. Stores: A (address), B (value),
 * K, D. The address is A + D wrapped to 32 bits: D is the constant of an
 * i32.add that computed the address and was folded in (wasm adds the
 * offset K without wrapping, so D and K cannot be merged). f32/f64 use
 * the i32/i64 forms: values are bit patterns in slots. */
#define MYR_LOADS(X, M)                                                       \
	X(i32_load##M, 3) X(i64_load##M, 3) X(i32_load8_s##M, 3)              \
	X(i32_load8_u##M, 3) X(i32_load16_s##M, 3) X(i32_load16_u##M, 3)      \
	X(i64_load8_s##M, 3) X(i64_load8_u##M, 3) X(i64_load16_s##M, 3)       \
	X(i64_load16_u##M, 3) X(i64_load32_s##M, 3) X(i64_load32_u##M, 3)
#define MYR_STORES(X, M)                                                      \
	X(i32_store##M, 3) X(i64_store##M, 3) X(i32_store8##M, 3)             \
	X(i32_store16##M, 3) X(i64_store8##M, 3) X(i64_store16##M, 3)         \
	X(i64_store32##M, 3)

/* The same with a constant address, folded into K: loads R, K; stores
 * B (value), K. */
#define MYR_MEMOPS_ABS(X)                                                     \
	X(i32_load_abs, 2) X(i64_load_abs, 2) X(i32_load8_s_abs, 2)           \
	X(i32_load8_u_abs, 2) X(i32_load16_s_abs, 2) X(i32_load16_u_abs, 2)   \
	X(i64_load8_s_abs, 2) X(i64_load8_u_abs, 2) X(i64_load16_s_abs, 2)    \
	X(i64_load16_u_abs, 2) X(i64_load32_s_abs, 2) X(i64_load32_u_abs, 2)  \
	X(i32_store_abs, 2) X(i64_store_abs, 2) X(i32_store8_abs, 2)          \
	X(i32_store16_abs, 2) X(i64_store8_abs, 2) X(i64_store16_abs, 2)      \
	X(i64_store32_abs, 2)

/* Families of instructions that have accumulator variants (see the top of
 * this file): their members are laid out in the same order in every
 * variant, so a variant is its base op plus a fixed distance. */
/* R, A, B */
#define MYR_VAL2(X, M)                                                        \
	MYR_BINOPS_I(X, i32, M) MYR_BINOPS_I(X, i64, M)                       \
	MYR_BINOPS_F(X, f32, M) MYR_BINOPS_F(X, f64, M)
/* R, A (and K) */
#define MYR_VAL1(X, M)                                                        \
	MYR_BINOPS_K(X, i32, M) MYR_BINOPS_K(X, i64, M) MYR_UNOPS(X, M)       \
	MYR_LOADS(X, M)
/* A and a branch */
#define MYR_BR1(X, M) MYR_BRCMP_ALL(X, M) MYR_BRZ(X, M)

#define MYR_OPS(X)                                                            \
	MYR_VAL2(X, )                                                         \
	MYR_VAL1(X, )                                                         \
	MYR_STORES(X, )                                                       \
	MYR_MEMOPS_ABS(X)                                                     \
	MYR_BR1(X, )                                                          \
	/* A, B (or K), OFF, COST, R, X, D: a loop's back-edge test preceded \
	 * by its counter step, R = X + D (i32) */                            \
	MYR_BRCMP_N(X, add_i32_loop, , 5)                                   \
	MYR_BRCMP_N(X, add_i32k_loop, , 5)            \
	/* R, A */                                                            \
	X(copy, 2)                                                            \
	/* R, A, R1, A1: copies A1 to R1, then A to R */                      \
	X(copy2, 3)                                                           \
	/* R; then a 64-bit immediate cell */                                 \
	X(const, 3)                                                           \
	/* R, A, B, C: R = C ? A : B */                                       \
	X(select, 3)                                                          \
	/* OFF */                                                             \
	X(br, 2)                                                              \
	/* OFF, COST */                                                       \
	X(br_loop, 2)                                                         \
	/* A (index), N; then N+1 32-bit offsets, padded to cells */          \
	X(br_table, 2)                                                        \
	/* Returns. H is the frame header's slot (the function's param       \
	 * count). return0: H; return1: A (result), H; returnN: A (first    \
	 * result), N, H. */                                                  \
	X(return0, 2) X(return1, 2) X(returnN, 3)                             \
	/* A (base slot of the arguments), H (for return_call: the caller's  \
	 * header slot); then a cell with the Func* */                        \
	X(call, 3) X(return_call, 3)                                          \
	/* A (base), B (function index of an import), H */                    \
	X(call_import, 2) X(return_call_import, 3)                            \
	/* A (base), B (slot of the element index), C (table), D (type id),  \
	 * H */                                                               \
	X(call_indirect, 3) X(return_call_indirect, 4)                        \
	/* nothing */                                                         \
	X(unreachable, 1)                                                     \
	/* R, I (global index among defined / imported) */                    \
	X(global_get, 2) X(global_get_imp, 2)                                 \
	/* A, I */                                                            \
	X(global_set, 2) X(global_set_imp, 2)                                 \
	/* R */                                                               \
	X(memory_size, 2)                                                     \
	/* R, A (delta) */                                                    \
	X(memory_grow, 2)                                                     \
	/* A (dest), B (value), C (count) */                                  \
	X(memory_fill, 3)                                                     \
	/* A (dest), B (src), C (count) */                                    \
	X(memory_copy, 3)                                                     \
	/* A (dest), B (src offset), C (count), I (segment) */                \
	X(memory_init, 3)                                                     \
	/* I (segment) */                                                     \
	X(data_drop, 2)                                                       \
	/* R, A (index), T (table) */                                         \
	X(table_get, 3)                                                       \
	/* A (index), B (value), T */                                         \
	X(table_set, 3)                                                       \
	/* R, T */                                                            \
	X(table_size, 2)                                                      \
	/* R, A (init value), B (delta), T */                                 \
	X(table_grow, 3)                                                      \
	/* A (dest), B (value), C (count), T */                               \
	X(table_fill, 3)                                                      \
	/* A (dest), B (src), C (count), T (dest table), U (src table) */     \
	X(table_copy, 4)                                                      \
	/* A (dest), B (src offset), C (count), T (table), I (segment) */     \
	X(table_init, 4)                                                      \
	/* I (segment) */                                                     \
	X(elem_drop, 2)                                                       \
	/* R, I (function index) */                                           \
	X(ref_func, 2)                                                        \
	/* the bottom frame's return address: ends the run */                 \
	X(exit, 1)                                                            \
	/* the return address of a call that compiled code made through the  \
	 * interpreter: ends that nested run, keeping the fuel left */         \
	X(exit_nested, 1)                                                     \
	/* Enters or resumes compiled code (tier.h). R (resume point), H;    \
	 * then a cell with the function's NativeGen */                       \
	X(native, 3)                                                          \
	/* Accumulator variants. */                                           \
	MYR_VAL2(X, _o) MYR_VAL2(X, _a) MYR_VAL2(X, _ao)                      \
	MYR_VAL2(X, _b) MYR_VAL2(X, _bo)                                      \
	MYR_VAL1(X, _o) MYR_VAL1(X, _a) MYR_VAL1(X, _ao)                      \
	MYR_STORES(X, _a) MYR_STORES(X, _b)                                   \
	MYR_BR1(X, _a)

typedef enum Op {
#define MYR_OP_ENUM(name, cells) OP_##name,
	MYR_OPS(MYR_OP_ENUM)
#undef MYR_OP_ENUM
	OP_COUNT_
} Op;
/* clang-format on */
