/*
 * The runtime functions compiled code calls (jit.h lists them with their
 * types): calls it cannot make directly, the bulk memory and table
 * operations, and traps. They do what the interpreter's handlers for the
 * same instructions do, with the same traps; the ones that can trap
 * return nonzero after recording the trap for function `func`.
 */
#include "jit.h"

static void rt_trap(Exec *ex, uint32_t code, uint32_t func)
{
	ex->trap = (uint8_t)code;
	ex->trap_func = func;
	ex->unwind = RUN_TRAP;
}

static int trapped(Exec *ex, myr_trap code, uint32_t func)
{
	rt_trap(ex, code, func);
	return 1;
}

static int64_t rt_need_stack(Exec *ex, uint64_t *fp, uint64_t need,
			     const Cell *redo, int64_t fuel, uint32_t func)
{
	return exec_native_need_stack(ex, fp, (size_t)need, redo, fuel, func);
}

static int64_t rt_call(Exec *ex, uint64_t *fp, uint32_t base,
		       const myr_func *fn, const Cell *ret, const Cell *redo,
		       int64_t fuel, uint32_t func)
{
	return exec_call_from_native(ex, fp, base, fn, ret, redo, fuel, func);
}

static int64_t rt_call_def(Exec *ex, uint64_t *fp, uint32_t base, uint32_t def,
			   const Cell *ret, const Cell *redo, int64_t fuel,
			   uint32_t func)
{
	const Func *f = &ex->inst->mod->funcs[def];
	return exec_call_wasm_from_native(ex, fp, base, f, ex->inst, ret, redo,
					  fuel, func);
}

static int64_t rt_tail(Exec *ex, uint64_t *fp, uint32_t base, uint32_t own_hdr,
		       const myr_func *fn, const Cell *redo, int64_t fuel,
		       uint32_t func)
{
	return exec_tail_from_native(ex, fp, base, own_hdr, fn, redo, fuel,
				     func);
}

static int64_t rt_tail_def(Exec *ex, uint64_t *fp, uint32_t base,
			   uint32_t own_hdr, uint32_t def, const Cell *redo,
			   int64_t fuel, uint32_t func)
{
	const Func *f = &ex->inst->mod->funcs[def];
	return exec_tail_wasm_from_native(ex, fp, base, own_hdr, f, ex->inst,
					  redo, fuel, func);
}

static uint32_t rt_memory_grow(Exec *ex, uint32_t delta)
{
	return (uint32_t)(int32_t)memory_grow(ex->mem, delta);
}

static uint64_t mem_size(const Exec *ex)
{
	return ex->mem ? ex->mem->size : 0;
}

static int rt_memory_fill(Exec *ex, uint32_t d, uint32_t v, uint32_t n,
			  uint32_t func)
{
	if ((uint64_t)d + n > mem_size(ex))
		return trapped(ex, MYR_TRAP_MEMORY_OOB, func);
	memset(ex->mem->base + d, (int)(uint8_t)v, n);
	return 0;
}

static int rt_memory_copy(Exec *ex, uint32_t d, uint32_t s, uint32_t n,
			  uint32_t func)
{
	uint64_t size = mem_size(ex);
	if ((uint64_t)d + n > size || (uint64_t)s + n > size)
		return trapped(ex, MYR_TRAP_MEMORY_OOB, func);
	memmove(ex->mem->base + d, ex->mem->base + s, n);
	return 0;
}

static int rt_memory_init(Exec *ex, uint32_t d, uint32_t s, uint32_t n,
			  uint32_t seg, uint32_t func)
{
	myr_instance *inst = ex->inst;
	const DataSeg *ds = &inst->mod->datas[seg];
	uint64_t len =
		instance_dropped(inst, inst->mod->nelems + seg) ? 0 : ds->len;
	if ((uint64_t)s + n > len || (uint64_t)d + n > mem_size(ex))
		return trapped(ex, MYR_TRAP_MEMORY_OOB, func);
	if (n)
		memcpy(ex->mem->base + d, ds->bytes + s, n);
	return 0;
}

static void rt_data_drop(Exec *ex, uint32_t seg)
{
	instance_drop(ex->inst, ex->inst->mod->nelems + seg);
}

static uint32_t rt_table_grow(Exec *ex, uint32_t t, uint64_t init,
			      uint32_t delta)
{
	return (uint32_t)(int32_t)table_grow(ex->tables[t], delta, init);
}

static int rt_table_fill(Exec *ex, uint32_t ti, uint32_t i, uint64_t v,
			 uint32_t n, uint32_t func)
{
	myr_table *t = ex->tables[ti];
	if ((uint64_t)i + n > t->size)
		return trapped(ex, MYR_TRAP_TABLE_OOB, func);
	for (uint32_t k = 0; k < n; k++)
		t->elems[i + k] = v;
	return 0;
}

static int rt_table_copy(Exec *ex, uint32_t dti, uint32_t sti, uint32_t d,
			 uint32_t s, uint32_t n, uint32_t func)
{
	myr_table *dt = ex->tables[dti], *st = ex->tables[sti];
	if ((uint64_t)d + n > dt->size || (uint64_t)s + n > st->size)
		return trapped(ex, MYR_TRAP_TABLE_OOB, func);
	memmove(dt->elems + d, st->elems + s, (size_t)n * sizeof *dt->elems);
	return 0;
}

static int rt_table_init(Exec *ex, uint32_t ti, uint32_t seg, uint32_t d,
			 uint32_t s, uint32_t n, uint32_t func)
{
	myr_instance *inst = ex->inst;
	myr_table *t = ex->tables[ti];
	const ElemSeg *es = &inst->mod->elems[seg];
	uint64_t len = instance_dropped(inst, seg) ? 0 : es->count;
	if ((uint64_t)s + n > len || (uint64_t)d + n > t->size)
		return trapped(ex, MYR_TRAP_TABLE_OOB, func);
	for (uint32_t k = 0; k < n; k++)
		t->elems[d + k] = exec_elem_value(inst, &es->items[s + k]);
	return 0;
}

static void rt_elem_drop(Exec *ex, uint32_t seg)
{
	instance_drop(ex->inst, seg);
}

static uint64_t rt_ref_func(Exec *ex, uint32_t idx)
{
	return (uint64_t)(uintptr_t)instance_func(ex->inst, idx);
}

void *jit_helper(const char *name)
{
	static const struct {
		const char *name;
		void *fn;
	} table[] = {
#define MYR_HELPER_ENTRY(n, r, p) {#n, (void *)rt_##n},
		MYR_JIT_HELPERS(MYR_HELPER_ENTRY)
#undef MYR_HELPER_ENTRY
	};
	for (size_t i = 0; i < COUNT_OF(table); i++)
		if (!strcmp(table[i].name, name))
			return table[i].fn;
	return NULL;
}
