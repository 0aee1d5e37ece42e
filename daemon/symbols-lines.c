/*
 * symbols-lines.c - source file and line of an address, from the DWARF line
 * tables with libdw.
 *
 * The compilation units' address ranges are read once into a sorted array
 * (from DW_AT_low_pc/high_pc/ranges, so .debug_aranges is not needed:
 * Clang does not emit it by default).  A lookup binary-searches that array,
 * then the unit's line table, which libdw parses once and keeps sorted by
 * address.  Where several rows share an address, the last one holds (as in
 * the DWARF line-number state machine), which is what optimized code with
 * location views needs.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "daemon/symbols-int.h"
#include "util.h"

/* A compilation unit and, once first needed, its line table with the
 * rows' addresses copied into one dense array: the binary search then
 * touches 8 bytes per step instead of a whole Dwarf_Line. */
struct unit {
	Dwarf_Die cudie;
	Dwarf_Lines *lines;
	uint64_t *addrs;
	size_t nlines;
	int state; /* 0 not read, 1 read, -1 no line table */
};

struct unit_range {
	uint64_t low, high; /* [low, high) */
	size_t unit;        /* index in units */
};

struct pk_sym_lines {
	Elf *elf;
	Dwarf *dwarf;
	struct unit *units;
	size_t nunits, capunits;
	struct unit_range *ranges;
	size_t nranges, capranges;
	int ranges_read;
};

struct pk_sym_lines *pk_sym_lines_new(Elf *elf)
{
	struct pk_sym_lines *l;
	Dwarf *dwarf = dwarf_begin_elf(elf, DWARF_C_READ, NULL);

	if (dwarf == NULL) {
		elf_end(elf);
		return NULL;
	}
	l = pk_xcalloc(1, sizeof(*l));
	l->elf = elf;
	l->dwarf = dwarf;
	return l;
}

static int compare_ranges(const void *pa, const void *pb)
{
	const struct unit_range *a = pa, *b = pb;

	if (a->low != b->low)
		return a->low < b->low ? -1 : 1;
	return a->high < b->high ? -1 : a->high > b->high;
}

static void read_ranges(struct pk_sym_lines *l)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;

	l->ranges_read = 1;
	while (dwarf_get_units(l->dwarf, cu, &cu, NULL, &unit_type, &cudie, NULL) == 0) {
		Dwarf_Addr base, low, high;
		ptrdiff_t off = 0;

		if (dwarf_tag(&cudie) != DW_TAG_compile_unit)
			continue;
		pk_xgrow((void **)&l->units, &l->capunits, l->nunits + 1, sizeof(*l->units));
		memset(&l->units[l->nunits], 0, sizeof(*l->units));
		l->units[l->nunits].cudie = cudie;
		while ((off = dwarf_ranges(&cudie, off, &base, &low, &high)) > 0) {
			if (high <= low)
				continue;
			pk_xgrow((void **)&l->ranges, &l->capranges, l->nranges + 1,
				 sizeof(*l->ranges));
			l->ranges[l->nranges].low = low;
			l->ranges[l->nranges].high = high;
			l->ranges[l->nranges].unit = l->nunits;
			l->nranges++;
		}
		l->nunits++;
	}
	if (l->nranges > 0)
		qsort(l->ranges, l->nranges, sizeof(*l->ranges), compare_ranges);
}

static struct unit *unit_of(struct pk_sym_lines *l, uint64_t vaddr)
{
	size_t lo = 0, hi;

	if (!l->ranges_read)
		read_ranges(l);
	hi = l->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->ranges[mid].low <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Units do not overlap in sane output; look back a little in case
	 * one range is nested in another. */
	for (size_t i = lo, tries = 0; i > 0 && tries < 4; i--, tries++) {
		if (vaddr < l->ranges[i - 1].high)
			return &l->units[l->ranges[i - 1].unit];
	}
	return NULL;
}

/* Read the unit's line table and copy out the row addresses, once. */
static int unit_lines(struct unit *u)
{
	if (u->state == 0) {
		u->state = -1;
		if (dwarf_getsrclines(&u->cudie, &u->lines, &u->nlines) != 0 || u->nlines == 0)
			return -1;
		u->addrs = pk_xcalloc(u->nlines, sizeof(*u->addrs));
		for (size_t i = 0; i < u->nlines; i++) {
			Dwarf_Line *row = dwarf_onesrcline(u->lines, i);
			Dwarf_Addr addr;

			if (row == NULL || dwarf_lineaddr(row, &addr) != 0) {
				free(u->addrs);
				u->addrs = NULL;
				return -1;
			}
			u->addrs[i] = addr;
		}
		u->state = 1;
	}
	return u->state == 1 ? 0 : -1;
}

int pk_sym_lines_find(struct pk_sym_lines *l, uint64_t vaddr, const char **file, int *line)
{
	struct unit *u = unit_of(l, vaddr);
	Dwarf_Line *row;
	size_t lo = 0, hi;
	bool end_sequence;
	const char *src;

	if (u == NULL || unit_lines(u) != 0)
		return -1;
	/* The last row at or below vaddr.  libdw sorts the rows by address,
	 * an end-of-sequence row before the normal rows at its address, and
	 * keeps the table's order otherwise. */
	hi = u->nlines;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u->addrs[mid] <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	row = dwarf_onesrcline(u->lines, lo - 1);
	if (row == NULL || dwarf_lineendsequence(row, &end_sequence) != 0 || end_sequence)
		return -1;
	src = dwarf_linesrc(row, NULL, NULL);
	if (src == NULL || dwarf_lineno(row, line) != 0 || *line <= 0)
		return -1;
	*file = src;
	return 0;
}

void pk_sym_lines_free(struct pk_sym_lines *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nunits; i++)
		free(l->units[i].addrs);
	free(l->units);
	dwarf_end(l->dwarf);
	elf_end(l->elf);
	free(l->ranges);
	free(l);
}
