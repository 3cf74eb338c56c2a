/* Slab reservations carved into slots; see slab.h. */
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "slab.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct SlabRegion {
	SlabRegion *next;
	uint8_t *base;
	size_t nslots, bump;
	size_t populated; /* bytes from base */
};

/* Bulk population runs ahead of the bump pointer by this much: large
 * enough to amortize the call, small enough not to inflate RSS much. */
#define POPULATE_CHUNK ((size_t)2 << 20)

static size_t os_page(void)
{
	static size_t page;
	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

void slab_class_init(SlabClass *c, size_t slot_size, size_t region_bytes,
		     bool populate, bool zero_on_reuse)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->lock, NULL);
	c->slot_size = slot_size;
	c->region_slots = MAX(region_bytes / slot_size, (size_t)1);
	c->populate = populate;
	c->zero_on_reuse = zero_on_reuse;
}

void slab_class_destroy(SlabClass *c)
{
	SlabRegion *r = c->regions;
	while (r) {
		SlabRegion *next = r->next;
		munmap(r->base, r->nslots * c->slot_size);
		free(r);
		r = next;
	}
	free(c->free_slots);
	free(c->free_dirty);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof *c);
}

/* Appends a reservation of region_slots slots. */
static SlabRegion *new_region(SlabClass *c)
{
	SlabRegion *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	/* Regions start on a 2 MiB boundary, the unit populated in bulk. */
	size_t bytes = c->region_slots * c->slot_size;
	size_t slack = POPULATE_CHUNK;
	uint8_t *p = mmap(NULL, bytes + slack, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		free(r);
		return NULL;
	}
	uint8_t *base = (uint8_t *)round_up((size_t)(uintptr_t)p, slack);
	if (base > p)
		munmap(p, (size_t)(base - p));
	if (base + bytes < p + bytes + slack)
		munmap(base + bytes,
		       (size_t)(p + bytes + slack - (base + bytes)));
	/* No transparent huge pages, even where THP is "always": with them
	 * the 100K-instance demo's slice p99 went from 1.5 to 16 us (spawn
	 * from 410 to 240 ns), measured side by side; see
	 * docs/architecture.md, "Slabs". */
	madvise(base, bytes, MADV_NOHUGEPAGE);
	r->base = base;
	r->nslots = c->region_slots;
	if (c->last)
		c->last->next = r;
	else
		c->regions = r;
	c->last = r;
	if (!c->cur)
		c->cur = r;
	return r;
}

/* Populates ahead so that the slot ending at `end` is backed. */
static void populate_to(SlabClass *c, SlabRegion *r, size_t end)
{
	if (!c->populate || end <= r->populated)
		return;
	size_t total = r->nslots * c->slot_size;
	size_t to = MIN(round_up(end, POPULATE_CHUNK), total);
	if (madvise(r->base + r->populated, to - r->populated,
		    MADV_POPULATE_WRITE) != 0) {
		/* Old kernels lack it: faults then happen on first touch. */
		c->populate = false;
		return;
	}
	/* Under a hypervisor the guest's page tables are now filled, but
	 * the host may still back each page only on its first access: touch
	 * them here, in bulk, rather than inside an instance's time slice. */
	for (size_t off = r->populated; off < to; off += os_page())
		((volatile uint8_t *)r->base)[off] = 0;
	r->populated = to;
}

void *slab_alloc(SlabClass *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->nfree) {
		c->nfree--;
		void *slot = c->free_slots[c->nfree];
		size_t dirty = c->free_dirty[c->nfree];
		c->live++;
		pthread_mutex_unlock(&c->lock);
		/* Zeroing what the last user touched is cheaper than
		 * faulting the pages back in. */
		if (c->zero_on_reuse && dirty)
			memset(slot, 0, dirty);
		return slot;
	}
	SlabRegion *r = c->cur;
	while (r && r->bump == r->nslots)
		r = r->next;
	if (!r && !(r = new_region(c))) {
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	c->cur = r;
	uint8_t *slot = r->base + r->bump * c->slot_size;
	r->bump++;
	populate_to(c, r, r->bump * c->slot_size);
	c->live++;
	pthread_mutex_unlock(&c->lock);
	return slot;
}

void slab_free(SlabClass *c, void *slot, size_t dirty, bool release)
{
	dirty = MIN(round_up(dirty, os_page()), c->slot_size);
	if (release && dirty) {
		/* Outside the lock: this flushes other CPUs' TLBs. */
		madvise(slot, dirty, MADV_DONTNEED);
		dirty = 0;
	}
	pthread_mutex_lock(&c->lock);
	c->live--;
	if (c->nfree == c->cap_free) {
		size_t cap = c->cap_free ? c->cap_free * 2 : 256;
		void **s = xrealloc_array(c->free_slots, cap, sizeof *s);
		if (s)
			c->free_slots = s;
		size_t *d = xrealloc_array(c->free_dirty, cap, sizeof *d);
		if (d)
			c->free_dirty = d;
		if (!s || !d) {
			/* The slot is lost to reuse; its pages go back. */
			pthread_mutex_unlock(&c->lock);
			if (c->zero_on_reuse)
				madvise(slot, c->slot_size, MADV_DONTNEED);
			return;
		}
		c->cap_free = cap;
	}
	c->free_slots[c->nfree] = slot;
	c->free_dirty[c->nfree] = dirty;
	c->nfree++;
	pthread_mutex_unlock(&c->lock);
}

bool slab_reserve(SlabClass *c, size_t n)
{
	pthread_mutex_lock(&c->lock);
	/* Freed slots come first and are committed already; then slots are
	 * bumped from the current region onwards. */
	size_t need = n > c->nfree ? n - c->nfree : 0;
	bool ok = true;
	SlabRegion *r = c->cur;
	while (need) {
		if (!r && !(r = new_region(c))) {
			ok = false;
			break;
		}
		size_t take = MIN(need, r->nslots - r->bump);
		populate_to(c, r, (r->bump + take) * c->slot_size);
		need -= take;
		r = r->next;
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

void slab_class_stats(SlabClass *c, SlabStats *out)
{
	pthread_mutex_lock(&c->lock);
	for (SlabRegion *r = c->regions; r; r = r->next) {
		out->reserved += r->nslots * c->slot_size;
		out->populated += r->populated;
		out->regions++;
	}
	out->live += c->live;
	pthread_mutex_unlock(&c->lock);
}

void mem_slab_init(MemSlab *s, size_t populate_max_slot)
{
	for (int i = 0; i < MEM_CLASSES; i++) {
		size_t slot = (size_t)1 << (MEM_CLASS_MIN_LOG2 + i);
		/* 1 GiB reservations: 65,536 slots of 16 KiB per mapping. */
		size_t region = MAX(slot, (size_t)1 << 30);
		slab_class_init(&s->classes[i], slot, region,
				slot <= populate_max_slot, true);
	}
	atomic_store(&s->frees, 0);
	atomic_store(&s->short_on_memory, false);
}

enum { SHORT_CHECK_EVERY = 1024 };

void mem_slab_free(MemSlab *s, int cls, void *slot, size_t dirty)
{
	/* "Short" is less than an eighth of RAM free: then freed pages go
	 * back, otherwise they wait, committed, for the next instance. */
	if (atomic_fetch_add_explicit(&s->frees, 1, memory_order_relaxed) %
		    SHORT_CHECK_EVERY ==
	    0) {
		struct sysinfo si;
		if (sysinfo(&si) == 0)
			atomic_store(&s->short_on_memory,
				     (uint64_t)si.freeram * si.mem_unit <
					     (uint64_t)si.totalram *
						     si.mem_unit / 8);
	}
	slab_free(&s->classes[cls], slot, dirty,
		  atomic_load_explicit(&s->short_on_memory,
				       memory_order_relaxed));
}

void mem_slab_destroy(MemSlab *s)
{
	for (int i = 0; i < MEM_CLASSES; i++)
		slab_class_destroy(&s->classes[i]);
}

int mem_slab_class(size_t bytes)
{
	for (int i = 0; i < MEM_CLASSES; i++)
		if (bytes <= (size_t)1 << (MEM_CLASS_MIN_LOG2 + i))
			return i;
	return -1;
}
