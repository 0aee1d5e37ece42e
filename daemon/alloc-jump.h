/*
 * alloc-jump.h - perfkitd --alloc on the jump backend (daemon/jprobe.h),
 * with the int3 engine kept for the functions it refuses: the same
 * instrument as alloc-instrument.h, with a second backend plugged in (see
 * alloc-jump.c for how nesting, ordering, forks and stacks are handled).
 */
#ifndef PK_ALLOC_JUMP_H
#define PK_ALLOC_JUMP_H

#include "daemon/instrument.h"

/* Does opt ask for the jump backend for --alloc ("jump", or "auto" where
 * auto means jump)?  1 or 0. */
int pk_alloc_jump_wanted(const struct pk_options *opt);

/*
 * Fill *out with the allocation instrument on the jump backend.  Where the
 * jump engine cannot be used (no thread pointer yet in a static program,
 * an arming error) every function goes to int3, and where it refuses a
 * function (operator new may throw) that function does; both are said on
 * stderr and counted in the session.  Returns 0, or -1 after reporting an
 * error.
 */
int pk_alloc_jump_create(const struct pk_options *opt, struct pk_instrument *out);

#endif
