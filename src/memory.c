/*
 * Linear memories. A memory lives in a slab slot of the smallest
 * power-of-two class that holds its maximum (when it declares a small
 * one) or its current size; memory.grow within the slot only moves the
 * size, and growing past it moves the memory to a bigger slot. Memories
 * too large for any class get a mapping of their own, reserved for their
 * maximum, and those are counted and limited. Nothing is mapped or
 * protected per memory otherwise, and there are no guard regions: every
 * access is bounds-checked by the interpreter.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "runtime.h"

static uint64_t round_up(uint64_t n, uint64_t to)
{
	return (n + to - 1) / to * to;
}

static bool place(myr_memory *m, uint64_t want, myr_error *err)
{
	myr_engine *e = m->engine;
	int cls = mem_slab_class(want);
	if (cls >= 0) {
		void *p = slab_alloc(&e->mem_slab.classes[cls]);
		if (!p)
			return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET,
				    MYR_NO_FUNC,
				    "cannot allocate a linear memory slot of "
				    "%zu bytes",
				    e->mem_slab.classes[cls].slot_size);
		m->base = p;
		m->capacity = e->mem_slab.classes[cls].slot_size;
		m->slab_class = (int8_t)cls;
		return true;
	}
	if (atomic_fetch_add(&e->large_memories, 1) >=
	    e->cfg.max_large_memories) {
		atomic_fetch_sub(&e->large_memories, 1);
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "too many large linear memories (limit %u)",
			    e->cfg.max_large_memories);
	}
	uint64_t os_page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t reserve = MAX(round_up(m->max_size, os_page), os_page);
	void *p = mmap(NULL, reserve, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		atomic_fetch_sub(&e->large_memories, 1);
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "cannot reserve %llu bytes for a linear memory",
			    (unsigned long long)reserve);
	}
	m->base = p;
	m->capacity = reserve;
	m->slab_class = -1;
	return true;
}

static void unplace(myr_memory *m)
{
	if (!m->base)
		return;
	if (m->slab_class >= 0) {
		myr_engine *e = m->engine;
		mem_slab_free(&e->mem_slab, m->slab_class, m->base, m->size);
	} else {
		munmap(m->base, m->capacity);
		atomic_fetch_sub(&m->engine->large_memories, 1);
	}
	m->base = NULL;
}

/* The bytes of slot a new memory of type t asks for: a maximum close to
 * the initial size sizes the slot, so the memory never moves; otherwise
 * the slot fits the current size and grows by moving (a million memories
 * reserving their maxima would not fit the address space). */
static uint64_t slot_bytes(const myr_engine *e, const MemType *t,
			   uint64_t *size_out, uint64_t *max_out)
{
	uint64_t page = (uint64_t)1 << t->page_log2;
	uint64_t max_pages =
		t->lim.has_max ? t->lim.max : ((uint64_t)1 << 32) / page;
	uint64_t size = t->lim.min * page;
	uint64_t max_size = MIN(max_pages * page, e->cfg.max_memory_bytes);
	if (size_out)
		*size_out = size;
	if (max_out)
		*max_out = max_size;
	return max_size <= MAX(2 * size, (uint64_t)65536) ? max_size : size;
}

bool memory_reserve(myr_engine *e, const MemType *t, uint64_t n)
{
	int cls = mem_slab_class(slot_bytes(e, t, NULL, NULL));
	if (cls < 0 || !e->mem_slab.classes[cls].populate)
		return true;
	return slab_reserve(&e->mem_slab.classes[cls], n);
}

bool memory_init_obj(myr_memory *m, myr_engine *e, const MemType *t,
		     myr_error *err)
{
	uint64_t page = (uint64_t)1 << t->page_log2;
	uint64_t limit = e->cfg.max_memory_bytes;
	uint64_t max_pages =
		t->lim.has_max ? t->lim.max : ((uint64_t)1 << 32) / page;
	uint64_t size, max_size;
	uint64_t want = slot_bytes(e, t, &size, &max_size);
	if (size > limit)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "a memory of %llu bytes exceeds the limit of %llu "
			    "bytes",
			    (unsigned long long)size,
			    (unsigned long long)limit);
	m->engine = e;
	m->size = size;
	m->max_size = max_size;
	m->page_log2 = t->page_log2;
	m->has_max = t->lim.has_max;
	m->declared_max = max_pages;
	return place(m, want, err);
}

void memory_release(myr_memory *m)
{
	unplace(m);
}

int64_t memory_grow(myr_memory *m, uint64_t delta)
{
	uint64_t old_pages = m->size >> m->page_log2;
	uint64_t max_pages = m->max_size >> m->page_log2;
	if (delta > max_pages - old_pages)
		return -1;
	uint64_t new_size = m->size + (delta << m->page_log2);
	if (new_size > m->capacity) {
		/* Move to a bigger slot (or a mapping of its own); the
		 * interpreter reloads the base after every grow. */
		myr_memory moved = *m;
		moved.base = NULL;
		if (!place(&moved, new_size, NULL))
			return -1;
		memcpy(moved.base, m->base, m->size);
		unplace(m);
		m->base = moved.base;
		m->capacity = moved.capacity;
		m->slab_class = moved.slab_class;
	}
	m->size = new_size;
	return (int64_t)old_pages;
}
