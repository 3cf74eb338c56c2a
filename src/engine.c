/* Engine lifetime, configuration defaults and the signature registry. */
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "engine.h"

struct TypeEntry {
	TypeEntry *next;
	uint32_t id, nparams, nresults;
	uint64_t hash;
	uint8_t types[];
};

void myr_config_default(myr_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->features = MYR_FEATURES_DEFAULT;
	cfg->max_stack_bytes = 1u << 20;
	cfg->initial_stack_bytes = 256;
	cfg->max_memory_bytes = (uint64_t)1 << 32;
	cfg->max_table_elems = 10u * 1000 * 1000;
	cfg->max_instances = 0;
	cfg->max_large_memories = 4096;
	cfg->populate_max_slot = 16 * 1024;
	cfg->tier = MYR_TIER_AUTO;
	actor_config_default(cfg);
	const char *t = getenv("MYRIAD_TIER");
	if (t && *t)
		myr_tier_parse(t, &cfg->tier);
}

myr_engine *myr_engine_new(const myr_config *cfg)
{
	myr_engine *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	if (cfg)
		e->cfg = *cfg;
	else
		myr_config_default(&e->cfg);
	if (e->cfg.code_cache_dir) {
		e->cfg.code_cache_dir = strdup(e->cfg.code_cache_dir);
		if (!e->cfg.code_cache_dir) {
			free(e);
			return NULL;
		}
	}
	if (e->cfg.initial_stack_bytes < 64)
		e->cfg.initial_stack_bytes = 64;
	/* A config made without myr_config_default gets the actors'
	 * defaults for the fields it left at 0. */
	actor_config_default(&e->cfg);
	if (e->cfg.max_stack_bytes < e->cfg.initial_stack_bytes)
		e->cfg.max_stack_bytes = e->cfg.initial_stack_bytes;
	pthread_mutex_init(&e->types_lock, NULL);
	mem_slab_init(&e->mem_slab, e->cfg.populate_max_slot);
	for (int i = 0; i < BLOCK_CLASSES; i++)
		slab_class_init(&e->blocks[i], (size_t)(i + 1) * BLOCK_STEP,
				(size_t)256 << 20, e->cfg.populate_max_slot > 0,
				false);
	return e;
}

void myr_engine_free(myr_engine *e)
{
	if (!e)
		return;
	for (uint32_t b = 0; b < e->type_nbuckets; b++) {
		TypeEntry *t = e->type_buckets[b];
		while (t) {
			TypeEntry *next = t->next;
			free(t);
			t = next;
		}
	}
	free(e->type_buckets);
	pthread_mutex_destroy(&e->types_lock);
	mem_slab_destroy(&e->mem_slab);
	for (int i = 0; i < BLOCK_CLASSES; i++)
		slab_class_destroy(&e->blocks[i]);
	free((char *)e->cfg.code_cache_dir);
	free(e);
}

const myr_config *myr_engine_config(const myr_engine *e)
{
	return &e->cfg;
}

static uint64_t sig_hash(const uint8_t *types, uint32_t np, uint32_t nr)
{
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)np << 32 | nr);
	for (uint32_t i = 0; i < np + nr; i++)
		h = (h ^ types[i]) * 1099511628211ull;
	return h;
}

static bool grow_buckets(myr_engine *e)
{
	uint32_t n = e->type_nbuckets ? e->type_nbuckets * 2 : 64;
	TypeEntry **b = calloc(n, sizeof *b);
	if (!b)
		return false;
	for (uint32_t i = 0; i < e->type_nbuckets; i++) {
		TypeEntry *t = e->type_buckets[i];
		while (t) {
			TypeEntry *next = t->next;
			t->next = b[t->hash & (n - 1)];
			b[t->hash & (n - 1)] = t;
			t = next;
		}
	}
	free(e->type_buckets);
	e->type_buckets = b;
	e->type_nbuckets = n;
	return true;
}

uint32_t engine_canon_type(myr_engine *e, const uint8_t *types, uint32_t np,
			   uint32_t nr)
{
	uint64_t h = sig_hash(types, np, nr);
	uint32_t id = UINT32_MAX;
	pthread_mutex_lock(&e->types_lock);
	if (e->ntypes >= e->type_nbuckets && !grow_buckets(e))
		goto out;
	TypeEntry **head = &e->type_buckets[h & (e->type_nbuckets - 1)];
	for (TypeEntry *t = *head; t; t = t->next) {
		if (t->hash == h && t->nparams == np && t->nresults == nr &&
		    memcmp(t->types, types, np + nr) == 0) {
			id = t->id;
			goto out;
		}
	}
	TypeEntry *t = malloc(sizeof *t + np + nr);
	if (!t)
		goto out;
	t->id = e->ntypes++;
	t->nparams = np;
	t->nresults = nr;
	t->hash = h;
	memcpy(t->types, types, np + nr);
	t->next = *head;
	*head = t;
	id = t->id;
out:
	pthread_mutex_unlock(&e->types_lock);
	return id;
}
