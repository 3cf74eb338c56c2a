/* A listing of a function's internal code, for `myriad inspect --code`
 * and for whoever tunes the compiler: one instruction per line with its
 * operands as the 32-bit fields the handler reads. */
#include <stdio.h>

#include "runtime.h"

static const char *const op_names[OP_COUNT_] = {
#define MYR_OP_NAME(name, cells) [OP_##name] = #name,
	MYR_OPS(MYR_OP_NAME)
#undef MYR_OP_NAME
};

static const uint8_t op_cells[OP_COUNT_] = {
#define MYR_OP_CELLS(name, cells) [OP_##name] = cells,
	MYR_OPS(MYR_OP_CELLS)
#undef MYR_OP_CELLS
};

static int op_of(OpFn fn)
{
	for (int i = 0; i < OP_COUNT_; i++)
		if (op_handlers[i] == fn)
			return i;
	return -1;
}

/* Prints defined function `idx` (0-based among defined functions). Returns
 * the number of instructions. */
size_t code_dump(const Module *m, uint32_t idx, FILE *out)
{
	const Func *f = &m->funcs[idx];
	const Cell *end = idx + 1 < m->nfuncs - m->nfunc_imports
				  ? m->funcs[idx + 1].code
				  : m->code + m->code_cells;
	fprintf(out, "function %u: %u params, %u locals, %u frame slots\n",
		f->index, f->nparams, f->nlocals, f->frame_slots);
	size_t n = 0;
	for (const Cell *pc = f->code; pc < end; n++) {
		int op = op_of(pc->fn);
		if (op < 0) {
			fprintf(out, "  %5td  ??\n", pc - f->code);
			break;
		}
		unsigned cells = op_cells[op];
		const uint32_t *fld = (const uint32_t *)(pc + 1);
		if (op == OP_br_table)
			cells = 2 + (fld[1] + 2) / 2;
		fprintf(out, "  %5td  %-22s", pc - f->code, op_names[op]);
		for (unsigned i = 0; i < (cells - 1) * 2; i++)
			fprintf(out, " %d", (int32_t)fld[i]);
		fputc('\n', out);
		pc += cells;
	}
	return n;
}
