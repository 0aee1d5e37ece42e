/*
 * symbols-int.h - the symbolizer's internal pieces, shared by
 * symbols.c (cache, public API), symbols-elf.c (symbol tables, build-id,
 * program headers), symbols-debug.c (separate debug files) and
 * symbols-lines.c (source lines from DWARF).  Not for use outside
 * daemon/symbols*.c.
 */
#ifndef PK_SYMBOLS_INT_H
#define PK_SYMBOLS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <gelf.h>

/* Strings that live as long as their module: appended to large blocks. */
struct pk_sym_arena {
	struct pk_sym_arena_block *blocks;
};

const char *pk_sym_arena_strdup(struct pk_sym_arena *a, const char *s);
void pk_sym_arena_release(struct pk_sym_arena *a);

/* One PT_LOAD program header: file bytes [offset, offset + filesz) are
 * loaded at virtual address vaddr. */
struct pk_sym_segment {
	uint64_t offset, filesz, vaddr, align;
};

/* One function: [start, end) in ELF virtual addresses.  cover_end is the
 * largest end of this entry and every entry before it in the sorted
 * array, so a lookup knows when no earlier (enclosing) entry can cover an
 * address. */
struct pk_sym_entry {
	uint64_t start, end, cover_end;
	const char *name;
};

/* A function symbol as read, before sorting and merging of aliases. */
struct pk_sym_raw {
	uint64_t start, size;
	uint64_t section_end; /* end of the symbol's section; 0 if none */
	const char *name;     /* in the module's arena, already demangled */
	int rank;             /* binding preference: 0 global, 1 weak, 2 local */
};

struct pk_sym_table {
	struct pk_sym_raw *raw;
	size_t nraw, capraw;
	struct pk_sym_entry *v; /* after pk_sym_table_finish */
	uint64_t *starts;       /* v[i].start, dense for the binary search */
	size_t n;
};

struct pk_sym_lines;

/* Everything known about one ELF file (or in-memory image). */
struct pk_sym_module {
	char *build_id;                  /* lowercase hex or NULL */
	struct pk_sym_segment *segments; /* PT_LOAD, in header order */
	size_t nsegments;
	struct pk_sym_table symbols;
	struct pk_sym_arena arena;
	struct pk_sym_lines *lines;      /* NULL without DWARF line info */
	void *image;                     /* owned copy of an in-memory image */
	struct pk_sym_module *next;      /* the symbolizer's list of modules */
};

/* --- symbols-elf.c ---------------------------------------------------- */

/* The GNU build-id of elf as malloc'd lowercase hex, or NULL. */
char *pk_sym_elf_build_id(Elf *elf);

/* Copy the PT_LOAD headers of elf into m.  0, or -1 when elf has no
 * program headers (not an executable or shared object). */
int pk_sym_elf_read_segments(Elf *elf, struct pk_sym_module *m);

/* Does elf have a section of this type (SHT_SYMTAB, SHT_DYNSYM) with at
 * least one symbol beyond the null one? */
int pk_sym_elf_has_symbols(Elf *elf, GElf_Word type);

/* Does elf carry DWARF line tables (.debug_line, possibly compressed)? */
int pk_sym_elf_has_lines(Elf *elf);

/* Add the function symbols (STT_FUNC, STT_GNU_IFUNC, defined) of the
 * first section of the given type to m->symbols, names demangled into
 * m->arena.  Returns the number added, or -1 if there is no such section. */
long pk_sym_elf_read_symbols(Elf *elf, GElf_Word type, struct pk_sym_module *m);

/* Sort the raw symbols, merge aliases (sized over zero-size, then global
 * over weak over local, then any name over glibc's __GI_ aliases, then
 * fewer leading underscores, then the shorter name, then strcmp:
 * deterministic), give zero-size symbols the extent up
 * to the next symbol within their section, and free the raw array. */
void pk_sym_table_finish(struct pk_sym_table *t);

/* The innermost function covering vaddr, or NULL (binary search). */
const struct pk_sym_entry *pk_sym_table_find(const struct pk_sym_table *t, uint64_t vaddr);

void pk_sym_table_release(struct pk_sym_table *t);

/* File offset -> ELF virtual address through the PT_LOAD headers.  0, or
 * -1 when no segment maps that offset. */
int pk_sym_offset_to_vaddr(const struct pk_sym_module *m, uint64_t offset, uint64_t *vaddr);

/* --- symbols-debug.c -------------------------------------------------- */

/*
 * Find and open the separate debug file of a stripped file: first
 * DEBUG_ROOT/usr/lib/debug/.build-id/xx/rest.debug (its build-id must
 * match), then .gnu_debuglink beside the file, in its .debug/ subdirectory
 * and under DEBUG_ROOT/usr/lib/debug/DIR/ (CRC checked).  open_path may be
 * NULL (in-memory image: build-id only).  main_st identifies the main file
 * so that it is never taken as its own debug file (may be NULL).  Returns
 * an Elf read through mmap whose descriptor is already closed (free with
 * elf_end), or NULL when none is found.
 */
Elf *pk_sym_debug_open(const char *open_path, const char *debug_root, Elf *main_elf,
		       const char *build_id, const struct stat *main_st);

/* Open path as an ELF file through mmap and close the descriptor.  NULL
 * when it cannot be opened or is not ELF; *st receives its stat when not
 * NULL. */
Elf *pk_sym_elf_open(const char *path, struct stat *st);

/* --- symbols-lines.c -------------------------------------------------- */

/* Take over elf (and end it when freed) to answer line queries; NULL when
 * it has no usable DWARF (elf is then ended too). */
struct pk_sym_lines *pk_sym_lines_new(Elf *elf);

/* Source file and line of vaddr.  0 with *file (owned by lines) and
 * *line set, or -1 when the address has no line record. */
int pk_sym_lines_find(struct pk_sym_lines *l, uint64_t vaddr, const char **file, int *line);

void pk_sym_lines_free(struct pk_sym_lines *l);

#endif
