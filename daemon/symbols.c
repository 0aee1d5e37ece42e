/*
 * symbols.c - the symbolizer's cache and public API (see symbols.h).
 *
 * Two tables: paths (each open_path seen, with the identity of the file it
 * named when last checked) and modules (each ELF file read, under its
 * build-id and under its device/inode/mtime/size identity).  A lookup
 * hashes the path, re-checks the file with stat() at most once a second,
 * and binary-searches the module's sorted symbols and line tables (unless
 * the answer for that module and offset is still in a small cache); files
 * are read once, however many paths (/proc/PID/root/..., one per process)
 * lead to them.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/symbols-int.h"
#include "daemon/symbols.h"
#include "util.h"

/* How long a path's identity is trusted before stat() checks it again. */
#define REVALIDATE_NS 1000000000ull

/* Answers kept per (module, offset): a sampled program spends its time in
 * few places, so most lookups repeat.  Direct-mapped, 2^12 entries. */
#define RESULT_BITS 12

/* --- a string-keyed hash table (open addressing) ---------------------- */

struct map_slot {
	char *key; /* NULL when empty */
	uint64_t hash;
	void *value;
};

struct map {
	struct map_slot *slots;
	size_t cap, n; /* cap is 0 or a power of two */
};

static uint64_t hash_string(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct map_slot *map_slot(const struct map *m, const char *key, uint64_t hash)
{
	size_t mask = m->cap - 1;

	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct map_slot *slot = &m->slots[i];

		if (slot->key == NULL || (slot->hash == hash && strcmp(slot->key, key) == 0))
			return slot;
	}
}

static void *map_get(const struct map *m, const char *key)
{
	if (m->n == 0)
		return NULL;
	return map_slot(m, key, hash_string(key))->value;
}

static void map_grow(struct map *m)
{
	struct map old = *m;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->slots = pk_xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].key != NULL)
			*map_slot(m, old.slots[i].key, old.slots[i].hash) = old.slots[i];
	}
	free(old.slots);
}

/* Insert or replace; the map keeps its own copy of key. */
static void map_put(struct map *m, const char *key, void *value)
{
	uint64_t hash = hash_string(key);
	struct map_slot *slot;

	if ((m->n + 1) * 2 > m->cap)
		map_grow(m);
	slot = map_slot(m, key, hash);
	if (slot->key == NULL) {
		slot->key = pk_xstrdup(key);
		slot->hash = hash;
		m->n++;
	}
	slot->value = value;
}

/* Empty the map; free_value (may be NULL) is called on each value. */
static void map_clear(struct map *m, void (*free_value)(void *))
{
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key == NULL)
			continue;
		free(m->slots[i].key);
		if (free_value != NULL)
			free_value(m->slots[i].value);
	}
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* --- the symbolizer --------------------------------------------------- */

/* What an open_path named when last checked. */
struct path_memo {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
	struct pk_sym_module *module; /* NULL: not an ELF file */
	uint64_t checked_ns;
};

struct result_slot {
	const struct pk_sym_module *module; /* NULL: empty */
	uint64_t offset;
	struct pk_symbol symbol;
};

struct pk_symbolizer {
	struct map paths;           /* open_path -> struct path_memo */
	struct result_slot *results; /* 1 << RESULT_BITS, allocated on first use */
	struct map modules;         /* "b:BUILDID", "f:DEV:INO:MTIME:SIZE" -> module */
	struct map images;          /* caller's key -> module */
	struct pk_sym_module *all;  /* every module, owned */
};

struct pk_symbolizer *pk_symbolizer_new(void)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	return pk_xcalloc(1, sizeof(struct pk_symbolizer));
}

static void module_free(struct pk_sym_module *m)
{
	pk_sym_lines_free(m->lines);
	pk_sym_table_release(&m->symbols);
	pk_sym_arena_release(&m->arena);
	free(m->segments);
	free(m->build_id);
	free(m->image);
	free(m);
}

void pk_symbolizer_flush(struct pk_symbolizer *s)
{
	if (s == NULL)
		return;
	map_clear(&s->paths, free);
	map_clear(&s->images, NULL);
}

void pk_symbolizer_free(struct pk_symbolizer *s)
{
	struct pk_sym_module *m, *next;

	if (s == NULL)
		return;
	pk_symbolizer_flush(s);
	map_clear(&s->modules, NULL);
	for (m = s->all; m != NULL; m = next) {
		next = m->next;
		module_free(m);
	}
	free(s->results);
	free(s);
}

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Read symbols and line tables into m from elf (which this consumes): the
 * file's own .symtab, else the separate debug file's, else .dynsym; lines
 * from whichever of the two carries DWARF.
 */
static void module_build(struct pk_sym_module *m, Elf *elf, const char *open_path,
			 const char *debug_root, const struct stat *st)
{
	int has_symtab = pk_sym_elf_has_symbols(elf, SHT_SYMTAB);
	int has_lines = pk_sym_elf_has_lines(elf);
	Elf *debug = NULL;

	pk_sym_elf_read_segments(elf, m);
	if (!has_symtab || !has_lines)
		debug = pk_sym_debug_open(open_path, debug_root, elf, m->build_id, st);
	if (has_symtab)
		pk_sym_elf_read_symbols(elf, SHT_SYMTAB, m);
	else if (debug != NULL && pk_sym_elf_has_symbols(debug, SHT_SYMTAB))
		pk_sym_elf_read_symbols(debug, SHT_SYMTAB, m);
	else
		pk_sym_elf_read_symbols(elf, SHT_DYNSYM, m);
	pk_sym_table_finish(&m->symbols);

	if (has_lines) {
		m->lines = pk_sym_lines_new(elf);
		elf = NULL;
	} else if (debug != NULL && pk_sym_elf_has_lines(debug)) {
		m->lines = pk_sym_lines_new(debug);
		debug = NULL;
	}
	if (debug != NULL)
		elf_end(debug);
	if (elf != NULL)
		elf_end(elf);
}

/* The module already read under elf's build-id, or a new one built from
 * elf (consumed either way). */
static struct pk_sym_module *module_for_elf(struct pk_symbolizer *s, Elf *elf,
					    const char *open_path, const char *debug_root,
					    const struct stat *st, void *image)
{
	char *build_id = pk_sym_elf_build_id(elf);
	struct pk_sym_module *m;

	if (build_id != NULL) {
		char *key = pk_xasprintf("b:%s", build_id);

		m = map_get(&s->modules, key);
		free(key);
		if (m != NULL) {
			free(build_id);
			elf_end(elf);
			free(image);
			return m;
		}
	}
	m = pk_xcalloc(1, sizeof(*m));
	m->build_id = build_id;
	m->image = image;
	module_build(m, elf, open_path, debug_root, st);
	if (build_id != NULL) {
		char *key = pk_xasprintf("b:%s", build_id);

		map_put(&s->modules, key, m);
		free(key);
	}
	m->next = s->all;
	s->all = m;
	return m;
}

static int same_identity(const struct path_memo *pm, const struct stat *st)
{
	return pm->dev == st->st_dev && pm->ino == st->st_ino && pm->size == st->st_size &&
	       pm->mtime.tv_sec == st->st_mtim.tv_sec && pm->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The module for the file that open_path names now, or NULL. */
static struct pk_sym_module *module_for_path(struct pk_symbolizer *s, struct path_memo *pm,
					     const char *open_path, const char *debug_root,
					     const struct stat *st)
{
	char *identity = pk_xasprintf("f:%ju:%ju:%jd.%09ld:%jd", (uintmax_t)st->st_dev,
				      (uintmax_t)st->st_ino, (intmax_t)st->st_mtim.tv_sec,
				      st->st_mtim.tv_nsec, (intmax_t)st->st_size);
	struct pk_sym_module *m = map_get(&s->modules, identity);

	if (m == NULL) {
		Elf *elf = pk_sym_elf_open(open_path, NULL);

		if (elf != NULL) {
			m = module_for_elf(s, elf, open_path, debug_root, st, NULL);
			map_put(&s->modules, identity, m);
		}
	}
	free(identity);
	pm->dev = st->st_dev;
	pm->ino = st->st_ino;
	pm->mtime = st->st_mtim;
	pm->size = st->st_size;
	pm->module = m;
	return m;
}

static void resolve_uncached(const struct pk_sym_module *m, uint64_t offset, struct pk_symbol *out)
{
	const struct pk_sym_entry *e;
	uint64_t vaddr;

	memset(out, 0, sizeof(*out));
	out->build_id = m->build_id;
	out->address = offset;
	if (pk_sym_offset_to_vaddr(m, offset, &vaddr) != 0)
		return;
	out->address = vaddr;
	e = pk_sym_table_find(&m->symbols, vaddr);
	if (e != NULL) {
		out->function = e->name;
		out->symbol_start = e->start;
	}
	if (m->lines != NULL && pk_sym_lines_find(m->lines, vaddr, &out->file, &out->line) != 0) {
		out->file = NULL;
		out->line = 0;
	}
}

static void resolve(struct pk_symbolizer *s, const struct pk_sym_module *m, uint64_t offset,
		    struct pk_symbol *out)
{
	uint64_t key = (offset ^ ((uintptr_t)m >> 4)) * 0x9e3779b97f4a7c15ull;
	struct result_slot *slot;

	if (s->results == NULL)
		s->results = pk_xcalloc((size_t)1 << RESULT_BITS, sizeof(*s->results));
	slot = &s->results[key >> (64 - RESULT_BITS)];
	if (slot->module != m || slot->offset != offset) {
		resolve_uncached(m, offset, &slot->symbol);
		slot->module = m;
		slot->offset = offset;
	}
	*out = slot->symbol;
}

int pk_symbolize(struct pk_symbolizer *s, const char *open_path, const char *debug_root,
		 uint64_t offset, struct pk_symbol *out)
{
	struct path_memo *pm = map_get(&s->paths, open_path);
	uint64_t now = coarse_now_ns();

	memset(out, 0, sizeof(*out));
	if (pm == NULL || now - pm->checked_ns >= REVALIDATE_NS) {
		struct stat st;

		if (stat(open_path, &st) != 0 || !S_ISREG(st.st_mode))
			return -1;
		if (pm == NULL) {
			pm = pk_xcalloc(1, sizeof(*pm));
			map_put(&s->paths, open_path, pm);
			module_for_path(s, pm, open_path, debug_root, &st);
		} else if (!same_identity(pm, &st)) {
			module_for_path(s, pm, open_path, debug_root, &st);
		}
		pm->checked_ns = now;
	}
	if (pm->module == NULL)
		return -1;
	resolve(s, pm->module, offset, out);
	return 0;
}

int pk_symbolize_image(struct pk_symbolizer *s, const char *key, const void *image, size_t size,
		       uint64_t offset, struct pk_symbol *out)
{
	struct pk_sym_module *m = map_get(&s->images, key);

	memset(out, 0, sizeof(*out));
	if (m == NULL) {
		/* libelf reads from the buffer for as long as the module
		 * lives: keep a copy the caller cannot free. */
		void *copy;
		Elf *elf;

		if (image == NULL || size == 0)
			return -1;
		copy = pk_xmalloc(size);
		memcpy(copy, image, size);
		elf = elf_memory(copy, size);
		if (elf == NULL || elf_kind(elf) != ELF_K_ELF) {
			elf_end(elf);
			free(copy);
			return -1;
		}
		m = module_for_elf(s, elf, NULL, "/", NULL, copy);
		map_put(&s->images, key, m);
	}
	resolve(s, m, offset, out);
	return 0;
}
