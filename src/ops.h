/*
 * Every instruction of the internal code, as an X-macro list:
 * X(name, cells) where cells is the instruction's length in 8-byte cells,
 * handler included. interp.c defines one handler `op_<name>` per entry and
 * compile.c emits them. The operand layout of each group is documented
 * beside it: R is the result slot, A/B/C operand slots, K an immediate,
 * OFF a branch offset in cells relative to the instruction's first cell.
 * Operands are 32-bit fields packed after the handler cell, in order.
 */

/* Numeric binary ops: R, A, B. */
#define MYR_BINOPS_I(X, T)                                                    \
	X(T##_add, 3) X(T##_sub, 3) X(T##_mul, 3) X(T##_div_s, 3)             \
	X(T##_div_u, 3) X(T##_rem_s, 3) X(T##_rem_u, 3) X(T##_and, 3)         \
	X(T##_or, 3) X(T##_xor, 3) X(T##_shl, 3) X(T##_shr_s, 3)              \
	X(T##_shr_u, 3) X(T##_rotl, 3) X(T##_rotr, 3) X(T##_eq, 3)            \
	X(T##_ne, 3) X(T##_lt_s, 3) X(T##_lt_u, 3) X(T##_gt_s, 3)             \
	X(T##_gt_u, 3) X(T##_le_s, 3) X(T##_le_u, 3) X(T##_ge_s, 3)           \
	X(T##_ge_u, 3)

#define MYR_BINOPS_F(X, T)                                                    \
	X(T##_add, 3) X(T##_sub, 3) X(T##_mul, 3) X(T##_div, 3)               \
	X(T##_min, 3) X(T##_max, 3) X(T##_copysign, 3) X(T##_eq, 3)           \
	X(T##_ne, 3) X(T##_lt, 3) X(T##_gt, 3) X(T##_le, 3) X(T##_ge, 3)

/* Binary ops with an immediate right operand: R, A, K (K is 32 bits,
 * sign-extended for i64). */
#define MYR_BINOPS_K(X, T)                                                    \
	X(T##_add_k, 3) X(T##_mul_k, 3) X(T##_and_k, 3) X(T##_or_k, 3)        \
	X(T##_xor_k, 3) X(T##_shl_k, 3) X(T##_shr_s_k, 3) X(T##_shr_u_k, 3)   \
	X(T##_rotl_k, 3) X(T##_rotr_k, 3) X(T##_eq_k, 3) X(T##_ne_k, 3) X(T##_lt_s_k, 3) X(T##_lt_u_k, 3)       \
	X(T##_gt_s_k, 3) X(T##_gt_u_k, 3) X(T##_le_s_k, 3) X(T##_le_u_k, 3)   \
	X(T##_ge_s_k, 3) X(T##_ge_u_k, 3)

/* Fused compare-and-branch: A, B, OFF (and A, K, OFF for _k). The _loop
 * forms are back-edges: a fourth field holds the fuel cost. */
#define MYR_BRCMP(X, T)                                                       \
	X(br_##T##_eq, 3) X(br_##T##_ne, 3) X(br_##T##_lt_s, 3)               \
	X(br_##T##_lt_u, 3) X(br_##T##_gt_s, 3) X(br_##T##_gt_u, 3)           \
	X(br_##T##_le_s, 3) X(br_##T##_le_u, 3) X(br_##T##_ge_s, 3)           \
	X(br_##T##_ge_u, 3)
#define MYR_BRCMP_ALL(X)                                                      \
	MYR_BRCMP(X, i32) MYR_BRCMP(X, i64) MYR_BRCMP(X, i32k)                \
	MYR_BRCMP(X, i64k) MYR_BRCMP(X, i32_loop) MYR_BRCMP(X, i64_loop)      \
	MYR_BRCMP(X, i32k_loop) MYR_BRCMP(X, i64k_loop)

/* Unary ops and conversions: R, A. */
#define MYR_UNOPS(X)                                                          \
	X(i32_eqz, 2) X(i32_clz, 2) X(i32_ctz, 2) X(i32_popcnt, 2)            \
	X(i64_eqz, 2) X(i64_clz, 2) X(i64_ctz, 2) X(i64_popcnt, 2)            \
	X(f32_abs, 2) X(f32_neg, 2) X(f32_ceil, 2) X(f32_floor, 2)            \
	X(f32_trunc, 2) X(f32_nearest, 2) X(f32_sqrt, 2) X(f64_abs, 2)        \
	X(f64_neg, 2) X(f64_ceil, 2) X(f64_floor, 2) X(f64_trunc, 2)          \
	X(f64_nearest, 2) X(f64_sqrt, 2) X(i32_wrap_i64, 2)                   \
	X(i32_trunc_f32_s, 2) X(i32_trunc_f32_u, 2) X(i32_trunc_f64_s, 2)     \
	X(i32_trunc_f64_u, 2) X(i64_extend_i32_s, 2) X(i64_extend_i32_u, 2)   \
	X(i64_trunc_f32_s, 2) X(i64_trunc_f32_u, 2) X(i64_trunc_f64_s, 2)     \
	X(i64_trunc_f64_u, 2) X(f32_convert_i32_s, 2)                         \
	X(f32_convert_i32_u, 2) X(f32_convert_i64_s, 2)                       \
	X(f32_convert_i64_u, 2) X(f32_demote_f64, 2) X(f64_convert_i32_s, 2)  \
	X(f64_convert_i32_u, 2) X(f64_convert_i64_s, 2)                       \
	X(f64_convert_i64_u, 2) X(f64_promote_f32, 2) X(i32_extend8_s, 2)     \
	X(i32_extend16_s, 2) X(i64_extend8_s, 2) X(i64_extend16_s, 2)         \
	X(i64_extend32_s, 2) X(i32_trunc_sat_f32_s, 2)                        \
	X(i32_trunc_sat_f32_u, 2) X(i32_trunc_sat_f64_s, 2)                   \
	X(i32_trunc_sat_f64_u, 2) X(i64_trunc_sat_f32_s, 2)                   \
	X(i64_trunc_sat_f32_u, 2) X(i64_trunc_sat_f64_s, 2)                   \
	X(i64_trunc_sat_f64_u, 2) X(ref_is_null, 2)

/* Loads: R, A (address), K (offset). Stores: A (address), B (value), K.
 * f32/f64 use the i32/i64 forms: values are bit patterns in slots. */
#define MYR_MEMOPS(X)                                                         \
	X(i32_load, 3) X(i64_load, 3) X(i32_load8_s, 3) X(i32_load8_u, 3)     \
	X(i32_load16_s, 3) X(i32_load16_u, 3) X(i64_load8_s, 3)               \
	X(i64_load8_u, 3) X(i64_load16_s, 3) X(i64_load16_u, 3)               \
	X(i64_load32_s, 3) X(i64_load32_u, 3) X(i32_store, 3)                 \
	X(i64_store, 3) X(i32_store8, 3) X(i32_store16, 3) X(i64_store8, 3)   \
	X(i64_store16, 3) X(i64_store32, 3)

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

#define MYR_OPS(X)                                                            \
	MYR_BINOPS_I(X, i32)                                                  \
	MYR_BINOPS_I(X, i64)                                                  \
	MYR_BINOPS_F(X, f32)                                                  \
	MYR_BINOPS_F(X, f64)                                                  \
	MYR_BINOPS_K(X, i32)                                                  \
	MYR_BINOPS_K(X, i64)                                                  \
	MYR_UNOPS(X)                                                          \
	MYR_MEMOPS(X)                                                         \
	MYR_MEMOPS_ABS(X)                                                     \
	MYR_BRCMP_ALL(X)                                                      \
	/* R, A */                                                            \
	X(copy, 2)                                                            \
	/* R; then a 64-bit immediate cell */                                 \
	X(const, 3)                                                           \
	/* R, A, B, C: R = C ? A : B */                                       \
	X(select, 3)                                                          \
	/* OFF */                                                             \
	X(br, 2)                                                              \
	/* OFF, COST */                                                       \
	X(br_loop, 2)                                                         \
	/* A, OFF (and A, OFF, COST for the loop forms) */                    \
	X(br_nz, 2) X(br_z, 2) X(br_nz_loop, 3) X(br_z_loop, 3)               \
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
	X(exit, 1)

typedef enum Op {
#define MYR_OP_ENUM(name, cells) OP_##name,
	MYR_OPS(MYR_OP_ENUM)
#undef MYR_OP_ENUM
	OP_COUNT_
} Op;
