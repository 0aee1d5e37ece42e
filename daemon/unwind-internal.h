/*
 * unwind-internal.h - what the files of the libunwind backend share:
 * the unwinder's state, the module cache and the accessors.  Not a public
 * contract; see unwind.h for that.
 */
#ifndef PK_UNWIND_INTERNAL_H
#define PK_UNWIND_INTERNAL_H

#include <libunwind.h>

#include "daemon/unwind.h"

#define PK_UNWIND_MAX_SEGMENTS 16

/* One PT_LOAD of a module: ELF virtual address and file offset. */
struct pk_unwind_segment {
	uint64_t vaddr, offset, filesz;
	int writable, exec;
};

/*
 * A file mapped by the target (or the vDSO), keyed by identity (device,
 * inode, path), read through a local read-only mmap.  Several mappings of
 * the target may share one module.
 */
struct pk_unwind_module {
	struct pk_unwind_module *next;
	char *path;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	int is_vdso;
	int usable;                   /* ELF parsed; image readable */
	const unsigned char *image;   /* whole file (or vDSO copy) */
	size_t size;
	int mmapped;                  /* image is an mmap, else malloc'd */
	struct pk_unwind_segment seg[PK_UNWIND_MAX_SEGMENTS];
	int nseg;
	uint64_t text_lo, text_hi;    /* ELF vaddrs covered by executable PT_LOADs */
	int has_table;                /* a usable .eh_frame_hdr binary search table */
	uint64_t hdr_vaddr;           /* .eh_frame_hdr */
	uint64_t table_vaddr;         /* its sorted table */
	uint64_t fde_count;
	int has_synth;                /* no .eh_frame_hdr: a table built here */
	int32_t *synth_table;         /* from .eh_frame (unwind-ehframe.c) */
	uint64_t synth_addr;          /* where the accessor serves it */
	void *cfi_elf, *cfi;          /* libdw's view of its CFI (unwind-rule.c) */
	int cfi_failed;
};

/* Synthesized tables are served from addresses no user mapping can have
 * (the kernel half); each module gets its own 4 GiB window. */
#define PK_UNWIND_SYNTH_BASE 0xffff900000000000ull
#define PK_UNWIND_SYNTH_WINDOW 0x100000000ull

/* What the unwinder knows about one entry of maps->v. */
struct pk_unwind_slot {
	struct pk_unwind_module *module; /* NULL: anonymous or unreadable */
	uint64_t bias;                   /* target address - ELF vaddr */
	int resolved;
};

/* A target address range served from local memory (most recent hits). */
struct pk_unwind_range {
	uint64_t lo, hi;
	const unsigned char *local;   /* local copy of byte lo */
};

struct pk_unwinder {
	pid_t pid;
	struct pk_maps *maps;
	unw_addr_space_t as;
	struct pk_unwind_stats stats;

	struct pk_unwind_module *modules;
	struct pk_unwind_slot *slots;     /* parallel to maps->v */
	size_t nslots;
	unsigned slots_generation;
	int slots_valid;
	struct pk_unwind_range hit[2];
	uint64_t last_reload_ns;
	unsigned synth_count;             /* synthesized tables handed out */
	pk_unwind_resolver resolver;      /* perfkit's own code in the target */
	void *resolver_ctx;
	pk_unwind_ret_map ret_map;        /* return addresses perfkit replaced */
	void *ret_map_ctx;

	/* The unwind in progress. */
	unw_word_t regs[UNW_X86_64_RIP + 1];
	uint64_t stack_lo, stack_hi;      /* the copy: [lo, hi) */
	const unsigned char *stack;
	uint64_t stack_map_lo, stack_map_hi; /* the mapping it came from */
	int beyond_copy;                  /* a read fell past the copy */
	int reloaded;                     /* maps reloaded during this unwind */
	struct pk_unwind_log *log;        /* reads logged here, or NULL */
	uint32_t regs_written;            /* registers replaced in this unwind */
};

/* Note a read of the stack-copy word at byte offset off (with a log). */
void pk_unwind_log_word(struct pk_unwinder *u, uint64_t off);

/* unwind-access.c: the accessors handed to unw_create_addr_space. */
extern unw_accessors_t pk_unwind_accessors;

/* unwind-modules.c */
/* The slot for the mapping containing addr (NULL when none), resolving
 * its module on first use.  When addr is an IP outside every mapping (a
 * dlopen since the maps were read), the maps are reloaded, at most once
 * per unwind and rate-limited. */
struct pk_unwind_slot *pk_unwind_slot_for(struct pk_unwinder *u, uint64_t addr, int is_ip,
					  const struct pk_mapping **map_out);
/* Copy up to 8 bytes of target memory at addr from a local image.
 * Returns 0, or -1 when addr is not in a read-only part of a module. */
int pk_unwind_local_read(struct pk_unwinder *u, uint64_t addr, uint64_t *val);
int pk_unwind_find_proc_info(struct pk_unwinder *u, unw_word_t ip, unw_proc_info_t *pi,
			     int need_unwind_info);
void pk_unwind_modules_free(struct pk_unwinder *u);

/* unwind-ehframe.c: build mod's search table from .eh_frame (elf is the
 * module's Elf *) when it has no .eh_frame_hdr; sets has_synth. */
void pk_unwind_build_table(struct pk_unwind_module *mod, void *elf);

/* unwind-rule.c: release a module's libdw CFI */
void pk_unwind_module_cfi_end(struct pk_unwind_module *mod);

/* unwind-fp.c: one frame-pointer step over the stack copy.  From a frame
 * (ip, sp, bp) finds the caller's return address *ip_out, its sp and bp.
 * Returns 0, or -1 when bp does not point at a plausible frame record. */
int pk_unwind_fp_step(const struct pk_unwinder *u, uint64_t sp, uint64_t bp,
		      uint64_t *ip_out, uint64_t *sp_out, uint64_t *bp_out);

#endif
