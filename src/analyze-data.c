/*
 * analyze-data.c - the optional evidence of "perfkit analyze":
 * allocation sites, function-probe counts and cache data, read from the
 * store when the session recorded them (perfkitd --alloc, --probe,
 * --counters / --cache-sim).  A session without them leaves the fields
 * NULL and the rules that need them stay silent.
 *
 * Each loader turns the store's own rows into the small structs of
 * analyze.h, so the rules never depend on how a section is stored.
 */
#include <stdlib.h>
#include <string.h>

#include "src/analyze.h"
#include "util.h"

int pk_evidence_load_optional(struct pk_store *st, struct pk_evidence *ev);
void pk_evidence_release_optional(struct pk_evidence *ev);

/* Allocation data: none in this store schema yet (sessions of schema
 * v2 have no allocation section). */
static int load_alloc(struct pk_store *st, struct pk_evidence *ev)
{
	(void)st;
	ev->alloc = NULL;
	return PK_STORE_OK;
}

/* Function probes: none in this store schema yet. */
static int load_probes(struct pk_store *st, struct pk_evidence *ev)
{
	(void)st;
	ev->probes = NULL;
	ev->n_probes = 0;
	return PK_STORE_OK;
}

/* Counters and cache simulation: none in this store schema yet. */
static int load_cache(struct pk_store *st, struct pk_evidence *ev)
{
	(void)st;
	ev->cache = NULL;
	ev->n_cache = 0;
	return PK_STORE_OK;
}

int pk_evidence_load_optional(struct pk_store *st, struct pk_evidence *ev)
{
	int rc;

	if ((rc = load_alloc(st, ev)) != PK_STORE_OK)
		return rc;
	if ((rc = load_probes(st, ev)) != PK_STORE_OK)
		return rc;
	return load_cache(st, ev);
}

void pk_evidence_release_optional(struct pk_evidence *ev)
{
	size_t i;

	if (ev->alloc) {
		for (i = 0; i < ev->alloc->n_sites; i++)
			free((char *)ev->alloc->sites[i].function);
		free(ev->alloc->sites);
		free(ev->alloc->timeline);
		free(ev->alloc);
		ev->alloc = NULL;
	}
	for (i = 0; i < ev->n_probes; i++)
		free((char *)ev->probes[i].function);
	free(ev->probes);
	ev->probes = NULL;
	ev->n_probes = 0;
	for (i = 0; i < ev->n_cache; i++) {
		free((char *)ev->cache[i].function);
		free((char *)ev->cache[i].source);
	}
	free(ev->cache);
	ev->cache = NULL;
	ev->n_cache = 0;
}
