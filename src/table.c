/* Tables: a growable array of references (function objects or host
 * pointers; 0 is null). */
#include "runtime.h"

bool table_init_obj(myr_table *t, const TableType *type, uint32_t limit,
		    myr_error *err)
{
	uint64_t max = type->lim.has_max ? type->lim.max : UINT32_MAX;
	if (type->lim.min > limit)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "table of %llu elements exceeds the limit of %u",
			    (unsigned long long)type->lim.min, limit);
	t->size = (uint32_t)type->lim.min;
	t->max = (uint32_t)MIN(max, limit);
	t->cap = t->size;
	t->has_max = type->lim.has_max;
	t->declared_max = (uint32_t)max;
	t->type = type->elem;
	t->elems = xcalloc(t->cap ? t->cap : 1, sizeof *t->elems);
	if (!t->elems)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "out of memory for a table of %u elements",
			    t->size);
	return true;
}

void table_release(myr_table *t)
{
	free(t->elems);
	t->elems = NULL;
}

int64_t table_grow(myr_table *t, uint32_t delta, uint64_t init)
{
	uint32_t old = t->size;
	if (delta > t->max - old)
		return -1;
	uint32_t n = old + delta;
	if (n > t->cap) {
		uint64_t cap = MAX((uint64_t)n, (uint64_t)t->cap * 2);
		cap = MIN(cap, (uint64_t)t->max);
		uint64_t *e = xrealloc_array(t->elems, cap, sizeof *e);
		if (!e)
			return -1;
		t->elems = e;
		t->cap = (uint32_t)cap;
	}
	for (uint32_t i = old; i < n; i++)
		t->elems[i] = init;
	t->size = n;
	return old;
}
