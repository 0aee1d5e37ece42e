/*
 * unwind-fp.c - one frame-pointer step over the stack copy.
 *
 * The fallback for a frame libunwind cannot step (code without CFI, such
 * as JIT output built with frame pointers): the frame record at rbp holds
 * the caller's rbp and the return address.  Hand-written because it is a
 * dozen lines and runs over the copy libunwind already has; each step is
 * checked against the copy's bounds and the target's executable mappings,
 * so a register that is not a frame pointer stops the walk instead of
 * inventing frames.
 */
#include <string.h>
#include <sys/mman.h>

#include "daemon/unwind-internal.h"

int pk_unwind_fp_step(const struct pk_unwinder *u, uint64_t sp, uint64_t bp,
		      uint64_t *ip_out, uint64_t *sp_out, uint64_t *bp_out)
{
	const struct pk_mapping *map;
	uint64_t record[2];

	/* The record lies at or above sp (stacks grow down), 8-aligned and
	 * wholly inside the copy. */
	if (bp < sp || (bp & 7) || bp < u->stack_lo || bp > u->stack_hi ||
	    u->stack_hi - bp < sizeof(record))
		return -1;
	memcpy(record, u->stack + (bp - u->stack_lo), sizeof(record));
	pk_unwind_log_word((struct pk_unwinder *)u, bp - u->stack_lo);
	pk_unwind_log_word((struct pk_unwinder *)u, bp - u->stack_lo + 8);
	map = pk_maps_find(u->maps, record[1]);
	if (!map || !(map->prot & PROT_EXEC))
		return -1;
	/* The caller's frame is higher up, unless this was the outermost. */
	if (record[0] != 0 && record[0] <= bp)
		return -1;
	*ip_out = record[1];
	*sp_out = bp + sizeof(record);
	*bp_out = record[0];
	return 0;
}
