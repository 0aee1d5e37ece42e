/*
 * u64map.h - an open-addressing hash map from non-zero uint64_t keys to
 * int64_t values, for hot paths such as "address -> frame id".
 */
#ifndef PK_U64MAP_H
#define PK_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct pk_u64map {
	uint64_t *keys;   /* 0 = empty slot */
	int64_t *values;
	size_t cap;       /* power of two */
	size_t len;
};

void pk_u64map_init(struct pk_u64map *m);
void pk_u64map_release(struct pk_u64map *m);
void pk_u64map_clear(struct pk_u64map *m);
/* Value for key, or 0 when absent (so store values that are never 0). */
int64_t pk_u64map_get(const struct pk_u64map *m, uint64_t key);
/* Insert or replace.  key must not be 0. */
void pk_u64map_put(struct pk_u64map *m, uint64_t key, int64_t value);
/* Remove key (absent: nothing); its slot is free again, so a map whose
 * keys come and go (live blocks) stays as large as what is in it. */
void pk_u64map_del(struct pk_u64map *m, uint64_t key);

#endif
