/* Linear memories: address space is reserved once for the largest size a
 * memory may reach and pages are committed by the kernel on first touch,
 * so growing never moves a memory. */
#include <sys/mman.h>
#include <unistd.h>

#include "runtime.h"

static uint64_t round_up(uint64_t n, uint64_t to)
{
	return (n + to - 1) / to * to;
}

bool memory_init_obj(myr_memory *m, myr_engine *e, const MemType *t,
		     myr_error *err)
{
	uint64_t page = (uint64_t)1 << t->page_log2;
	uint64_t limit = e->cfg.max_memory_bytes;
	uint64_t max_pages = t->lim.has_max ? t->lim.max
					    : ((uint64_t)1 << 32) / page;
	uint64_t max_size = MIN(max_pages * page, limit);
	uint64_t size = t->lim.min * page;
	if (size > limit)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "memory of %llu bytes exceeds the limit of %llu "
			    "bytes (--max-memory)",
			    (unsigned long long)size,
			    (unsigned long long)limit);
	uint64_t os_page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t reserve = MAX(round_up(max_size, os_page), os_page);
	void *p = mmap(NULL, reserve, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return fail(err, MYR_ERR_RESOURCE, MYR_NO_OFFSET, MYR_NO_FUNC,
			    "cannot reserve %llu bytes for a linear memory",
			    (unsigned long long)reserve);
	m->base = p;
	m->size = size;
	m->max_size = max_size;
	m->reserved = reserve;
	m->page_log2 = t->page_log2;
	m->has_max = t->lim.has_max;
	m->declared_max = max_pages;
	m->engine = e;
	return true;
}

void memory_release(myr_memory *m)
{
	if (m->base)
		munmap(m->base, m->reserved);
	m->base = NULL;
}

int64_t memory_grow(myr_memory *m, uint64_t delta)
{
	uint64_t old_pages = m->size >> m->page_log2;
	uint64_t max_pages = m->max_size >> m->page_log2;
	if (delta > max_pages - old_pages)
		return -1;
	m->size += delta << m->page_log2;
	return (int64_t)old_pages;
}
