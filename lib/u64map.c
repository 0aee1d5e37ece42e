/*
 * u64map.c - open-addressing hash map (see u64map.h).
 */
#include <stdlib.h>
#include <string.h>

#include "u64map.h"
#include "util.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

void pk_u64map_init(struct pk_u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void pk_u64map_release(struct pk_u64map *m)
{
	if (!m)
		return;
	free(m->keys);
	free(m->values);
	memset(m, 0, sizeof(*m));
}

void pk_u64map_clear(struct pk_u64map *m)
{
	if (m->keys)
		memset(m->keys, 0, m->cap * sizeof(*m->keys));
	m->len = 0;
}

int64_t pk_u64map_get(const struct pk_u64map *m, uint64_t key)
{
	size_t i;

	if (!m->cap || !key)
		return 0;
	for (i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return m->values[i];
		if (!m->keys[i])
			return 0;
	}
}

static void insert(uint64_t *keys, int64_t *values, size_t cap, uint64_t key, int64_t value)
{
	size_t i;

	for (i = slot_of(key, cap); keys[i] && keys[i] != key; i = (i + 1) & (cap - 1))
		;
	keys[i] = key;
	values[i] = value;
}

void pk_u64map_put(struct pk_u64map *m, uint64_t key, int64_t value)
{
	if ((m->len + 1) * 4 >= m->cap * 3) {
		size_t cap = m->cap ? m->cap * 2 : 256, i;
		uint64_t *keys = pk_xcalloc(cap, sizeof(*keys));
		int64_t *values = pk_xcalloc(cap, sizeof(*values));

		for (i = 0; i < m->cap; i++)
			if (m->keys[i])
				insert(keys, values, cap, m->keys[i], m->values[i]);
		free(m->keys);
		free(m->values);
		m->keys = keys;
		m->values = values;
		m->cap = cap;
	}
	if (!pk_u64map_get(m, key))
		m->len++;
	insert(m->keys, m->values, m->cap, key, value);
}

/* Is k cyclically in (i, j]? */
static int between(size_t k, size_t i, size_t j)
{
	return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

void pk_u64map_del(struct pk_u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap || !key)
		return;
	for (i = slot_of(key, m->cap); m->keys[i] != key; i = (i + 1) & mask)
		if (!m->keys[i])
			return;
	/* backward shift: a later key of the run whose home slot is not
	 * between the hole and itself moves into the hole */
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		if (between(slot_of(m->keys[j], m->cap), i, j))
			continue;
		m->keys[i] = m->keys[j];
		m->values[i] = m->values[j];
		i = j;
	}
	m->keys[i] = 0;
	m->values[i] = 0;
	m->len--;
}
