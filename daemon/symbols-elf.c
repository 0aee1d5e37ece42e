/*
 * symbols-elf.c - what the symbolizer reads from an ELF file with libelf:
 * the build-id, the PT_LOAD program headers that turn a file offset into a
 * virtual address, and the function symbols of .symtab or .dynsym, sorted
 * once into an array that a lookup binary-searches.
 */
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdwelf.h>

#include "daemon/demangle.h"
#include "daemon/symbols-int.h"
#include "util.h"

/* --- string arena ----------------------------------------------------- */

struct pk_sym_arena_block {
	struct pk_sym_arena_block *next;
	size_t used, cap;
	char data[];
};

enum { ARENA_BLOCK = 64 * 1024 };

const char *pk_sym_arena_strdup(struct pk_sym_arena *a, const char *s)
{
	size_t len = strlen(s) + 1;
	struct pk_sym_arena_block *b = a->blocks;
	char *p;

	if (b == NULL || b->cap - b->used < len) {
		size_t cap = len > ARENA_BLOCK ? len : ARENA_BLOCK;

		b = pk_xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		b->next = a->blocks;
		a->blocks = b;
	}
	p = b->data + b->used;
	memcpy(p, s, len);
	b->used += len;
	return p;
}

void pk_sym_arena_release(struct pk_sym_arena *a)
{
	struct pk_sym_arena_block *b, *next;

	for (b = a->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->blocks = NULL;
}

/* --- build-id and program headers ------------------------------------- */

char *pk_sym_elf_build_id(Elf *elf)
{
	const void *bits;
	const unsigned char *id;
	ssize_t len = dwelf_elf_gnu_build_id(elf, &bits);
	char *hex;

	if (len <= 0)
		return NULL;
	id = bits;
	hex = pk_xmalloc((size_t)len * 2 + 1);
	for (ssize_t i = 0; i < len; i++) {
		hex[2 * i] = "0123456789abcdef"[id[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[id[i] & 15];
	}
	hex[2 * len] = '\0';
	return hex;
}

int pk_sym_elf_read_segments(Elf *elf, struct pk_sym_module *m)
{
	size_t phnum, n = 0;

	if (elf_getphdrnum(elf, &phnum) != 0 || phnum == 0)
		return -1;
	m->segments = pk_xcalloc(phnum, sizeof(*m->segments));
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) == NULL || ph.p_type != PT_LOAD)
			continue;
		m->segments[n].offset = ph.p_offset;
		m->segments[n].filesz = ph.p_filesz;
		m->segments[n].vaddr = ph.p_vaddr;
		m->segments[n].align = ph.p_align;
		n++;
	}
	m->nsegments = n;
	return n > 0 ? 0 : -1;
}

int pk_sym_offset_to_vaddr(const struct pk_sym_module *m, uint64_t offset, uint64_t *vaddr)
{
	const struct pk_sym_segment *seg;

	for (size_t i = 0; i < m->nsegments; i++) {
		seg = &m->segments[i];
		if (offset >= seg->offset && offset - seg->offset < seg->filesz) {
			*vaddr = seg->vaddr + (offset - seg->offset);
			return 0;
		}
	}
	/* The mapping that an address came from is page-aligned and may
	 * start a little before its segment's first byte: take the segment
	 * whose page-rounded file range holds the offset. */
	for (size_t i = 0; i < m->nsegments; i++) {
		uint64_t page_start;

		seg = &m->segments[i];
		page_start = seg->offset & ~(uint64_t)4095;
		if (offset >= page_start && offset < seg->offset + seg->filesz) {
			*vaddr = seg->vaddr - (seg->offset - offset);
			return 0;
		}
	}
	return -1;
}

/* --- symbol tables ---------------------------------------------------- */

static Elf_Scn *find_section(Elf *elf, GElf_Word type, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		if (gelf_getshdr(scn, shdr) != NULL && shdr->sh_type == type)
			return scn;
	}
	return NULL;
}

int pk_sym_elf_has_symbols(Elf *elf, GElf_Word type)
{
	GElf_Shdr shdr;

	if (find_section(elf, type, &shdr) == NULL || shdr.sh_entsize == 0)
		return 0;
	return shdr.sh_size / shdr.sh_entsize > 1;
}

int pk_sym_elf_has_lines(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr shdr;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const char *name;

		if (gelf_getshdr(scn, &shdr) == NULL || shdr.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (name != NULL && (strcmp(name, ".debug_line") == 0 ||
				     strcmp(name, ".zdebug_line") == 0))
			return 1;
	}
	return 0;
}

/* End of the section a symbol lives in, for sizing zero-size symbols. */
static uint64_t section_end(Elf *elf, const GElf_Sym *sym)
{
	Elf_Scn *scn;
	GElf_Shdr shdr;

	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE)
		return 0;
	scn = elf_getscn(elf, sym->st_shndx);
	if (scn == NULL || gelf_getshdr(scn, &shdr) == NULL)
		return 0;
	return shdr.sh_addr + shdr.sh_size;
}

static int binding_rank(int bind)
{
	switch (bind) {
	case STB_GLOBAL:
		return 0;
	case STB_WEAK:
		return 1;
	default:
		return 2;
	}
}

static void table_add(struct pk_sym_table *t, const struct pk_sym_raw *r)
{
	pk_xgrow((void **)&t->raw, &t->capraw, t->nraw + 1, sizeof(*t->raw));
	t->raw[t->nraw++] = *r;
}

long pk_sym_elf_read_symbols(Elf *elf, GElf_Word type, struct pk_sym_module *m)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = find_section(elf, type, &shdr);
	Elf_Data *data;
	size_t count;
	long added = 0;

	if (scn == NULL || shdr.sh_entsize == 0)
		return -1;
	data = elf_getdata(scn, NULL);
	if (data == NULL)
		return -1;
	count = shdr.sh_size / shdr.sh_entsize;
	for (size_t i = 1; i < count; i++) {
		GElf_Sym sym;
		struct pk_sym_raw r;
		const char *name, *at;
		char *readable, *plain;
		int kind;

		if (gelf_getsym(data, (int)i, &sym) == NULL)
			continue;
		kind = GELF_ST_TYPE(sym.st_info);
		if ((kind != STT_FUNC && kind != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(elf, shdr.sh_link, sym.st_name);
		if (name == NULL || name[0] == '\0')
			continue;
		/* "memcpy@@GLIBC_2.14": the version says which ABI, not which
		 * function; dropping it keeps names comparable across builds. */
		at = strchr(name, '@');
		plain = at != NULL && at != name ? strndup(name, (size_t)(at - name)) : NULL;
		if (plain != NULL)
			name = plain;
		readable = pk_demangle(name);
		r.start = sym.st_value;
		r.size = sym.st_size;
		r.section_end = section_end(elf, &sym);
		r.name = pk_sym_arena_strdup(&m->arena, readable != NULL ? readable : name);
		free(plain);
		r.rank = binding_rank(GELF_ST_BIND(sym.st_info));
		free(readable);
		table_add(&m->symbols, &r);
		added++;
	}
	return added;
}

static size_t leading_underscores(const char *s)
{
	size_t n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

/* glibc's hidden internal aliases (__GI_memcpy for memcpy): never the
 * name a reader knows. */
static int internal_alias(const char *s)
{
	return strncmp(s, "__GI_", 5) == 0;
}

/* Sort order: address, then the preferred alias first. */
static int compare_raw(const void *pa, const void *pb)
{
	const struct pk_sym_raw *a = pa, *b = pb;
	size_t ua, ub, la, lb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if ((a->size == 0) != (b->size == 0))
		return a->size == 0 ? 1 : -1;
	if (a->rank != b->rank)
		return a->rank - b->rank;
	if (internal_alias(a->name) != internal_alias(b->name))
		return internal_alias(a->name) - internal_alias(b->name);
	ua = leading_underscores(a->name);
	ub = leading_underscores(b->name);
	if (ua != ub)
		return ua < ub ? -1 : 1;
	la = strlen(a->name);
	lb = strlen(b->name);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a->name, b->name);
}

void pk_sym_table_finish(struct pk_sym_table *t)
{
	size_t i = 0, n = 0;
	uint64_t cover = 0;

	if (t->nraw > 0)
		qsort(t->raw, t->nraw, sizeof(*t->raw), compare_raw);
	t->v = pk_xcalloc(t->nraw ? t->nraw : 1, sizeof(*t->v));
	while (i < t->nraw) {
		const struct pk_sym_raw *r = &t->raw[i];
		struct pk_sym_entry *e = &t->v[n++];
		size_t next = i + 1;

		while (next < t->nraw && t->raw[next].start == r->start)
			next++;
		e->start = r->start;
		e->name = r->name;
		if (r->size > 0) {
			e->end = r->start + r->size;
		} else {
			/* No size (hand-written assembly): up to the next
			 * symbol, within the section. */
			uint64_t end = next < t->nraw ? t->raw[next].start : 0;

			if (r->section_end > r->start && (end == 0 || r->section_end < end))
				end = r->section_end;
			e->end = end > r->start ? end : r->start + 1;
		}
		if (e->end > cover)
			cover = e->end;
		e->cover_end = cover;
		i = next;
	}
	t->n = n;
	t->starts = pk_xcalloc(n ? n : 1, sizeof(*t->starts));
	for (i = 0; i < n; i++)
		t->starts[i] = t->v[i].start;
	free(t->raw);
	t->raw = NULL;
	t->nraw = t->capraw = 0;
}

const struct pk_sym_entry *pk_sym_table_find(const struct pk_sym_table *t, uint64_t vaddr)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->starts[mid] <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo entries start at or before vaddr: the nearest one first, then
	 * enclosing ones, as long as some earlier entry reaches that far. */
	while (lo > 0) {
		const struct pk_sym_entry *e = &t->v[--lo];

		if (e->cover_end <= vaddr)
			return NULL;
		if (e->end > vaddr)
			return e;
	}
	return NULL;
}

void pk_sym_table_release(struct pk_sym_table *t)
{
	free(t->raw);
	free(t->v);
	free(t->starts);
	memset(t, 0, sizeof(*t));
}
