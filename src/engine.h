/* The engine: configuration and the registry that gives every distinct
 * function signature one integer id, so that call_indirect compares two
 * integers whichever modules the caller and callee came from. */
#ifndef MYR_ENGINE_H
#define MYR_ENGINE_H

#include <pthread.h>

#include <stdatomic.h>

#include "slab.h"
#include "util.h"

typedef struct TypeEntry TypeEntry;

enum { BLOCK_CLASSES = 4096 / 64 };

struct myr_engine {
	myr_config cfg;
	pthread_mutex_t types_lock;
	TypeEntry **type_buckets;
	uint32_t type_nbuckets;
	uint32_t ntypes;

	/* Where linear memories and instance blocks come from. */
	MemSlab mem_slab;
	SlabClass blocks[BLOCK_CLASSES];
	atomic_ulong instances_live;
	atomic_uint large_memories;
};

/* Instance blocks come in steps of BLOCK_STEP bytes up to BLOCK_MAX; larger
 * ones are malloc'd. */
enum { BLOCK_STEP = 64, BLOCK_MAX = 4096 };

/* Returns the id of the signature (params then results, binary type
 * codes), registering it if new. Thread-safe. UINT32_MAX if out of
 * memory. */
uint32_t engine_canon_type(myr_engine *e, const uint8_t *types,
			   uint32_t nparams, uint32_t nresults);

static inline bool engine_has(const myr_engine *e, uint32_t feature)
{
	return (e->cfg.features & feature) != 0;
}

#endif
