/*
 * symbols.h - naming code addresses with libelf and libdw.
 *
 * For a file offset in an ELF file: the function (.symtab, else .dynsym,
 * else the separate debug file found by build-id under
 * /usr/lib/debug/.build-id/xx/rest.debug or by .gnu_debuglink), C++ names
 * demangled, and the source file and line from DWARF where present.  Each
 * file is read once: a cache keyed by build-id (or device, inode and
 * mtime when there is none) with sorted symbol arrays.
 *
 * A symbolizer is not thread-safe: use one per thread, or lock around it.
 */
#ifndef PK_SYMBOLS_H
#define PK_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct pk_symbolizer;

struct pk_symbol {
	const char *function;  /* demangled name; NULL when no symbol covers it */
	const char *build_id;  /* lowercase hex, NULL when the file has none */
	const char *file;      /* source file, NULL when no line info */
	int line;              /* 0 when no line info */
	uint64_t address;      /* ELF virtual address of the looked-up offset
	                          (the offset itself when no PT_LOAD maps it) */
	uint64_t symbol_start; /* ELF virtual address of the function start */
};

/* NULL only when libelf cannot be initialised.  Free accepts NULL. */
struct pk_symbolizer *pk_symbolizer_new(void);
void pk_symbolizer_free(struct pk_symbolizer *s);

/*
 * Forget which file each path and image key named (after exec, or when
 * mappings were reloaded), so the next lookup checks the path again.
 * Files already read stay cached under their build-id / identity, and
 * strings already returned stay valid.  Without it a path is re-checked
 * with stat() at most once a second.
 */
void pk_symbolizer_flush(struct pk_symbolizer *s);

/*
 * Symbolize file offset `offset` of the ELF file opened from open_path
 * (e.g. /proc/PID/root/usr/lib/.../libc.so.6).  debug_root is where to look
 * for separate debug files ("/" normally, or /proc/PID/root).  Strings in
 * *out are owned by the symbolizer and live until it is freed.  Returns 0
 * (out->function may still be NULL), or -1 when the file cannot be read as
 * ELF.
 */
int pk_symbolize(struct pk_symbolizer *s, const char *open_path, const char *debug_root,
		 uint64_t offset, struct pk_symbol *out);

/*
 * The same for an ELF image already in memory (the vDSO, copied from the
 * target once).  key identifies the image in the cache.
 */
int pk_symbolize_image(struct pk_symbolizer *s, const char *key, const void *image, size_t size,
		       uint64_t offset, struct pk_symbol *out);

/* Functions of a file whose names match a glob (for --probe): see
 * probe issue.  Not needed by the sampler. */

#endif
