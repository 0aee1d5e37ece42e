/*
 * probe-insn.c - x86-64 instruction length decoding (see probe-insn.h).
 *
 * The tables follow the Intel SDM opcode maps (volume 2, appendix A) for
 * 64-bit mode.  Only what decides the length matters here: prefixes,
 * whether a ModRM byte follows (and with it SIB and displacement) and the
 * size of the immediate.
 */
#include "daemon/probe-insn.h"

#include <string.h>

/* One-byte map: 1 = has ModRM.  Rows are the high nibble. */
static const uint16_t modrm_1byte[16] = {
	/* bit n set = opcode (row << 4 | n) has ModRM */
	0x0f0f, /* 0x: 00-03, 08-0b */
	0x0f0f, /* 1x */
	0x0f0f, /* 2x */
	0x0f0f, /* 3x */
	0x0000, /* 4x REX */
	0x0000, /* 5x push/pop */
	0x0a0c, /* 6x: 62 63, 69 6b */
	0x0000, /* 7x jcc */
	0xffff, /* 8x */
	0x0000, /* 9x */
	0x0000, /* Ax */
	0x0000, /* Bx */
	0x00f3, /* Cx: c0 c1 c4 c5 c6 c7 */
	0xff0f, /* Dx: d0-d3, d8-df */
	0x0000, /* Ex */
	0xc0c0, /* Fx: f6 f7 fe ff */
};

/* Opcodes that do not exist in 64-bit mode (or start VEX/EVEX). */
static int invalid_1byte(uint8_t op)
{
	switch (op) {
	case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e:
	case 0x1f: case 0x27: case 0x2f: case 0x37: case 0x3f: case 0x60:
	case 0x61: case 0x62: case 0x82: case 0x9a: case 0xc4: case 0xc5:
	case 0xd4: case 0xd5: case 0xd6: case 0xea:
		return 1;
	default:
		return 0;
	}
}

/* Two-byte map (0F xx): opcodes WITHOUT ModRM. */
static int no_modrm_0f(uint8_t op)
{
	if (op >= 0x80 && op <= 0x8f) /* jcc rel32 */
		return 1;
	if (op >= 0xc8 && op <= 0xcf) /* bswap */
		return 1;
	if (op >= 0x30 && op <= 0x37) /* wrmsr rdtsc rdmsr rdpmc sysenter... */
		return 1;
	switch (op) {
	case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0b:
	case 0x0e: case 0x77: case 0xa0: case 0xa1: case 0xa2: case 0xa8:
	case 0xa9: case 0xaa:
		return 1;
	default:
		return 0;
	}
}

static unsigned imm_0f(uint8_t op)
{
	if (op >= 0x70 && op <= 0x73)
		return 1;
	switch (op) {
	case 0xa4: case 0xac: case 0xba: case 0xc2: case 0xc4: case 0xc5: case 0xc6:
		return 1;
	default:
		return 0;
	}
}

/*
 * Immediate size of a one-byte-map opcode.  opsize16: 0x66 prefix;
 * rexw: REX.W; reg: ModRM reg field (for F6/F7 groups).
 */
static unsigned imm_1byte(uint8_t op, int opsize16, int rexw, int addr32, unsigned reg)
{
	unsigned z = opsize16 ? 2 : 4; /* Iz */

	if (op < 0x40 && (op & 7) == 4)
		return 1;
	if (op < 0x40 && (op & 7) == 5)
		return z;
	if (op >= 0x70 && op <= 0x7f)
		return 1;
	if (op >= 0xb0 && op <= 0xb7)
		return 1;
	if (op >= 0xb8 && op <= 0xbf)
		return rexw ? 8 : z;
	if (op >= 0xe0 && op <= 0xe7)
		return 1;
	if (op >= 0xa0 && op <= 0xa3) /* moffs */
		return addr32 ? 4 : 8;
	switch (op) {
	case 0x68: case 0x69: case 0x81: case 0xa9: case 0xc7:
		return z;
	case 0xe8: case 0xe9:
		return 4;
	case 0x6a: case 0x6b: case 0x80: case 0x83: case 0xa8: case 0xc0:
	case 0xc1: case 0xc6: case 0xcd: case 0xeb:
		return 1;
	case 0xc2: case 0xca:
		return 2;
	case 0xc8:
		return 3;
	case 0xf6:
		return reg <= 1 ? 1 : 0;
	case 0xf7:
		return reg <= 1 ? z : 0;
	default:
		return 0;
	}
}

static int is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0xf0: case 0xf2: case 0xf3: case 0x2e: case 0x36: case 0x3e:
	case 0x26: case 0x64: case 0x65: case 0x66: case 0x67:
		return 1;
	default:
		return 0;
	}
}

/* Parse ModRM (+ SIB + displacement) at code[i]; returns bytes used. */
static int modrm_length(const uint8_t *code, size_t avail, size_t i, struct pk_insn *out)
{
	uint8_t modrm, mod, rm;
	int n = 1;

	if (i >= avail)
		return -1;
	modrm = code[i];
	mod = modrm >> 6;
	rm = modrm & 7;
	if (mod == 3)
		return 1;
	if (rm == 4) {
		if (i + 1 >= avail)
			return -1;
		n++;
		if (mod == 0 && (code[i + 1] & 7) == 5)
			n += 4;
	} else if (mod == 0 && rm == 5) {
		out->rip_relative = 1;
		out->disp_offset = (unsigned)(i + 1);
		n += 4;
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n;
}

static int64_t read_rel(const uint8_t *p, unsigned size)
{
	if (size == 1)
		return (int8_t)p[0];
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

int pk_insn_decode(const uint8_t *code, size_t avail, struct pk_insn *out)
{
	size_t i = 0;
	int opsize16 = 0, addr32 = 0, rexw = 0, has_modrm, m;
	unsigned imm = 0, reg = 0;
	uint8_t op;

	memset(out, 0, sizeof(*out));
	if (avail > 15)
		avail = 15;
	while (i < avail && is_legacy_prefix(code[i])) {
		if (code[i] == 0x66)
			opsize16 = 1;
		if (code[i] == 0x67)
			addr32 = 1;
		i++;
	}
	if (i < avail && (code[i] & 0xf0) == 0x40) {
		rexw = (code[i] & 8) != 0;
		i++;
	}
	if (i >= avail)
		return -1;
	op = code[i++];

	if (op == 0x0f) {
		if (i >= avail)
			return -1;
		op = code[i++];
		if (op == 0x0f) /* 3DNow! */
			return -1;
		if (op == 0x38 || op == 0x3a) {
			if (i >= avail)
				return -1;
			i++;
			m = modrm_length(code, avail, i, out);
			if (m < 0)
				return -1;
			i += (size_t)m + (op == 0x3a ? 1 : 0);
			out->cls = PK_INSN_PLAIN;
			goto done;
		}
		if (op == 0x05 || op == 0x07 || op == 0x34 || op == 0x35 || op == 0x0b)
			out->cls = PK_INSN_UNSAFE; /* syscall, sysret, sysenter, ud2 */
		if (op >= 0x80 && op <= 0x8f) {
			out->cls = PK_INSN_UNSAFE; /* jcc rel32 */
			imm = 4;
		}
		has_modrm = !no_modrm_0f(op);
		if (has_modrm) {
			m = modrm_length(code, avail, i, out);
			if (m < 0)
				return -1;
			i += (size_t)m;
		}
		i += imm_0f(op) + imm;
		if (op == 0x1e && i == 4 && code[0] == 0xf3 && code[3] == 0xfa)
			out->is_endbr64 = 1;
		goto done;
	}

	if (invalid_1byte(op))
		return -1;
	has_modrm = (modrm_1byte[op >> 4] >> (op & 15)) & 1;
	if (has_modrm) {
		if (i >= avail)
			return -1;
		reg = (code[i] >> 3) & 7;
		m = modrm_length(code, avail, i, out);
		if (m < 0)
			return -1;
		i += (size_t)m;
	}
	imm = imm_1byte(op, opsize16, rexw, addr32, reg);
	if (i + imm > avail)
		return -1;

	if (op == 0xe9 || op == 0xeb) {
		out->cls = PK_INSN_JMP_REL;
		out->rel = read_rel(code + i, imm);
	} else if (op == 0xe8) {
		out->cls = PK_INSN_CALL_REL;
		out->rel = read_rel(code + i, imm);
	} else if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3) ||
		   op == 0xc2 || op == 0xc3 || op == 0xca || op == 0xcb || op == 0xcc ||
		   op == 0xcd || op == 0xce || op == 0xcf || op == 0xf4) {
		out->cls = PK_INSN_UNSAFE; /* jcc, loop, ret, int, iret, hlt */
	} else if (op == 0xff && (reg == 2 || reg == 3 || reg == 5)) {
		out->cls = PK_INSN_UNSAFE; /* indirect call / far jmp */
	}
	i += imm;
done:
	if (i > avail || i > 15)
		return -1;
	out->len = (unsigned)i;
	return 0;
}
