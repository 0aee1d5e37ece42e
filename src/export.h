/*
 * export.h - writing a profile in formats other tools open, and the
 * output-file handling that export and flamegraph share.
 *
 * Each format is a backend: one struct pk_exporter in its own file
 * (export-folded.c, pprof.c, export-speedscope.c) and one row in the
 * table in export.c.  A new format is a new file plus a table row.
 */
#ifndef PK_EXPORT_H
#define PK_EXPORT_H

#include <stdio.h>

#include "src/profile.h"
#include "store/store.h"

/* What a backend gets: the loaded (filtered) profile, and the store and
 * filter for backends that need individual samples (speedscope's time
 * order per thread). */
struct pk_export_ctx {
	struct pk_store *store;
	const struct pk_profile *profile;
	const struct pk_filter *filter;
};

struct pk_exporter {
	const char *name;        /* the --format value */
	const char *summary;     /* one line for --help */
	int binary;              /* refuse to write it to a terminal */
	/*
	 * Write the whole file to out.  Returns 0, or -1 with a message
	 * in err (the caller reports it; a write error leaves errno).
	 * An empty profile must still give a valid file.
	 */
	int (*write)(FILE *out, const struct pk_export_ctx *ctx, char *err, size_t errlen);
};

extern const struct pk_exporter pk_export_folded;
extern const struct pk_exporter pk_export_pprof;
extern const struct pk_exporter pk_export_speedscope;

/* The backends, NULL-terminated, in the order --help lists them. */
extern const struct pk_exporter *const pk_exporters[];
/* The backend named name, or NULL. */
const struct pk_exporter *pk_exporter_find(const char *name);

/*
 * A frame name as a folded-stack line needs it: ';' (the frame
 * separator) becomes ':', and line breaks become spaces.  Appends to
 * a malloc'd copy; free it.
 */
char *pk_export_folded_name(const char *name);

/* ---- what flamegraph and export share ---------------------------------- */

struct pk_cli;

/*
 * Options both commands take: --thread, --from, --to, --event.  c is the
 * getopt_long result for one of PK_RENDER_OPT_*; returns -1 when handled,
 * or PK_EXIT_USAGE after a message.
 */
enum {
	PK_RENDER_OPT_THREAD = 0x300,
	PK_RENDER_OPT_FROM,
	PK_RENDER_OPT_TO,
	PK_RENDER_OPT_EVENT,
};
#define PK_RENDER_FILTER_OPTIONS \
	{ "thread", required_argument, NULL, PK_RENDER_OPT_THREAD }, \
	{ "from", required_argument, NULL, PK_RENDER_OPT_FROM }, \
	{ "to", required_argument, NULL, PK_RENDER_OPT_TO }, \
	{ "event", required_argument, NULL, PK_RENDER_OPT_EVENT }
int pk_render_filter_option(int c, const char *arg, struct pk_filter *f, const char *usage);

/*
 * Open the store, find SESSION and load its profile through filter.
 * Returns PK_EXIT_OK with *p loaded, or PK_EXIT_FAILURE after a message
 * that names the session (unknown session, unknown event, read error).
 */
int pk_render_load(struct pk_cli *cli, const char *spec, const struct pk_filter *filter,
		   struct pk_profile *p);

/* "session 'x' has no samples" (or "no samples match the filter")
 * warning for an empty profile, saying what is written instead. */
void pk_render_warn_empty(const struct pk_profile *p, const struct pk_filter *filter,
			  const char *what);

/* ---- output files ------------------------------------------------------- */

/*
 * An output that appears whole or not at all: a named file is written
 * under a temporary name in the same directory and renamed into place by
 * pk_outfile_commit, so a failure leaves an earlier file untouched and no
 * partial one.  "-" or NULL is stdout; an existing symbolic link, device
 * or fifo (say /dev/stdout) is written in place, as renaming over it
 * would replace the link or the device.
 */
struct pk_outfile {
	FILE *fp;          /* write here */
	char *path;        /* final path, NULL for stdout */
	char *tmp;         /* temporary path, NULL for stdout */
};

/* Open.  Returns 0, or -1 after reporting (naming the path) why not. */
int pk_outfile_open(struct pk_outfile *o, const char *path);
/* Flush, close and rename into place.  Returns 0, or -1 after reporting
 * (the temporary file is removed). */
int pk_outfile_commit(struct pk_outfile *o);
/* Drop a half-written output (removes the temporary file).  NULL-safe. */
void pk_outfile_abort(struct pk_outfile *o);

#endif
