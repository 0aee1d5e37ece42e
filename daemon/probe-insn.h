/*
 * probe-insn.h - x86-64 instruction length decoder for the probe engine.
 *
 * A breakpoint displaces the first instruction of a function.  To run that
 * instruction out of line (copied into a scratch page) the engine must know
 * its length, whether it addresses memory relative to RIP (the displacement
 * then needs fixing for the new location) and whether it is a branch (which
 * cannot simply be copied and is emulated or refused).  This decoder covers
 * the general-purpose one-byte and 0F maps (with 0F 38 / 0F 3A), legacy and
 * REX prefixes; VEX/EVEX and 3DNow! encodings are reported as unsupported.
 * Hand-written because no packaged library gives instruction lengths with
 * RIP-relative offsets in a few hundred bytes of code (binutils' opcodes
 * library is not a stable API).
 */
#ifndef PK_PROBE_INSN_H
#define PK_PROBE_INSN_H

#include <stddef.h>
#include <stdint.h>

enum pk_insn_class {
	PK_INSN_PLAIN = 0,   /* safe to execute anywhere (after RIP fixup) */
	PK_INSN_JMP_REL,     /* jmp rel8/rel32: emulated (rip = target) */
	PK_INSN_CALL_REL,    /* call rel32: emulated (push, rip = target) */
	PK_INSN_UNSAFE,      /* jcc, loop, ret, indirect call, syscall...: refused */
};

struct pk_insn {
	unsigned len;             /* total length in bytes (1..15) */
	enum pk_insn_class cls;
	int rip_relative;         /* ModRM addresses memory relative to RIP */
	unsigned disp_offset;     /* offset of the disp32 when rip_relative */
	int64_t rel;              /* branch displacement for *_REL classes */
	int is_endbr64;           /* f3 0f 1e fa */
};

/*
 * Decode the instruction at code[0..avail).  Returns 0 and fills *out, or
 * -1 when the bytes are not an instruction this decoder understands (or
 * run past avail): the caller must then refuse to probe there.
 */
int pk_insn_decode(const uint8_t *code, size_t avail, struct pk_insn *out);

#endif
