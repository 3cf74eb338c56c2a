/*
 * A bytecode interpreter (switch dispatch over a small stack machine with
 * 64-bit values) running a Collatz-length program: what an interpreter
 * inside wasm looks like, i.e. br_table dispatch, unpredictable branches,
 * i64 arithmetic and loads/stores to a small operand stack.
 */
#include "kernel.h"

KERNEL_INPUT int64_t interp_limit = KERNEL_SIZE(340000, 100000);

enum op {
	OP_PUSH,
	OP_LOAD,
	OP_STORE,
	OP_ADD,
	OP_MUL,
	OP_AND,
	OP_SHR,
	OP_LT,
	OP_EQ,
	OP_JMP,
	OP_JZ,
	OP_JNZ,
	OP_HALT
};

/* The program is assembled at run time into a mutable array, so the
   compiler cannot specialise the interpreter loop for it. */
static int32_t code[128];
static int32_t ncode;

static void emit(int32_t op)
{
	code[ncode++] = op;
}
static void emit2(int32_t op, int32_t arg)
{
	emit(op);
	emit(arg);
}
/* Emits a jump whose target is not known yet; returns where to patch it. */
static int32_t emit_jump(int32_t op)
{
	emit2(op, -1);
	return ncode - 1;
}
static void patch(int32_t at, int32_t target)
{
	code[at] = target;
}

/* Registers: r0 = i, r1 = n, r2 = total steps, r3 = limit. */
static void assemble(void)
{
	ncode = 0;
	emit2(OP_PUSH, 1);
	emit2(OP_STORE, 0);
	int32_t outer = ncode; /* while (i < limit) */
	emit2(OP_LOAD, 0);
	emit2(OP_LOAD, 3);
	emit(OP_LT);
	int32_t to_end = emit_jump(OP_JZ);
	emit2(OP_LOAD, 0); /* n = i */
	emit2(OP_STORE, 1);
	int32_t inner = ncode; /* while (n != 1) */
	emit2(OP_LOAD, 1);
	emit2(OP_PUSH, 1);
	emit(OP_EQ);
	int32_t to_next = emit_jump(OP_JNZ);
	emit2(OP_LOAD, 1); /* if (n & 1) n = 3n + 1; else n >>= 1; */
	emit2(OP_PUSH, 1);
	emit(OP_AND);
	int32_t to_even = emit_jump(OP_JZ);
	emit2(OP_LOAD, 1);
	emit2(OP_PUSH, 3);
	emit(OP_MUL);
	emit2(OP_PUSH, 1);
	emit(OP_ADD);
	emit2(OP_STORE, 1);
	int32_t to_count = emit_jump(OP_JMP);
	patch(to_even, ncode);
	emit2(OP_LOAD, 1);
	emit2(OP_PUSH, 1);
	emit(OP_SHR);
	emit2(OP_STORE, 1);
	patch(to_count, ncode); /* steps++ */
	emit2(OP_LOAD, 2);
	emit2(OP_PUSH, 1);
	emit(OP_ADD);
	emit2(OP_STORE, 2);
	emit2(OP_JMP, inner);
	patch(to_next, ncode); /* i++ */
	emit2(OP_LOAD, 0);
	emit2(OP_PUSH, 1);
	emit(OP_ADD);
	emit2(OP_STORE, 0);
	emit2(OP_JMP, outer);
	patch(to_end, ncode);
	emit2(OP_LOAD, 2);
	emit(OP_HALT);
}

static int64_t execute(int64_t limit)
{
	int64_t reg[4] = {0, 0, 0, limit};
	int64_t stack[16];
	int32_t sp = 0, pc = 0;
	uint64_t dispatched = 0; /* folded into the result: all ops count */
	for (;;) {
		dispatched++;
		int32_t op = code[pc++];
		switch (op) {
		case OP_PUSH:
			stack[sp++] = code[pc++];
			break;
		case OP_LOAD:
			stack[sp++] = reg[code[pc++]];
			break;
		case OP_STORE:
			reg[code[pc++]] = stack[--sp];
			break;
		case OP_ADD:
			sp--;
			stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] +
						  (uint64_t)stack[sp]);
			break;
		case OP_MUL:
			sp--;
			stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] *
						  (uint64_t)stack[sp]);
			break;
		case OP_AND:
			sp--;
			stack[sp - 1] &= stack[sp];
			break;
		case OP_SHR:
			sp--;
			stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] >>
						  (stack[sp] & 63));
			break;
		case OP_LT:
			sp--;
			stack[sp - 1] = stack[sp - 1] < stack[sp];
			break;
		case OP_EQ:
			sp--;
			stack[sp - 1] = stack[sp - 1] == stack[sp];
			break;
		case OP_JMP:
			pc = code[pc];
			break;
		case OP_JZ:
			pc = stack[--sp] == 0 ? code[pc] : pc + 1;
			break;
		case OP_JNZ:
			pc = stack[--sp] != 0 ? code[pc] : pc + 1;
			break;
		case OP_HALT:
			return (int64_t)(((uint64_t)stack[sp - 1] << 32) ^
					 dispatched);
		default:
			return -1; /* corrupt program */
		}
	}
}

KERNEL_EXPORT int64_t run(void)
{
	assemble();
	return execute(interp_limit);
}
