/*
 * Slabs: large address-space reservations carved into equal slots, so that
 * a million linear memories and instance blocks cost a few mappings, not a
 * million (vm.max_map_count is 65,530 on the machines we target).
 *
 * Two users: linear memories (slots of 4 KiB .. 256 MiB, powers of two)
 * and instance blocks (fixed sizes in 64-byte steps). Both can populate
 * their reservations in bulk, which on virtual machines costs a fraction
 * of first-touch page faults (see docs/architecture.md, "Slabs").
 */
#ifndef MYR_SLAB_H
#define MYR_SLAB_H

#include <pthread.h>
#include <stdatomic.h>

#include "util.h"

typedef struct SlabRegion SlabRegion;

typedef struct SlabClass {
	pthread_mutex_t lock;
	size_t slot_size;    /* bytes, a multiple of the OS page */
	size_t region_slots; /* slots per reservation */
	bool populate;	     /* populate in bulk as slots are handed out */
	bool zero_on_reuse;  /* memories must read as zero; blocks need not */
	SlabRegion *regions; /* oldest first */
	SlabRegion *cur;     /* the region allocations bump */
	SlabRegion *last;
	/* Freed slots: their addresses and how many bytes were dirtied. */
	void **free_slots;
	size_t *free_dirty;
	size_t nfree, cap_free;
	size_t live;
} SlabClass;

typedef struct SlabStats {
	size_t reserved;  /* bytes of address space */
	size_t populated; /* bytes populated in bulk */
	size_t regions;	  /* mappings */
	size_t live;	  /* slots in use */
} SlabStats;

/* A memory slab: one SlabClass per power-of-two slot size. */
enum { MEM_CLASS_MIN_LOG2 = 12, MEM_CLASS_MAX_LOG2 = 28 };
enum { MEM_CLASSES = MEM_CLASS_MAX_LOG2 - MEM_CLASS_MIN_LOG2 + 1 };

typedef struct MemSlab {
	SlabClass classes[MEM_CLASSES];
	/* Freed slots keep their pages for reuse unless memory is short,
	 * which is checked every SHORT_CHECK_EVERY frees. */
	atomic_uint frees;
	atomic_bool short_on_memory;
} MemSlab;

void slab_class_init(SlabClass *c, size_t slot_size, size_t region_bytes,
		     bool populate, bool zero_on_reuse);
void slab_class_destroy(SlabClass *c);
/* A slot of c->slot_size bytes (zeroed if zero_on_reuse), or NULL. */
void *slab_alloc(SlabClass *c);
/* Returns a slot; `dirty` bytes from its start may be non-zero. With
 * `release`, its pages go back to the system instead of being kept. */
void slab_free(SlabClass *c, void *slot, size_t dirty, bool release);
/* Makes sure the next n allocations find populated slots (for classes
 * that populate). Returns false if the address space ran out. */
bool slab_reserve(SlabClass *c, size_t n);
void slab_class_stats(SlabClass *c, SlabStats *out);

void mem_slab_init(MemSlab *s, size_t populate_max_slot);
/* Frees a memory slot, giving its pages back if memory is short. */
void mem_slab_free(MemSlab *s, int cls, void *slot, size_t dirty);
void mem_slab_destroy(MemSlab *s);
/* The class that holds `bytes`, or -1 if larger than the largest. */
int mem_slab_class(size_t bytes);

#endif
