/*
 * annotate.h - where inside one function the samples landed: per source
 * line (frames carry the file and line the symbolizer found at record
 * time) and per address (the frame's module-relative offset), for
 * "perfkit annotate SESSION FUNCTION" and the HTML report.
 *
 * Only self weight counts: a sample belongs to the line of its leaf frame.
 * The numbers come from the profile's per-node self weights
 * (pk_profile_load), so filters (thread, time window, event) apply as in
 * every other command.
 */
#ifndef PK_ANNOTATE_H
#define PK_ANNOTATE_H

#include <stddef.h>
#include <stdint.h>

#include "src/profile.h"

struct pk_annotate_line {
	const char *file;      /* owned by the profile's symtab */
	int line;
	uint64_t self;
	int hot;               /* one of the hottest lines (see below) */
};

struct pk_annotate_addr {
	uint64_t offset;       /* module-relative address (ELF vaddr) */
	const char *module;    /* module path, owned by the profile */
	const char *file;      /* NULL when unknown */
	int line;
	uint64_t self;
	int hot;
};

struct pk_annotate {
	char *function;        /* the name asked for (owned) */
	size_t n_functions;    /* functions of that name (one per module) */
	uint64_t self;         /* the function's self weight, all lines */
	uint64_t total;        /* the function's total weight (on the stack) */
	uint64_t no_line;      /* self weight at frames without line info */
	/* Lines sorted by file then line; addresses by module then offset. */
	struct pk_annotate_line *lines; size_t n_lines;
	struct pk_annotate_addr *addrs; size_t n_addrs;
};

/* A line or address is "hot" when it holds at least this share of the
 * function's self weight and is among the PK_ANNOTATE_HOT_MAX heaviest. */
#define PK_ANNOTATE_HOT_SHARE 0.10
#define PK_ANNOTATE_HOT_MAX 3

/*
 * Gather the samples of every function named name (exact match) in p.
 * Returns 0 with *a filled (release it), or -1 when no function of that
 * name is in the session (*a is then empty and safe to release).
 */
int pk_annotate_build(const struct pk_profile *p, const char *name, struct pk_annotate *a);
void pk_annotate_release(struct pk_annotate *a);

/*
 * Names in p that contain text (case-insensitive), at most max, for "did
 * you mean" messages.  Returns how many were written to out (pointers
 * owned by p).
 */
size_t pk_annotate_suggest(const struct pk_profile *p, const char *text, const char **out, size_t max);

/*
 * The lines of a source file, read whole.  Returns 0 with *lines an array
 * of *n malloc'd strings (line 1 is lines[0], no newline), or -1 with
 * errno when the file cannot be read.  Free with pk_source_lines_free.
 */
int pk_source_read(const char *path, char ***lines, size_t *n);
void pk_source_lines_free(char **lines, size_t n);

#endif
