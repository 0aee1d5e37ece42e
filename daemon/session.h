/*
 * session.h - a recording from start to end: open the store, take the
 * target (attach or run), sample until the end condition, let go of the
 * target, and complete the session with its statistics.
 */
#ifndef PK_SESSION_H
#define PK_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/options.h"

/* "perfkitd attach": returns the exit status for main. */
int pk_session_attach(const struct pk_options *opt);

/*
 * A live view of an attach session ("perfkitd top", daemon/top.c): the
 * sample loop also polls fd (-1: none) and calls tick after every pass
 * (at least every 250 ms), with the store (the view may flush and read
 * it), the session id, the number of traced threads and whether fd is
 * readable.  tick returns non-zero to end the session; the target is then
 * let go and the session completed as on Ctrl-C.
 */
struct pk_store;
struct pk_session_view {
	int fd;
	int (*tick)(void *ctx, struct pk_store *st, int64_t sid, size_t threads, int fd_ready);
	void *ctx;
};

/* "perfkitd attach" with a view (view NULL = pk_session_attach). */
int pk_session_attach_view(const struct pk_options *opt, const struct pk_session_view *view);

/* "perfkitd run": returns PROG's exit status (128+N for signal N), or
 * 126/127 when PROG cannot be run, 1 on another failure. */
int pk_session_run(const struct pk_options *opt);

#endif
