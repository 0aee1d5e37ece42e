/*
 * unwind-ehframe.c - a binary search table for modules that have
 * .eh_frame but no .eh_frame_hdr.
 *
 * Static glibc executables are linked without --eh-frame-hdr, so they
 * carry CFI for every function but no index for it.  libunwind's table
 * search needs the index: this file builds the same table the linker
 * would have written (FDE start address -> FDE address, sorted, as int32
 * pairs relative to a base), and the accessor serves it from a
 * reserved address range that no user-space mapping can have.
 */
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/unwind-internal.h"
#include "util.h"

enum { ENC_OMIT = 0xff };

struct cie_enc {
	uint64_t offset;   /* of the CIE record in .eh_frame */
	unsigned enc;      /* its FDE pointer encoding ('R') */
};

static uint64_t read_uleb(const unsigned char *p, size_t end, size_t *pos)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (*pos < end) {
		unsigned char b = p[(*pos)++];

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

/* Size in bytes of an encoded pointer, 0 when unknown. */
static size_t encoded_size(unsigned enc)
{
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: return 8;
	case 0x03: case 0x0b: return 4;
	case 0x02: case 0x0a: return 2;
	default: return 0;
	}
}

/* Decode an encoded pointer at p[*pos]; field_vaddr is its address. */
static int read_pointer(const unsigned char *p, size_t end, size_t *pos, unsigned enc,
			uint64_t field_vaddr, uint64_t *out)
{
	size_t n = encoded_size(enc);
	uint64_t v = 0;
	int64_t sv;

	if (!n || *pos + n > end)
		return -1;
	memcpy(&v, p + *pos, n);
	sv = (int64_t)v;
	if ((enc & 0x0f) == 0x0b)
		sv = (int32_t)(uint32_t)v;
	else if ((enc & 0x0f) == 0x0a)
		sv = (int16_t)(uint16_t)v;
	if ((enc & 0x70) == 0x10)
		sv += (int64_t)field_vaddr;
	else if ((enc & 0x70) != 0)
		return -1;
	*pos += n;
	*out = (uint64_t)sv;
	return 0;
}

/* The FDE encoding a CIE declares (augmentation "zR..."), or ENC_OMIT. */
static unsigned parse_cie(const unsigned char *p, size_t start, size_t end)
{
	size_t pos = start + 4; /* after the CIE id */
	const char *aug;
	unsigned version, enc = 0; /* absptr by default */

	if (pos >= end)
		return ENC_OMIT;
	version = p[pos++];
	aug = (const char *)p + pos;
	while (pos < end && p[pos])
		pos++;
	pos++;
	read_uleb(p, end, &pos);          /* code alignment */
	read_uleb(p, end, &pos);          /* data alignment (sleb: same length) */
	if (version == 1)
		pos++;
	else
		read_uleb(p, end, &pos);  /* return address register */
	if (aug[0] != 'z')
		return enc;
	read_uleb(p, end, &pos);          /* augmentation data length */
	for (aug++; *aug && pos < end; aug++) {
		switch (*aug) {
		case 'R':
			enc = p[pos++];
			break;
		case 'L':
			pos++;
			break;
		case 'P': {
			unsigned penc = p[pos++];
			size_t n = encoded_size(penc);

			if (!n)
				return ENC_OMIT;
			pos += n;
			break;
		}
		case 'S': case 'B':
			break;
		default:
			return enc;  /* unknown: 'R' usually comes first anyway */
		}
	}
	return enc;
}

static int cmp_entry(const void *a, const void *b)
{
	int32_t x = ((const int32_t *)a)[0], y = ((const int32_t *)b)[0];

	return x < y ? -1 : x > y;
}

/* Find .eh_frame's address, file offset and size. */
static int find_eh_frame(Elf *elf, uint64_t *vaddr, uint64_t *offset, uint64_t *size)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return -1;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".eh_frame")) {
			*vaddr = sh.sh_addr;
			*offset = sh.sh_offset;
			*size = sh.sh_size;
			return 0;
		}
	}
	return -1;
}

void pk_unwind_build_table(struct pk_unwind_module *mod, void *elf_handle)
{
	Elf *elf = elf_handle;
	uint64_t vaddr, offset, size;
	struct cie_enc *cies = NULL;
	size_t n_cies = 0, cap_cies = 0, cap = 0, n = 0, pos = 0, end;
	int32_t *table = NULL;
	const unsigned char *p;

	if (find_eh_frame(elf, &vaddr, &offset, &size) < 0 || offset + size > mod->size)
		return;
	p = mod->image + offset;
	end = (size_t)size;
	while (pos + 4 <= end) {
		uint64_t len = 0, id = 0, pc;
		size_t rec, rec_end, field;
		unsigned enc = ENC_OMIT;

		memcpy(&len, p + pos, 4);
		if (len == 0)
			break;
		rec = pos + 4;
		if (len == 0xffffffffu) {
			if (pos + 12 > end)
				break;
			memcpy(&len, p + pos + 4, 8);
			rec = pos + 12;
		}
		rec_end = rec + (size_t)len;
		if (rec_end > end || len < 4)
			break;
		memcpy(&id, p + rec, 4);
		if (id == 0) {
			pk_xgrow((void **)&cies, &cap_cies, n_cies + 1, sizeof(*cies));
			cies[n_cies].offset = pos;
			cies[n_cies].enc = parse_cie(p, rec, rec_end);
			n_cies++;
		} else if (id <= rec) {
			uint64_t cie_off = rec - id;

			for (size_t i = 0; i < n_cies; i++)
				if (cies[i].offset == cie_off)
					enc = cies[i].enc;
			field = rec + 4;
			if (enc != ENC_OMIT &&
			    read_pointer(p, rec_end, &field, enc, vaddr + field, &pc) == 0 && pc) {
				int64_t ip_rel = (int64_t)(pc - vaddr), fde_rel = (int64_t)pos;

				if (ip_rel == (int32_t)ip_rel) {
					pk_xgrow((void **)&table, &cap, 2 * (n + 1), sizeof(*table));
					table[2 * n] = (int32_t)ip_rel;
					table[2 * n + 1] = (int32_t)fde_rel;
					n++;
				}
			}
		}
		pos = rec_end;
	}
	free(cies);
	if (!n) {
		free(table);
		return;
	}
	qsort(table, n, 2 * sizeof(*table), cmp_entry);
	mod->synth_table = table;
	mod->fde_count = n;
	mod->hdr_vaddr = vaddr;     /* the base the entries are relative to */
	mod->has_synth = 1;
}
