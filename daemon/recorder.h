/*
 * recorder.h - turning unwound addresses into stored stacks: symbolize
 * each distinct address once (module, function, file:line), intern frames
 * and stack prefixes in the store, and add the sample.
 */
#ifndef PK_RECORDER_H
#define PK_RECORDER_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon/maps.h"
#include "store/store.h"

struct pk_recorder;

/*
 * A recorder for session sid of process pid.  maps is borrowed (the owner
 * reloads it).  Returns NULL on failure (message already reported).
 */
struct pk_recorder *pk_recorder_new(struct pk_store *st, int64_t sid, pid_t pid, struct pk_maps *maps);
void pk_recorder_free(struct pk_recorder *r);

/* Forget every address (the process exec'd: addresses mean new code). */
void pk_recorder_flush_caches(struct pk_recorder *r);

/* The store's id for an event ("cpu", "samples"), made on first use. */
int pk_recorder_event(struct pk_recorder *r, const char *name, const char *unit);

/*
 * Intern a stack given leaf-first addresses (ips[0] is the interrupted
 * instruction, the rest are return addresses).  Returns the leaf node id
 * (0 for an empty stack) or a negative store error.
 */
int64_t pk_recorder_stack(struct pk_recorder *r, const uint64_t *ips, int n);

/*
 * Read now, ahead of the first stack that needs them, the symbols and
 * line tables of the code the maps show (each file-backed executable
 * mapping's file, and its separate debug file), for at most budget_ns:
 * the first lookup in a module can take tens of milliseconds (a debug
 * file's compressed DWARF is inflated whole), and a recorder that spends
 * them while records pile up makes the target wait for it.  Returns the
 * number of modules read.
 */
int pk_recorder_warm(struct pk_recorder *r, uint64_t budget_ns);

/* Add one sample (buffered; the store writes in batches). */
int pk_recorder_sample(struct pk_recorder *r, int event, int32_t tid, int64_t time_ns,
		       int64_t stack_id, int64_t weight, char state);

#endif
