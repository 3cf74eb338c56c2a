/* Slab reservations carved into slots; see slab.h. */
#include <sys/mman.h>
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

static SlabRegion *new_region(SlabClass *c)
{
	SlabRegion *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	size_t bytes = c->region_slots * c->slot_size;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		free(r);
		return NULL;
	}
	r->base = p;
	r->nslots = c->region_slots;
	r->next = c->regions;
	c->regions = r;
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
	r->populated = to;
}

void *slab_alloc(SlabClass *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->nfree) {
		c->nfree--;
		void *slot = c->free_slots[c->nfree];
		size_t dirty = c->free_dirty[c->nfree];
		c->free_dirty_total -= dirty;
		c->live++;
		pthread_mutex_unlock(&c->lock);
		/* Zeroing what the last user touched is cheaper than
		 * faulting the pages back in. */
		if (c->zero_on_reuse && dirty)
			memset(slot, 0, dirty);
		return slot;
	}
	SlabRegion *r = c->regions;
	if ((!r || r->bump == r->nslots) && !(r = new_region(c))) {
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	uint8_t *slot = r->base + r->bump * c->slot_size;
	r->bump++;
	populate_to(c, r, r->bump * c->slot_size);
	c->live++;
	pthread_mutex_unlock(&c->lock);
	return slot;
}

void slab_free(SlabClass *c, void *slot, size_t dirty, size_t dirty_keep)
{
	dirty = MIN(round_up(dirty, os_page()), c->slot_size);
	pthread_mutex_lock(&c->lock);
	c->live--;
	if (c->zero_on_reuse && dirty &&
	    c->free_dirty_total + dirty > dirty_keep) {
		/* Enough freed memory is kept committed: give this back. */
		madvise(slot, dirty, MADV_DONTNEED);
		dirty = 0;
	}
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
			if (c->zero_on_reuse)
				madvise(slot, c->slot_size, MADV_DONTNEED);
			pthread_mutex_unlock(&c->lock);
			return;
		}
		c->cap_free = cap;
	}
	c->free_slots[c->nfree] = slot;
	c->free_dirty[c->nfree] = dirty;
	c->nfree++;
	c->free_dirty_total += dirty;
	pthread_mutex_unlock(&c->lock);
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
	s->dirty_keep = (size_t)64 << 20;
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
