/*
 * Instantiation: linking imports, creating memories, tables and globals,
 * running active segments and the start function; and freeing.
 */
#include <stdio.h>

#include "reader.h"
#include "runtime.h"

/* ------------------------------------------------------------------ */
/* Constant expressions (validated by the decoder)                     */

bool instance_eval_const(myr_instance *inst, const ConstExpr *e,
			 uint64_t *out)
{
	const Module *m = inst->mod;
	uint64_t stack[16];
	unsigned sp = 0;
	Reader r = {.p = e->code, .end = e->code + e->len, .base = m->bytes};
	for (;;) {
		uint8_t op;
		if (!rd_u8(&r, &op))
			return false;
		if (op == 0x0B)
			break;
		if (sp == COUNT_OF(stack) && op != 0x6A && op != 0x6B &&
		    op != 0x6C && op != 0x7C && op != 0x7D && op != 0x7E)
			return false;
		switch (op) {
		case 0x41: {
			int32_t v;
			if (!rd_s32(&r, &v))
				return false;
			stack[sp++] = (uint32_t)v;
			break;
		}
		case 0x42: {
			int64_t v;
			if (!rd_s64(&r, &v))
				return false;
			stack[sp++] = (uint64_t)v;
			break;
		}
		case 0x43: {
			uint32_t b;
			if (!rd_f32(&r, &b))
				return false;
			stack[sp++] = b;
			break;
		}
		case 0x44: {
			uint64_t b;
			if (!rd_f64(&r, &b))
				return false;
			stack[sp++] = b;
			break;
		}
		case 0xD0: {
			uint8_t t;
			if (!rd_u8(&r, &t))
				return false;
			stack[sp++] = 0;
			break;
		}
		case 0xD2: {
			uint32_t f;
			if (!rd_u32(&r, &f))
				return false;
			stack[sp++] = (uint64_t)(uintptr_t)instance_func(inst, f);
			break;
		}
		case 0x23: {
			uint32_t g;
			if (!rd_u32(&r, &g))
				return false;
			stack[sp++] = g < m->nglobal_imports
					      ? *inst->global_imps[g]
					      : inst->globals[g - m->nglobal_imports];
			break;
		}
		default: {
			if (sp < 2)
				return false;
			uint64_t b = stack[--sp], a = stack[sp - 1], v;
			switch (op) {
			case 0x6A: v = (uint32_t)(a + b); break;
			case 0x6B: v = (uint32_t)(a - b); break;
			case 0x6C: v = (uint32_t)((uint32_t)a * (uint32_t)b); break;
			case 0x7C: v = a + b; break;
			case 0x7D: v = a - b; break;
			case 0x7E: v = a * b; break;
			default: return false;
			}
			stack[sp - 1] = v;
		}
		}
	}
	if (sp != 1)
		return false;
	*out = stack[0];
	return true;
}

/* ------------------------------------------------------------------ */
/* Linking                                                             */

static const char *kind_name(ExternKind k)
{
	static const char *const names[] = {"function", "table", "memory",
					    "global"};
	return names[k];
}

static bool link_fail(myr_error *err, const Import *im, const char *why)
{
	return fail(err, MYR_ERR_LINK, MYR_NO_OFFSET, MYR_NO_FUNC,
		    "incompatible import type: %s \"%.*s\".\"%.*s\": %s",
		    kind_name(im->kind), (int)im->module.len, im->module.s,
		    (int)im->name.len, im->name.s, why);
}

/* An import of limits `want` accepts an object whose limits are `have`. */
static bool limits_match(const Limits *have, uint64_t have_min,
			 const Limits *want)
{
	(void)have;
	if (have_min < want->min)
		return false;
	if (want->has_max) {
		if (!have->has_max || have->max > want->max)
			return false;
	}
	return true;
}

static bool link_import(myr_instance *inst, uint32_t i, const myr_extern *x,
			uint32_t *nf, uint32_t *nt, uint32_t *nm,
			uint32_t *ng, myr_error *err)
{
	const Module *m = inst->mod;
	const Import *im = &m->imports[i];
	if (x->kind != (myr_externkind)im->kind) {
		char why[64];
		snprintf(why, sizeof why, "expected a %s",
			 kind_name(im->kind));
		return link_fail(err, im, why);
	}
	switch (im->kind) {
	case EXT_FUNC: {
		const myr_func *f = x->of.func;
		if (!f)
			return link_fail(err, im, "null function");
		if (f->canon != m->types[im->u.type_idx].canon)
			return link_fail(err, im, "function signature differs");
		inst->func_imps[(*nf)++] = (myr_func *)f;
		return true;
	}
	case EXT_TABLE: {
		myr_table *t = x->of.table;
		if (!t)
			return link_fail(err, im, "null table");
		if (t->type != im->u.table.elem)
			return link_fail(err, im, "element type differs");
		Limits have = {.min = t->size,
			       .max = t->declared_max,
			       .has_max = t->has_max};
		if (!limits_match(&have, t->size, &im->u.table.lim))
			return link_fail(err, im, "limits do not match");
		inst->tables[(*nt)++] = t;
		return true;
	}
	case EXT_MEMORY: {
		myr_memory *mem = x->of.memory;
		if (!mem)
			return link_fail(err, im, "null memory");
		if (mem->page_log2 != im->u.mem.page_log2)
			return link_fail(err, im, "page size differs");
		uint64_t pages = mem->size >> mem->page_log2;
		Limits have = {.min = pages,
			       .max = mem->declared_max,
			       .has_max = mem->has_max};
		if (!limits_match(&have, pages, &im->u.mem.lim))
			return link_fail(err, im, "limits do not match");
		inst->mems[(*nm)++] = mem;
		return true;
	}
	case EXT_GLOBAL: {
		myr_global *g = x->of.global;
		if (!g)
			return link_fail(err, im, "null global");
		if (g->type != im->u.global.type || g->mut != im->u.global.mut)
			return link_fail(err, im, "global type differs");
		inst->global_imps[*ng] = g->cell;
		inst->global_objs[(*ng)++] = g;
		return true;
	}
	}
	return link_fail(err, im, "unknown kind");
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */

static myr_trap run_segments(myr_instance *inst)
{
	const Module *m = inst->mod;
	for (uint32_t i = 0; i < m->nelems; i++) {
		const ElemSeg *s = &m->elems[i];
		if (s->mode == SEG_ACTIVE) {
			uint64_t off;
			if (!instance_eval_const(inst, &s->offset, &off))
				return MYR_TRAP_TABLE_OOB;
			myr_table *t = inst->tables[s->table];
			uint64_t d = (uint32_t)off;
			if (d + s->count > t->size)
				return MYR_TRAP_TABLE_OOB;
			for (uint32_t k = 0; k < s->count; k++) {
				const ElemItem *it = &s->items[k];
				uint64_t v = 0;
				if (it->kind == ITEM_FUNC)
					v = (uint64_t)(uintptr_t)instance_func(
						inst, it->idx);
				else if (it->kind == ITEM_GLOBAL_GET)
					v = it->idx < m->nglobal_imports
						    ? *inst->global_imps[it->idx]
						    : inst->globals
							      [it->idx -
							       m->nglobal_imports];
				t->elems[d + k] = v;
			}
		}
		if (s->mode != SEG_PASSIVE)
			instance_drop(inst, i);
	}
	for (uint32_t i = 0; i < m->ndatas; i++) {
		const DataSeg *s = &m->datas[i];
		if (s->mode != SEG_ACTIVE)
			continue;
		uint64_t off;
		if (!instance_eval_const(inst, &s->offset, &off))
			return MYR_TRAP_MEMORY_OOB;
		myr_memory *mem = inst->mems[s->mem];
		uint64_t d = (uint32_t)off;
		if (d + s->len > mem->size)
			return MYR_TRAP_MEMORY_OOB;
		if (s->len)
			memcpy(mem->base + d, s->bytes, s->len);
		instance_drop(inst, m->nelems + i);
	}
	return MYR_TRAP_NONE;
}

static bool alloc_parts(myr_instance *inst, myr_error *err)
{
	const Module *m = inst->mod;
	uint32_t ndef_globals = m->nglobals - m->nglobal_imports;
	inst->globals = xcalloc(ndef_globals, sizeof(uint64_t));
	inst->global_imps = xcalloc(m->nglobal_imports, sizeof(uint64_t *));
	inst->global_objs = xcalloc(m->nglobals, sizeof(myr_global *));
	inst->mems = xcalloc(m->nmems, sizeof(myr_memory *));
	inst->tables = xcalloc(m->ntables, sizeof(myr_table *));
	inst->func_imps = xcalloc(m->nfunc_imports, sizeof(myr_func *));
	inst->refs = xcalloc(m->nrefs, sizeof(myr_func));
	inst->dropped = xcalloc((m->nelems + m->ndatas + 7) / 8, 1);
	size_t stack_slots = inst->engine->cfg.initial_stack_bytes / 8;
	inst->ex.stack = xcalloc(stack_slots, sizeof(uint64_t));
	if (!inst->globals || !inst->global_imps || !inst->global_objs ||
	    !inst->mems || !inst->tables || !inst->func_imps || !inst->refs ||
	    !inst->dropped || !inst->ex.stack)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "out of memory while instantiating");
	inst->ex.stack_end = inst->ex.stack + stack_slots;
	inst->ex.max_slots = inst->engine->cfg.max_stack_bytes / 8;
	return true;
}

static bool create_own(myr_instance *inst, myr_error *err)
{
	const Module *m = inst->mod;
	myr_engine *e = inst->engine;
	for (uint32_t i = m->nmem_imports; i < m->nmems; i++) {
		myr_memory *mem = calloc(1, sizeof *mem);
		if (!mem)
			return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET,
				    MYR_NO_FUNC, "out of memory");
		inst->mems[i] = mem;
		if (!memory_init_obj(mem, e, &m->mems[i], err))
			return false;
	}
	for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
		myr_table *t = calloc(1, sizeof *t);
		if (!t)
			return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET,
				    MYR_NO_FUNC, "out of memory");
		inst->tables[i] = t;
		if (!table_init_obj(t, &m->tables[i], e->cfg.max_table_elems,
				    err))
			return false;
	}
	for (uint32_t f = m->nfunc_imports; f < m->nfuncs; f++) {
		uint32_t s = m->ref_slot[f];
		if (s == UINT32_MAX)
			continue;
		const Func *def = &m->funcs[f - m->nfunc_imports];
		inst->refs[s] = (myr_func){.kind = FUNC_WASM,
					   .canon = def->type->canon,
					   .type = def->type,
					   .def = def,
					   .inst = inst};
	}
	uint32_t nimp = m->nglobal_imports;
	for (uint32_t i = nimp; i < m->nglobals; i++) {
		const Global *g = &m->globals[i - nimp];
		if (!instance_eval_const(inst, &g->init,
					 &inst->globals[i - nimp]))
			return fail(err, MYR_ERR_INVALID, g->init.offset,
				    MYR_NO_FUNC,
				    "cannot evaluate global initializer");
	}
	for (uint32_t i = 0; i < m->nelems; i++) {
		const ElemSeg *s = &m->elems[i];
		if (s->mode == SEG_ACTIVE &&
		    inst->tables[s->table]->type != s->type)
			return fail(err, MYR_ERR_LINK, MYR_NO_OFFSET, MYR_NO_FUNC,
				    "element segment %u does not fit its table",
				    i);
	}
	return true;
}

static void instance_release(myr_instance *inst)
{
	const Module *m = inst->mod;
	if (inst->mems)
		for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
			if (inst->mems[i]) {
				memory_release(inst->mems[i]);
				free(inst->mems[i]);
			}
	if (inst->tables)
		for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
			if (inst->tables[i]) {
				table_release(inst->tables[i]);
				free(inst->tables[i]);
			}
	if (inst->global_objs)
		for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++)
			free(inst->global_objs[i]);
	free(inst->globals);
	free(inst->global_imps);
	free(inst->global_objs);
	free(inst->mems);
	free(inst->tables);
	free(inst->func_imps);
	free(inst->refs);
	free(inst->dropped);
	free(inst->ex.stack);
	free(inst);
}

/* An instance whose instantiation trapped may already be referenced by
 * imported tables (its functions were written there), so it lives on
 * until its module is freed. */
static void keep_until_module_free(myr_instance *inst)
{
	Module *m = (Module *)inst->mod;
	pthread_mutex_lock(&inst->engine->types_lock);
	inst->next_orphan = m->orphans;
	m->orphans = inst;
	pthread_mutex_unlock(&inst->engine->types_lock);
}

void module_free_orphans(Module *m)
{
	myr_instance *i = m->orphans;
	while (i) {
		myr_instance *next = i->next_orphan;
		instance_release(i);
		i = next;
	}
	m->orphans = NULL;
}

/* Runs the start function to completion. */
static bool run_start(myr_instance *inst, myr_error *err)
{
	const Module *m = inst->mod;
	myr_func *fn = instance_func(inst, m->start);
	myr_func tmp;
	if (!fn) {
		const Func *def = &m->funcs[m->start - m->nfunc_imports];
		tmp = (myr_func){.kind = FUNC_WASM,
				 .canon = def->type->canon,
				 .type = def->type,
				 .def = def,
				 .inst = inst};
		fn = &tmp;
	}
	return myr_func_call(fn, NULL, 0, NULL, 0, err);
}

myr_instance *myr_instance_new(myr_module *m, const myr_extern *imports,
			       size_t nimports, myr_error *err)
{
	error_clear(err);
	if (nimports != m->nimports) {
		fail(err, MYR_ERR_LINK, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "the module has %u imports but %zu were given",
		     m->nimports, nimports);
		return NULL;
	}
	myr_instance *inst = calloc(1, sizeof *inst);
	if (!inst) {
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "out of memory");
		return NULL;
	}
	inst->mod = m;
	inst->engine = m->engine;
	if (!alloc_parts(inst, err))
		goto fail;
	uint32_t nf = 0, nt = 0, nm = 0, ng = 0;
	for (uint32_t i = 0; i < m->nimports; i++)
		if (!link_import(inst, i, &imports[i], &nf, &nt, &nm, &ng, err))
			goto fail;
	if (!create_own(inst, err))
		goto fail;
	exec_enter(&inst->ex, inst);
	myr_trap trap = run_segments(inst);
	if (trap != MYR_TRAP_NONE) {
		fail(err, MYR_ERR_TRAP, MYR_NO_OFFSET, MYR_NO_FUNC, "%s",
		     myr_trap_message(trap));
		if (err)
			err->trap = trap;
		keep_until_module_free(inst);
		return NULL;
	}
	if (m->has_start && !run_start(inst, err)) {
		if (err && err->kind == MYR_ERR_TRAP) {
			keep_until_module_free(inst);
			return NULL;
		}
		goto fail;
	}
	return inst;
fail:
	instance_release(inst);
	return NULL;
}

void myr_instance_free(myr_instance *inst)
{
	if (inst)
		instance_release(inst);
}

const myr_module *myr_instance_module(const myr_instance *inst)
{
	return inst->mod;
}

/* The myr_global object for global idx, created on first use. */
static myr_global *global_object(myr_instance *inst, uint32_t idx)
{
	if (inst->global_objs[idx])
		return inst->global_objs[idx];
	const Module *m = inst->mod;
	myr_global *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->cell = &inst->globals[idx - m->nglobal_imports];
	g->type = m->global_types[idx].type;
	g->mut = m->global_types[idx].mut;
	inst->global_objs[idx] = g;
	return g;
}

bool myr_instance_export(myr_instance *inst, const char *name,
			 size_t name_len, myr_extern *out)
{
	const Module *m = inst->mod;
	for (uint32_t i = 0; i < m->nexports; i++) {
		const Export *e = &m->exports[i];
		if (e->name.len != name_len ||
		    memcmp(e->name.s, name, name_len) != 0)
			continue;
		out->kind = (myr_externkind)e->kind;
		switch (e->kind) {
		case EXT_FUNC:
			out->of.func = instance_func(inst, e->index);
			return out->of.func != NULL;
		case EXT_TABLE:
			out->of.table = inst->tables[e->index];
			return true;
		case EXT_MEMORY:
			out->of.memory = inst->mems[e->index];
			return true;
		case EXT_GLOBAL:
			out->of.global = global_object(inst, e->index);
			return out->of.global != NULL;
		}
	}
	return false;
}
