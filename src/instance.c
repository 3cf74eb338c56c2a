/*
 * Instantiation: linking imports, creating memories, tables and globals,
 * running active segments and the start function; and freeing.
 *
 * Layout. An instance is a single block, carved from an engine slab class
 * of its size:
 *
 *   myr_instance | own myr_memory structs | own myr_table structs |
 *   defined globals | imported global cells | memory pointers |
 *   table pointers | imported functions | function objects (refs) |
 *   dropped-segment bitset | initial value stack
 *
 * The module computes the offsets once (instance_prepare) together with
 * everything about the initial state that does not depend on the
 * instance: global values, data segment offsets and their non-zero
 * extents. Instantiating is then a slot allocation, a few copies and the
 * parts that do depend on the instance.
 */
#include <stdio.h>

#include "reader.h"
#include "runtime.h"

/* ------------------------------------------------------------------ */
/* Constant expressions (validated by the decoder)                     */

/* Evaluates e. With inst NULL, fails on anything that needs an instance
 * (global.get, ref.func), which is how the module finds what it can
 * precompute. */
static bool eval_const(const Module *m, myr_instance *inst, const ConstExpr *e,
		       uint64_t *out)
{
	uint64_t stack[16];
	unsigned sp = 0;
	Reader r = {.p = e->code, .end = e->code + e->len, .base = m->bytes};
	for (;;) {
		uint8_t op;
		if (!rd_u8(&r, &op))
			return false;
		if (op == 0x0B)
			break;
		bool binary = op == 0x6A || op == 0x6B || op == 0x6C ||
			      op == 0x7C || op == 0x7D || op == 0x7E;
		if (sp == COUNT_OF(stack) && !binary)
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
			if (!inst || !rd_u32(&r, &f))
				return false;
			stack[sp++] =
				(uint64_t)(uintptr_t)instance_func(inst, f);
			break;
		}
		case 0x23: {
			uint32_t g;
			if (!inst || !rd_u32(&r, &g))
				return false;
			stack[sp++] =
				g < m->nglobal_imports
					? *inst->global_imps[g]
					: inst->globals[g - m->nglobal_imports];
			break;
		}
		default: {
			if (!binary || sp < 2)
				return false;
			uint64_t b = stack[--sp], a = stack[sp - 1], v;
			switch (op) {
			case 0x6A:
				v = (uint32_t)(a + b);
				break;
			case 0x6B:
				v = (uint32_t)(a - b);
				break;
			case 0x6C:
				v = (uint32_t)((uint32_t)a * (uint32_t)b);
				break;
			case 0x7C:
				v = a + b;
				break;
			case 0x7D:
				v = a - b;
				break;
			default:
				v = a * b;
				break;
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

bool instance_eval_const(myr_instance *inst, const ConstExpr *e, uint64_t *out)
{
	return eval_const(inst->mod, inst, e, out);
}

/* ------------------------------------------------------------------ */
/* What the module precomputes                                         */

static uint32_t align_to(uint32_t n, uint32_t a)
{
	return (n + a - 1) / a * a;
}

bool instance_prepare(Module *m, myr_error *err)
{
	uint32_t own_mems = m->nmems - m->nmem_imports;
	uint32_t own_tables = m->ntables - m->ntable_imports;
	uint32_t ndef_globals = m->nglobals - m->nglobal_imports;
	for (uint32_t f = 0; f < m->nfuncs; f++) {
		if (f < m->nfunc_imports || !module_func_declared(m, f))
			m->ref_slot[f] = UINT32_MAX;
		else if (module_func_placed(m, f))
			m->ref_slot[f] = m->nrefs++;
		else
			m->ref_slot[f] = REF_LAZY | m->nlazy++;
	}
	uint64_t off = sizeof(myr_instance);
#define PART(field, bytes)                                                     \
	do {                                                                   \
		off = align_to((uint32_t)off, 8);                              \
		m->layout.field = (uint32_t)off;                               \
		off += (uint64_t)(bytes);                                      \
	} while (0)
	PART(own_mems, (uint64_t)own_mems * sizeof(myr_memory));
	PART(own_tables, (uint64_t)own_tables * sizeof(myr_table));
	PART(globals, (uint64_t)ndef_globals * 8);
	PART(global_imps, (uint64_t)m->nglobal_imports * 8);
	PART(mems, (uint64_t)m->nmems * 8);
	PART(tables, (uint64_t)m->ntables * 8);
	PART(func_imps, (uint64_t)m->nfunc_imports * 8);
	PART(dropped, ((uint64_t)m->nelems + m->ndatas + 7) / 8);
	/* The placed functions' objects, then the exported-only ones', last
	 * before the stack: an instance that leaves the latter out (an
	 * actor's, instance_new_stack) starts its stack where they would
	 * be. */
	PART(refs, (uint64_t)(m->nrefs + m->nlazy) * sizeof(myr_func));
	PART(stack, align_to((uint32_t)m->engine->cfg.initial_stack_bytes, 8));
#undef PART
	if (off > UINT32_MAX / 2)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "the module's instances would take %llu bytes each",
			    (unsigned long long)off);
	m->layout.size = align_to((uint32_t)off, BLOCK_STEP);

	m->global_init = xcalloc(ndef_globals, sizeof(uint64_t));
	m->global_dynamic = xcalloc(ndef_globals, 1);
	if (!m->global_init || !m->global_dynamic)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "out of memory");
	for (uint32_t i = 0; i < ndef_globals; i++) {
		if (!eval_const(m, NULL, &m->globals[i].init,
				&m->global_init[i])) {
			m->global_dynamic[i] = 1;
			m->any_global_dynamic = true;
		}
	}
	for (uint32_t i = 0; i < m->ndatas; i++) {
		DataSeg *d = &m->datas[i];
		uint64_t v;
		if (d->mode != SEG_ACTIVE ||
		    !eval_const(m, NULL, &d->offset, &v))
			continue;
		d->const_offset = true;
		d->offset_value = (uint32_t)v;
		uint32_t a = 0, b = d->len;
		while (a < b && d->bytes[a] == 0)
			a++;
		while (b > a && d->bytes[b - 1] == 0)
			b--;
		d->nz_start = a;
		d->nz_len = b - a;
	}
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

/* An import of limits `want` accepts an object of current size `have_min`
 * and declared maximum `have`. */
static bool limits_match(const Limits *have, uint64_t have_min,
			 const Limits *want)
{
	if (have_min < want->min)
		return false;
	if (want->has_max && (!have->has_max || have->max > want->max))
		return false;
	return true;
}

static bool link_import(myr_instance *inst, uint32_t i, const myr_extern *x,
			uint32_t *idx, myr_error *err)
{
	const Module *m = inst->mod;
	const Import *im = &m->imports[i];
	if (x->kind != (myr_externkind)im->kind) {
		char why[64];
		snprintf(why, sizeof why, "expected a %s", kind_name(im->kind));
		return link_fail(err, im, why);
	}
	switch (im->kind) {
	case EXT_FUNC: {
		const myr_func *f = x->of.func;
		if (!f)
			return link_fail(err, im, "null function");
		if (f->canon != m->types[im->u.type_idx].canon)
			return link_fail(err, im, "function signature differs");
		inst->func_imps[idx[EXT_FUNC]++] = (myr_func *)f;
		return true;
	}
	case EXT_TABLE: {
		myr_table *t = x->of.table;
		if (!t)
			return link_fail(err, im, "null table");
		if (t->type != im->u.table.elem)
			return link_fail(err, im, "element type differs");
		Limits have = {.max = t->declared_max, .has_max = t->has_max};
		if (!limits_match(&have, t->size, &im->u.table.lim))
			return link_fail(err, im, "limits do not match");
		inst->tables[idx[EXT_TABLE]++] = t;
		return true;
	}
	case EXT_MEMORY: {
		myr_memory *mem = x->of.memory;
		if (!mem)
			return link_fail(err, im, "null memory");
		if (mem->page_log2 != im->u.mem.page_log2)
			return link_fail(err, im, "page size differs");
		Limits have = {.max = mem->declared_max,
			       .has_max = mem->has_max};
		if (!limits_match(&have, mem->size >> mem->page_log2,
				  &im->u.mem.lim))
			return link_fail(err, im, "limits do not match");
		inst->mems[idx[EXT_MEMORY]++] = mem;
		return true;
	}
	case EXT_GLOBAL: {
		myr_global *g = x->of.global;
		if (!g)
			return link_fail(err, im, "null global");
		if (g->type != im->u.global.type || g->mut != im->u.global.mut)
			return link_fail(err, im, "global type differs");
		inst->global_imps[idx[EXT_GLOBAL]] = g->cell;
		inst->global_objs[idx[EXT_GLOBAL]++] = g;
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
						    ? *inst->global_imps
							       [it->idx]
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
		uint64_t off = s->offset_value;
		if (!s->const_offset &&
		    !instance_eval_const(inst, &s->offset, &off))
			return MYR_TRAP_MEMORY_OOB;
		myr_memory *mem = inst->mems[s->mem];
		uint64_t d = (uint32_t)off;
		if (d + s->len > mem->size)
			return MYR_TRAP_MEMORY_OOB;
		if (s->mem >= m->nmem_imports) {
			/* A fresh memory is zero: copy the non-zero part. */
			if (s->nz_len || !s->const_offset)
				memcpy(mem->base + d + s->nz_start,
				       s->bytes + s->nz_start,
				       s->const_offset ? s->nz_len : s->len);
		} else if (s->len) {
			memcpy(mem->base + d, s->bytes, s->len);
		}
		instance_drop(inst, m->nelems + i);
	}
	return MYR_TRAP_NONE;
}

/* Sanitizer builds take blocks from malloc, where ASan can see overruns
 * between neighbouring instances. */
#ifdef MYR_SANITIZED
#define USE_BLOCK_SLAB 0
#else
#define USE_BLOCK_SLAB 1
#endif

static myr_instance *alloc_block(myr_engine *e, uint32_t size)
{
	if (USE_BLOCK_SLAB && size <= BLOCK_MAX)
		return slab_alloc(&e->blocks[size / BLOCK_STEP - 1]);
	return malloc(size);
}

static void free_block(myr_engine *e, myr_instance *inst, uint32_t size)
{
	if (USE_BLOCK_SLAB && size <= BLOCK_MAX)
		slab_free(&e->blocks[size / BLOCK_STEP - 1], inst, 0, false);
	else
		free(inst);
}

/* Where the stack starts in an instance block, with or without the
 * exported-only functions' objects. */
static uint32_t stack_offset(const Module *m, bool lazy)
{
	return lazy ? m->layout.refs + m->nrefs * (uint32_t)sizeof(myr_func)
		    : m->layout.stack;
}

/* Points the instance's part pointers into its block. */
static void carve(myr_instance *inst, bool lazy)
{
	const Module *m = inst->mod;
	uint8_t *b = (uint8_t *)inst;
	inst->globals = (uint64_t *)(b + m->layout.globals);
	inst->global_imps = (uint64_t **)(b + m->layout.global_imps);
	inst->mems = (myr_memory **)(b + m->layout.mems);
	inst->tables = (myr_table **)(b + m->layout.tables);
	inst->func_imps = (myr_func **)(b + m->layout.func_imps);
	inst->refs = (myr_func *)(b + m->layout.refs);
	if (!lazy && m->nlazy)
		atomic_init(&inst->lazy_refs, inst->refs + m->nrefs);
	inst->dropped = b + m->layout.dropped;
	myr_memory *own_mems = (myr_memory *)(b + m->layout.own_mems);
	for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
		inst->mems[i] = &own_mems[i - m->nmem_imports];
	myr_table *own_tables = (myr_table *)(b + m->layout.own_tables);
	for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
		inst->tables[i] = &own_tables[i - m->ntable_imports];
	Exec *ex = &inst->ex;
	ex->stack = (uint64_t *)(b + stack_offset(m, lazy));
	ex->stack_end = (uint64_t *)(b + inst->block_size);
	ex->stack_inline = true;
	ex->max_slots = inst->engine->cfg.max_stack_bytes / 8;
}

myr_func *instance_lazy_func(const myr_instance *inst, uint32_t lazy)
{
	myr_instance *mut = (myr_instance *)inst;
	myr_func *a =
		atomic_load_explicit(&mut->lazy_refs, memory_order_acquire);
	if (!a) {
		/* Made whole, then published; a thread that loses the race
		 * frees its copy and takes the winner's. */
		const Module *m = inst->mod;
		myr_func *mine = xcalloc(m->nlazy, sizeof *mine);
		if (!mine)
			return NULL;
		for (uint32_t f = m->nfunc_imports; f < m->nfuncs; f++) {
			uint32_t s = m->ref_slot[f];
			if (s != UINT32_MAX && (s & REF_LAZY))
				instance_func_init(&mine[s & ~REF_LAZY], mut,
						   f);
		}
		if (atomic_compare_exchange_strong_explicit(
			    &mut->lazy_refs, &a, mine, memory_order_acq_rel,
			    memory_order_acquire))
			a = mine;
		else
			free(mine);
	}
	return &a[lazy];
}

static bool create_own(myr_instance *inst, myr_error *err)
{
	const Module *m = inst->mod;
	myr_engine *e = inst->engine;
	for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
		if (!memory_init_obj(inst->mems[i], e, &m->mems[i], err))
			return false;
	for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
		if (!table_init_obj(inst->tables[i], &m->tables[i],
				    e->cfg.max_table_elems, err))
			return false;
	myr_func *lazy =
		atomic_load_explicit(&inst->lazy_refs, memory_order_relaxed);
	for (uint32_t f = m->nfunc_imports; f < m->nfuncs; f++) {
		uint32_t s = m->ref_slot[f];
		if (s == UINT32_MAX)
			continue;
		if (!(s & REF_LAZY))
			instance_func_init(&inst->refs[s], inst, f);
		else if (lazy)
			instance_func_init(&lazy[s & ~REF_LAZY], inst, f);
	}
	uint32_t nimp = m->nglobal_imports, ndef = m->nglobals - nimp;
	if (ndef)
		memcpy(inst->globals, m->global_init, ndef * sizeof(uint64_t));
	if (m->any_global_dynamic) {
		for (uint32_t i = 0; i < ndef; i++) {
			const Global *g = &m->globals[i];
			if (m->global_dynamic[i] &&
			    !instance_eval_const(inst, &g->init,
						 &inst->globals[i]))
				return fail(err, MYR_ERR_INVALID,
					    g->init.offset, MYR_NO_FUNC,
					    "cannot evaluate global "
					    "initializer");
		}
	}
	for (uint32_t i = 0; i < m->nelems; i++) {
		const ElemSeg *s = &m->elems[i];
		if (s->mode == SEG_ACTIVE &&
		    inst->tables[s->table]->type != s->type)
			return fail(
				err, MYR_ERR_LINK, MYR_NO_OFFSET, MYR_NO_FUNC,
				"element segment %u does not fit its table", i);
	}
	return true;
}

void (*wasi_free_hook)(myr_instance *inst);

static void instance_release(myr_instance *inst)
{
	const Module *m = inst->mod;
	myr_engine *e = inst->engine;
	if (inst->wasi && wasi_free_hook)
		wasi_free_hook(inst);
	for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
		memory_release(inst->mems[i]);
	for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
		table_release(inst->tables[i]);
	if (inst->global_objs) {
		for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++)
			free(inst->global_objs[i]);
		free(inst->global_objs);
	}
	myr_func *lazy =
		atomic_load_explicit(&inst->lazy_refs, memory_order_acquire);
	if (lazy != inst->refs + m->nrefs) /* not the block's own */
		free(lazy);
	if (!inst->ex.stack_inline)
		free(inst->ex.stack);
	free(inst->ex.trap_msg);
	free(inst->ex.error);
	atomic_fetch_sub(&e->instances_live, 1);
	free_block(e, inst, inst->block_size);
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

void instance_unprepare(Module *m)
{
	myr_instance *i = m->orphans;
	while (i) {
		myr_instance *next = i->next_orphan;
		instance_release(i);
		i = next;
	}
	m->orphans = NULL;
	free(m->global_init);
	free(m->global_dynamic);
	m->global_init = NULL;
	m->global_dynamic = NULL;
}

/* Runs the start function to completion. */
static bool run_start(myr_instance *inst, myr_error *err)
{
	const Module *m = inst->mod;
	myr_func tmp;
	myr_func *fn = instance_func_or(inst, m->start, &tmp);
	return myr_func_call(fn, NULL, 0, NULL, 0, err);
}

static myr_instance *instance_new(myr_module *m, const myr_extern *imports,
				  size_t nimports, uint32_t stack_slots,
				  bool lazy, myr_error *err);

myr_instance *myr_instance_new(myr_module *m, const myr_extern *imports,
			       size_t nimports, myr_error *err)
{
	return instance_new(m, imports, nimports, 0, false, err);
}

myr_instance *instance_new_stack(myr_module *m, const myr_extern *imports,
				 size_t nimports, uint32_t stack_slots,
				 myr_error *err)
{
	return instance_new(m, imports, nimports, stack_slots, true, err);
}

static myr_instance *instance_new(myr_module *m, const myr_extern *imports,
				  size_t nimports, uint32_t stack_slots,
				  bool lazy, myr_error *err)
{
	error_clear(err);
	myr_engine *e = m->engine;
	if (nimports != m->nimports) {
		fail(err, MYR_ERR_LINK, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "the module has %u imports but %zu were given",
		     m->nimports, nimports);
		return NULL;
	}
	unsigned long live = atomic_fetch_add(&e->instances_live, 1);
	if (e->cfg.max_instances && live >= e->cfg.max_instances) {
		atomic_fetch_sub(&e->instances_live, 1);
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "too many instances (limit %llu)",
		     (unsigned long long)e->cfg.max_instances);
		return NULL;
	}
	/* A block with room for the first frame: one that outgrew the
	 * block's stack at once would move it to the heap, and carry both. */
	uint32_t stack_at = stack_offset(m, lazy);
	uint32_t size =
		lazy ? align_to(stack_at + (uint32_t)align_to(
						   (uint32_t)e->cfg
							   .initial_stack_bytes,
						   8),
				BLOCK_STEP)
		     : m->layout.size;
	uint64_t want = stack_at + (uint64_t)stack_slots * 8;
	if (want > size && want <= BLOCK_MAX)
		size = align_to((uint32_t)want, BLOCK_STEP);
	myr_instance *inst = alloc_block(e, size);
	if (!inst) {
		atomic_fetch_sub(&e->instances_live, 1);
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "out of memory for an instance of %u bytes", size);
		return NULL;
	}
	/* Everything but the stack starts zeroed. */
	memset(inst, 0, stack_at);
	inst->mod = m;
	inst->engine = e;
	inst->block_size = size;
	carve(inst, lazy);
	if (m->nglobal_imports) {
		inst->global_objs = xcalloc(m->nglobals, sizeof(myr_global *));
		if (!inst->global_objs) {
			fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			     "out of memory");
			goto fail;
		}
	}
	uint32_t idx[4] = {0};
	for (uint32_t i = 0; i < m->nimports; i++)
		if (!link_import(inst, i, &imports[i], idx, err))
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

bool myr_module_reserve(myr_module *m, uint64_t n)
{
	myr_engine *e = m->engine;
	bool ok = true;
	if (USE_BLOCK_SLAB && m->layout.size <= BLOCK_MAX)
		ok = slab_reserve(&e->blocks[m->layout.size / BLOCK_STEP - 1],
				  n);
	for (uint32_t i = m->nmem_imports; i < m->nmems && ok; i++)
		ok = memory_reserve(e, &m->mems[i], n);
	return ok;
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
	const Module *m = inst->mod;
	if (!inst->global_objs) {
		inst->global_objs = xcalloc(m->nglobals, sizeof(myr_global *));
		if (!inst->global_objs)
			return NULL;
	}
	if (inst->global_objs[idx])
		return inst->global_objs[idx];
	myr_global *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->cell = &inst->globals[idx - m->nglobal_imports];
	g->type = m->global_types[idx].type;
	g->mut = m->global_types[idx].mut;
	inst->global_objs[idx] = g;
	return g;
}

bool myr_instance_export(myr_instance *inst, const char *name, size_t name_len,
			 myr_extern *out)
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
