/*
 * maps.h - the target's memory mappings, from /proc/PID/maps.
 *
 * Used by the unwinder (where is the code and unwind info for an address)
 * and the symbolizer (which file and file offset an address comes from).
 * Reloaded by the owner on exec and when an address falls outside every
 * known mapping (dlopen).
 */
#ifndef PK_MAPS_H
#define PK_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pk_mapping {
	uint64_t start, end;  /* [start, end) in the target */
	uint64_t offset;      /* file offset of start */
	uint64_t inode;
	unsigned dev_major, dev_minor;
	int prot;             /* PROT_READ | PROT_WRITE | PROT_EXEC */
	char *path;           /* as /proc/PID/maps shows it, " (deleted)"
	                         stripped; NULL for anonymous memory */
	int deleted;          /* the file was deleted or replaced */
	int special;          /* [vdso], [vsyscall], [stack], [heap], ... */
};

struct pk_maps {
	pid_t pid;
	struct pk_mapping *v; /* sorted by start */
	size_t n;
	unsigned generation;  /* incremented by every successful load */
};

/* Read /proc/PID/maps into m (replacing what it held).  0 or -errno. */
int pk_maps_load(struct pk_maps *m, pid_t pid);
void pk_maps_release(struct pk_maps *m);

/* The mapping containing addr, or NULL (binary search). */
const struct pk_mapping *pk_maps_find(const struct pk_maps *m, uint64_t addr);

/*
 * A path perfkitd can open to read the mapping's file as the target sees
 * it: /proc/PID/map_files/START-END for deleted files, else
 * /proc/PID/root/PATH (the target's mount namespace).  Returns 0, or -1
 * when the mapping has no file.
 */
int pk_maps_open_path(const struct pk_maps *m, const struct pk_mapping *map, char *buf, size_t len);

/* The stack mapping containing sp (for clipping stack copies), or NULL. */
const struct pk_mapping *pk_maps_find_stack(const struct pk_maps *m, uint64_t sp);

#endif
