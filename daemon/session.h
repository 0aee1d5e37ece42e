/*
 * session.h - a recording from start to end: open the store, take the
 * target (attach or run), sample until the end condition, let go of the
 * target, and complete the session with its statistics.
 */
#ifndef PK_SESSION_H
#define PK_SESSION_H

#include "daemon/options.h"

/* "perfkitd attach": returns the exit status for main. */
int pk_session_attach(const struct pk_options *opt);

/* "perfkitd run": returns PROG's exit status (128+N for signal N), or
 * 126/127 when PROG cannot be run, 1 on another failure. */
int pk_session_run(const struct pk_options *opt);

#endif
