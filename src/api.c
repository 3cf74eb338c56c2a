/*
 * The public API that is not instantiation: modules, host objects, calls
 * and pausable runs.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "runtime.h"
#include "tier.h"

/* ------------------------------------------------------------------ */
/* Modules                                                             */

/* Public copies of the function types (myr_valtype is wider than the
 * byte encoding), built once per module. */
static bool build_pub_types(Module *m)
{
	size_t total = 0;
	for (uint32_t i = 0; i < m->ntypes; i++)
		total += m->types[i].nparams + m->types[i].nresults;
	m->pub_types = xcalloc(m->ntypes, sizeof *m->pub_types);
	m->pub_valtypes = xcalloc(total, sizeof *m->pub_valtypes);
	if (!m->pub_types || !m->pub_valtypes)
		return false;
	myr_valtype *p = m->pub_valtypes;
	for (uint32_t i = 0; i < m->ntypes; i++) {
		const FuncType *t = &m->types[i];
		m->pub_types[i] = (myr_functype){.nparams = t->nparams,
						 .nresults = t->nresults,
						 .params = p,
						 .results = p + t->nparams};
		for (uint32_t k = 0; k < t->nparams + t->nresults; k++)
			*p++ = (myr_valtype)t->types[k];
	}
	return true;
}

myr_module *myr_module_new(myr_engine *engine, const uint8_t *bytes, size_t len,
			   myr_error *err)
{
	return myr_module_new_with_code(engine, bytes, len, NULL, 0, err);
}

myr_module *myr_module_new_with_code(myr_engine *engine, const uint8_t *bytes,
				     size_t len, const uint8_t *code,
				     size_t code_len, myr_error *err)
{
	error_clear(err);
	Module *m = calloc(1, sizeof *m);
	if (!m) {
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "out of memory");
		return NULL;
	}
	m->engine = engine;
	m->len = len;
	m->bytes = malloc(len ? len : 1);
	if (!m->bytes) {
		free(m);
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "out of memory for a module of %zu bytes", len);
		return NULL;
	}
	if (len)
		memcpy(m->bytes, bytes, len);
	if (!decode_module(m, err) || !compile_module(m, err) ||
	    !instance_prepare(m, err)) {
		myr_module_free(m);
		return NULL;
	}
	if (!build_pub_types(m)) {
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "out of memory");
		myr_module_free(m);
		return NULL;
	}
	if (!tier_module_start(m, code, code_len, err)) {
		myr_module_free(m);
		return NULL;
	}
	return m;
}

void myr_module_free(myr_module *m)
{
	if (!m)
		return;
	tier_module_stop(m);
	instance_unprepare(m);
	compile_release(m);
	module_release(m);
	free(m->pub_types);
	free(m->pub_valtypes);
	free(m->bytes);
	free(m);
}

uint64_t myr_module_instance_size(const myr_module *m, uint64_t *memory_bytes)
{
	if (memory_bytes) {
		*memory_bytes = 0;
		for (uint32_t i = m->nmem_imports; i < m->nmems; i++)
			*memory_bytes += m->mems[i].lim.min
					 << m->mems[i].page_log2;
	}
	return m->layout.size;
}

size_t myr_module_import_count(const myr_module *m)
{
	return m->nimports;
}

size_t myr_module_export_count(const myr_module *m)
{
	return m->nexports;
}

static void describe(const Module *m, ExternKind kind, uint32_t index,
		     const Import *im, myr_externdesc *out)
{
	out->kind = (myr_externkind)kind;
	switch (kind) {
	case EXT_FUNC:
		out->func = m->pub_types[im ? im->u.type_idx
					    : m->func_types[index]];
		break;
	case EXT_TABLE: {
		const TableType *t = im ? &im->u.table : &m->tables[index];
		out->elem = (myr_valtype)t->elem;
		out->limits =
			(myr_limits){t->lim.min, t->lim.max, t->lim.has_max};
		break;
	}
	case EXT_MEMORY: {
		const MemType *t = im ? &im->u.mem : &m->mems[index];
		out->limits =
			(myr_limits){t->lim.min, t->lim.max, t->lim.has_max};
		out->page_size = 1u << t->page_log2;
		break;
	}
	case EXT_GLOBAL: {
		const GlobalType *t =
			im ? &im->u.global : &m->global_types[index];
		out->global_type = (myr_valtype)t->type;
		out->global_mutable = t->mut;
		break;
	}
	}
}

bool myr_module_import(const myr_module *m, size_t i, myr_externdesc *out)
{
	if (i >= m->nimports)
		return false;
	const Import *im = &m->imports[i];
	memset(out, 0, sizeof *out);
	out->module = im->module.s;
	out->module_len = im->module.len;
	out->name = im->name.s;
	out->name_len = im->name.len;
	describe(m, im->kind, 0, im, out);
	return true;
}

bool myr_module_export(const myr_module *m, size_t i, myr_externdesc *out)
{
	if (i >= m->nexports)
		return false;
	const Export *e = &m->exports[i];
	memset(out, 0, sizeof *out);
	out->name = e->name.s;
	out->name_len = e->name.len;
	describe(m, e->kind, e->index, NULL, out);
	return true;
}

/* ------------------------------------------------------------------ */
/* Host objects                                                        */

static bool valtype_ok(myr_valtype t)
{
	return t == MYR_I32 || t == MYR_I64 || t == MYR_F32 || t == MYR_F64 ||
	       t == MYR_FUNCREF || t == MYR_EXTERNREF;
}

static HostFunc *host_func_alloc(myr_engine *engine, uint32_t np,
				 const myr_valtype *params, uint32_t nr,
				 const myr_valtype *results)
{
	HostFunc *h =
		calloc(1, sizeof *h + (np + nr) * (1 + sizeof(myr_valtype)));
	if (!h)
		return NULL;
	myr_valtype *pub = (myr_valtype *)(h + 1);
	ValType *bytes = (ValType *)(pub + np + nr);
	for (uint32_t i = 0; i < np; i++) {
		if (!valtype_ok(params[i]))
			goto bad;
		pub[i] = params[i];
		bytes[i] = (ValType)params[i];
	}
	for (uint32_t i = 0; i < nr; i++) {
		if (!valtype_ok(results[i]))
			goto bad;
		pub[np + i] = results[i];
		bytes[np + i] = (ValType)results[i];
	}
	h->type = (FuncType){.nparams = np, .nresults = nr, .types = bytes};
	h->type.canon = engine_canon_type(engine, bytes, np, nr);
	if (h->type.canon == UINT32_MAX)
		goto bad;
	h->pub_type = (myr_functype){np, nr, pub, pub + np};
	h->base = (myr_func){
		.kind = FUNC_HOST, .canon = h->type.canon, .type = &h->type};
	return h;
bad:
	free(h);
	return NULL;
}

myr_func *myr_func_new(myr_engine *engine, const myr_functype *type,
		       myr_host_fn fn, void *env, void (*env_free)(void *))
{
	if (!fn || !type)
		return NULL;
	HostFunc *h = host_func_alloc(engine, type->nparams, type->params,
				      type->nresults, type->results);
	if (!h)
		return NULL;
	h->fn = fn;
	h->env = env;
	h->env_free = env_free;
	return &h->base;
}

myr_func *host_func_new_raw(myr_engine *engine, const ValType *types,
			    uint32_t np, uint32_t nr, RawHostFn fn, void *env)
{
	myr_valtype pub[64];
	if (np + nr > COUNT_OF(pub))
		return NULL;
	for (uint32_t i = 0; i < np + nr; i++)
		pub[i] = (myr_valtype)types[i];
	HostFunc *h = host_func_alloc(engine, np, pub, nr, pub + np);
	if (!h)
		return NULL;
	h->base.kind = FUNC_RAW_HOST;
	h->raw = fn;
	h->env = env;
	return &h->base;
}

void myr_func_free(myr_func *f)
{
	if (!f || f->kind == FUNC_WASM)
		return;
	HostFunc *h = (HostFunc *)f;
	if (h->env_free)
		h->env_free(h->env);
	free(h);
}

const myr_functype *myr_func_type(const myr_func *f)
{
	if (f->kind != FUNC_WASM)
		return &((const HostFunc *)f)->pub_type;
	const Module *m = f->inst->mod;
	return &m->pub_types[f->def->type_idx];
}

myr_instance *myr_caller_instance(myr_caller *caller)
{
	return caller ? ((Exec *)caller)->inst : NULL;
}

myr_memory *myr_caller_memory(myr_caller *caller)
{
	return caller ? ((Exec *)caller)->mem : NULL;
}

myr_hostret myr_caller_trap(myr_caller *caller, const char *msg)
{
	if (caller) {
		exec_set_trap_msg((Exec *)caller, MYR_TRAP_HOST,
				  msg ? msg : "host trap");
	}
	return MYR_HOST_TRAP;
}

myr_hostret myr_caller_exit(myr_caller *caller, int code)
{
	if (caller) {
		Exec *ex = (Exec *)caller;
		exec_set_trap_msg(ex, MYR_TRAP_EXIT, NULL);
		ex->exit_code = code;
	}
	return MYR_HOST_TRAP;
}

myr_hostret myr_caller_yield(myr_caller *caller)
{
	(void)caller;
	return MYR_HOST_YIELD;
}

bool myr_caller_resumed(myr_caller *caller)
{
	return caller && ((Exec *)caller)->resumed;
}

myr_hostret myr_caller_block(myr_caller *caller, uint64_t wake_at_ns)
{
	if (caller)
		((Exec *)caller)->wake_at = wake_at_ns;
	return MYR_HOST_BLOCK;
}

myr_global *myr_global_new(myr_engine *engine, myr_valtype type, bool mutable_,
			   myr_val init)
{
	(void)engine;
	if (!valtype_ok(type) || init.type != type)
		return NULL;
	myr_global *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->cell = &g->own;
	g->type = (ValType)type;
	g->mut = mutable_;
	g->owned_by_host = true;
	g->own = exec_val_to_slot(&init);
	return g;
}

void myr_global_free(myr_global *g)
{
	if (g && g->owned_by_host)
		free(g);
}

myr_val myr_global_get(const myr_global *g)
{
	myr_val v;
	exec_slot_to_val(g->type, *g->cell, &v);
	return v;
}

bool myr_global_set(myr_global *g, myr_val v)
{
	if (!g->mut || (ValType)v.type != g->type)
		return false;
	*g->cell = exec_val_to_slot(&v);
	return true;
}

myr_valtype myr_global_type(const myr_global *g, bool *mutable_)
{
	if (mutable_)
		*mutable_ = g->mut;
	return (myr_valtype)g->type;
}

myr_table *myr_table_new(myr_engine *engine, myr_valtype elem,
			 myr_limits limits, myr_error *err)
{
	error_clear(err);
	if (elem != MYR_FUNCREF && elem != MYR_EXTERNREF) {
		fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "a table holds funcref or externref");
		return NULL;
	}
	myr_table *t = calloc(1, sizeof *t);
	TableType tt = {.elem = (ValType)elem,
			.lim = {limits.min, limits.max, limits.has_max}};
	if (!t)
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "out of memory");
	if (!t || !table_init_obj(t, &tt, engine->cfg.max_table_elems, err)) {
		free(t);
		return NULL;
	}
	t->owned_by_host = true;
	return t;
}

void myr_table_free(myr_table *t)
{
	if (t && t->owned_by_host) {
		table_release(t);
		free(t);
	}
}

uint32_t myr_table_size(const myr_table *t)
{
	return t->size;
}

bool myr_table_get(const myr_table *t, uint32_t i, myr_val *out)
{
	if (i >= t->size)
		return false;
	exec_slot_to_val(t->type, t->elems[i], out);
	return true;
}

bool myr_table_set(myr_table *t, uint32_t i, myr_val v)
{
	if (i >= t->size || (ValType)v.type != t->type)
		return false;
	t->elems[i] = exec_val_to_slot(&v);
	return true;
}

myr_memory *myr_memory_new(myr_engine *engine, myr_limits limits,
			   uint32_t page_size, myr_error *err)
{
	error_clear(err);
	if (page_size != 1 && page_size != 65536) {
		fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "page size must be 1 or 65536, not %u", page_size);
		return NULL;
	}
	MemType mt = {.lim = {limits.min, limits.max, limits.has_max},
		      .page_log2 = page_size == 1 ? 0 : 16};
	myr_memory *m = calloc(1, sizeof *m);
	if (!m)
		fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
		     "out of memory");
	if (!m || !memory_init_obj(m, engine, &mt, err)) {
		free(m);
		return NULL;
	}
	m->owned_by_host = true;
	return m;
}

void myr_memory_free(myr_memory *m)
{
	if (m && m->owned_by_host) {
		memory_release(m);
		free(m);
	}
}

uint8_t *myr_memory_data(myr_memory *m)
{
	return m->base;
}

uint64_t myr_memory_size(const myr_memory *m)
{
	return m->size;
}

uint32_t myr_memory_page_size(const myr_memory *m)
{
	return 1u << m->page_log2;
}

int64_t myr_memory_grow(myr_memory *m, uint64_t delta)
{
	return memory_grow(m, delta);
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */

static bool check_args(const FuncType *t, const myr_val *args, size_t nargs,
		       myr_error *err)
{
	if (nargs != t->nparams)
		return fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "the function takes %u arguments, %zu given",
			    t->nparams, nargs);
	for (uint32_t i = 0; i < t->nparams; i++)
		if ((ValType)args[i].type != ft_params(t)[i])
			return fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET,
				    MYR_NO_FUNC,
				    "argument %u has the wrong type", i);
	return true;
}

/* Puts the arguments on ex's stack and prepares the bottom frame. */
static bool start_on(Exec *ex, const myr_func *f, const myr_val *args,
		     myr_error *err)
{
	const Func *def = f->def;
	size_t need = MAX(def->frame_slots, def->nresults);
	ex->stack_nomem = false;
	if ((size_t)(ex->stack_end - ex->stack) < need &&
	    !exec_grow_stack(ex, ex->stack, need)) {
		if (ex->stack_nomem)
			return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET,
				    MYR_NO_FUNC,
				    "out of memory for the value stack");
		return fail(err, MYR_ERR_TRAP, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "call stack exhausted");
	}
	for (uint32_t i = 0; i < def->nparams; i++)
		ex->stack[i] = exec_val_to_slot(&args[i]);
	if (!exec_prepare_call(ex, def, f->inst))
		return fail(err, MYR_ERR_TRAP, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "call stack exhausted");
	ex->call_type = f->type;
	ex->status = MYR_STATUS_READY;
	ex->wake_at = 0;
	atomic_store(&ex->wake, WAKE_NONE);
	return true;
}

static void copy_results(const Exec *ex, myr_val *results, size_t n)
{
	const FuncType *t = ex->call_type;
	for (size_t i = 0; i < n && i < t->nresults; i++)
		exec_slot_to_val(ft_results(t)[i], ex->stack[i], &results[i]);
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Without a scheduler, a blocked call makes this thread wait: until the
 * wake time, or until myr_instance_wake. */
static void wait_blocked(Exec *ex)
{
	unsigned char expect = WAKE_NONE;
	atomic_compare_exchange_strong(&ex->wake, &expect, WAKE_PARKED);
	while (atomic_load(&ex->wake) == WAKE_PARKED) {
		uint64_t now = mono_ns(), nap_ns = 100 * 1000;
		if (ex->wake_at) {
			if (now >= ex->wake_at)
				break;
			nap_ns = MIN(nap_ns, ex->wake_at - now);
		}
		struct timespec nap = {0, (long)nap_ns};
		nanosleep(&nap, NULL);
	}
	atomic_store(&ex->wake, WAKE_NONE);
	ex->resumed = true;
}

/* How a run that did not return ended: an exit (proc_exit) is the
 * program's own way to finish, and embedders count it apart from traps. */
myr_status ended_status(const Exec *ex)
{
	return ex->trap == MYR_TRAP_EXIT ? MYR_STATUS_EXITED
					 : MYR_STATUS_TRAPPED;
}

bool myr_instance_exit_code(const myr_instance *inst, int *code)
{
	if (inst->ex.status != MYR_STATUS_EXITED)
		return false;
	if (code)
		*code = inst->ex.exit_code;
	return true;
}

/* Runs ex until it finishes: pauses (never with unlimited fuel) and yields
 * resume at once, blocks after waiting. */
static int run_to_end(Exec *ex)
{
	int rc;
	ex->running = true;
	const Module *m = ex->inst->mod;
	for (;;) {
		/* While machine code may still come, the run pauses now and
		 * then so that it can move to it. */
		rc = exec_run(ex,
			      tier_pending(m) ? (int64_t)1 << 22 : INT64_MAX);
		if (rc == RUN_OUT_OF_FUEL || rc == RUN_YIELD)
			continue;
		if (rc != RUN_BLOCKED)
			break;
		ex->running = false;
		wait_blocked(ex);
		ex->running = true;
	}
	ex->running = false;
	return rc;
}

bool myr_func_call(myr_func *f, const myr_val *args, size_t nargs,
		   myr_val *results, size_t nresults, myr_error *err)
{
	error_clear(err);
	const FuncType *t = f->type;
	if (!check_args(t, args, nargs, err))
		return false;
	if (nresults < t->nresults && t->nresults)
		return fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "the function returns %u results, room for %zu",
			    t->nresults, nresults);
	if (f->kind != FUNC_WASM) {
		/* A direct call of a host function. */
		const HostFunc *h = (const HostFunc *)f;
		Exec tmp = {0};
		myr_hostret r;
		if (h->raw) {
			uint64_t slots[64] = {0};
			if (t->nparams > 64 || t->nresults > 64)
				return fail(err, MYR_ERR_ARGUMENT,
					    MYR_NO_OFFSET, MYR_NO_FUNC,
					    "too many values");
			for (uint32_t i = 0; i < t->nparams; i++)
				slots[i] = exec_val_to_slot(&args[i]);
			r = h->raw(&tmp, h->env, slots);
			if (r == MYR_HOST_YIELD) /* no slice to end */
				r = MYR_HOST_OK;
			if (r == MYR_HOST_OK)
				for (uint32_t i = 0; i < t->nresults; i++)
					exec_slot_to_val(ft_results(t)[i],
							 slots[i], &results[i]);
		} else {
			/* As a call from wasm would give them (interp.c). */
			for (uint32_t i = 0; i < t->nresults; i++) {
				results[i].type = (myr_valtype)ft_results(t)[i];
				results[i].of.i64 = 0;
			}
			r = h->fn((myr_caller *)&tmp, h->env, args, results);
			if (r == MYR_HOST_YIELD)
				r = MYR_HOST_OK;
		}
		if (r != MYR_HOST_OK) {
			if (err && tmp.trap != MYR_TRAP_NONE)
				exec_error(&tmp, err);
			else
				fail(err, MYR_ERR_TRAP, MYR_NO_OFFSET,
				     MYR_NO_FUNC, "host function trapped");
			if (err && err->trap == MYR_TRAP_NONE)
				err->trap = MYR_TRAP_HOST;
			free(tmp.trap_msg);
			return false;
		}
		return true;
	}
	/* A call made while the instance is already running (from a host
	 * function it called) gets a stack of its own. */
	Exec *ex = &f->inst->ex;
	Exec nested = {0};
	bool is_nested = ex->running;
	if (is_nested) {
		size_t slots = f->inst->engine->cfg.initial_stack_bytes / 8;
		nested.stack = xcalloc(slots, sizeof(uint64_t));
		if (!nested.stack)
			return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET,
				    MYR_NO_FUNC, "out of memory");
		nested.stack_end = nested.stack + slots;
		nested.max_slots = ex->max_slots;
		ex = &nested;
	}
	bool ok = start_on(ex, f, args, err);
	if (ok) {
		int rc = run_to_end(ex);
		if (rc == RUN_DONE) {
			copy_results(ex, results, nresults);
			ex->status = MYR_STATUS_DONE;
		} else {
			if (err)
				exec_error(ex, err);
			ex->status = ended_status(ex);
			ok = false;
		}
	}
	if (is_nested) {
		free(nested.stack);
		free(nested.trap_msg);
	}
	return ok;
}

/* ------------------------------------------------------------------ */
/* Pausable runs                                                       */

bool myr_instance_start(myr_instance *inst, myr_func *f, const myr_val *args,
			size_t nargs, myr_error *err)
{
	error_clear(err);
	if (f->kind != FUNC_WASM)
		return fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "only wasm functions can be started");
	if (inst->ex.running)
		return fail(err, MYR_ERR_ARGUMENT, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "the instance is running");
	if (!check_args(f->type, args, nargs, err))
		return false;
	return start_on(&inst->ex, f, args, err);
}

myr_status myr_instance_run(myr_instance *inst, int64_t fuel)
{
	Exec *ex = &inst->ex;
	if (ex->status == MYR_STATUS_BLOCKED) {
		bool due = atomic_load(&ex->wake) == WAKE_EARLY ||
			   (ex->wake_at && mono_ns() >= ex->wake_at);
		if (!due)
			return MYR_STATUS_BLOCKED;
		atomic_store(&ex->wake, WAKE_NONE);
		ex->status = MYR_STATUS_READY;
		ex->resumed = true;
	}
	if (ex->status != MYR_STATUS_READY || ex->running)
		return (myr_status)ex->status;
	ex->running = true;
	int rc = exec_run(ex, fuel);
	ex->running = false;
	if (rc == RUN_DONE)
		ex->status = MYR_STATUS_DONE;
	else if (rc == RUN_TRAP)
		ex->status = ended_status(ex);
	else if (rc == RUN_BLOCKED) {
		/* A wake that came during the call counts now. */
		unsigned char expect = WAKE_EARLY;
		ex->status = MYR_STATUS_BLOCKED;
		if (!atomic_compare_exchange_strong(&ex->wake, &expect,
						    WAKE_EARLY))
			atomic_store(&ex->wake, WAKE_NONE);
	}
	return (myr_status)ex->status;
}

void myr_instance_wake(myr_instance *inst)
{
	Exec *ex = &inst->ex;
	unsigned char prev = atomic_exchange(&ex->wake, WAKE_EARLY);
	if (prev == WAKE_PARKED && inst->sched)
		sched_wake(inst->sched, inst);
	else if (prev == WAKE_TIMED && inst->sched)
		sched_wake_timed(inst->sched, inst);
}

myr_status myr_instance_status(const myr_instance *inst)
{
	return (myr_status)inst->ex.status;
}

size_t myr_instance_results(const myr_instance *inst, myr_val *results,
			    size_t n)
{
	const Exec *ex = &inst->ex;
	if (ex->status != MYR_STATUS_DONE || !ex->call_type)
		return 0;
	copy_results(ex, results, n);
	return ex->call_type->nresults;
}

int64_t myr_instance_fuel_left(const myr_instance *inst)
{
	return inst->ex.fuel_left;
}

uint64_t myr_instance_wake_at(const myr_instance *inst)
{
	return inst->ex.status == MYR_STATUS_BLOCKED ? inst->ex.wake_at : 0;
}

const myr_error *myr_instance_error(const myr_instance *inst)
{
	Exec *ex = (Exec *)&inst->ex;
	/* Without memory for the instance's own copy the error is built in
	 * one of the thread's, so callers never get NULL. */
	static _Thread_local myr_error spare;
	myr_error *out = ex->error;
	if (!out)
		out = ex->error = malloc(sizeof *ex->error);
	if (!out)
		out = &spare;
	if (ex->status == MYR_STATUS_TRAPPED || ex->status == MYR_STATUS_EXITED)
		exec_error(ex, out);
	else
		error_clear(out);
	return out;
}
