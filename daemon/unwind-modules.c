/*
 * unwind-modules.c - the target's ELF files as the unwinder sees them.
 *
 * Each file the target maps is mmap'ed here once, read-only, and its
 * program headers read with libelf: the PT_LOAD segments (to turn target
 * addresses into file offsets) and PT_GNU_EH_FRAME (.eh_frame_hdr, whose
 * sorted table libunwind binary-searches).  The vDSO has no file: it is
 * copied from the target once.  find_proc_info hands libunwind a
 * UNW_INFO_FORMAT_REMOTE_TABLE for the module of the IP; libunwind then
 * reads the table and the FDEs through access_mem, which this file serves
 * from the local images, so no unwind information costs a system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon/unwind-internal.h"
#include "util.h"

/* libunwind exports it but declares it only in its private headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/* Do not look for a dlopen'ed library more often than this. */
#define RELOAD_INTERVAL_NS 50000000ULL

/* DWARF pointer encodings used by .eh_frame_hdr. */
enum {
	PE_ABSPTR = 0x00, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03, PE_UDATA8 = 0x04,
	PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b, PE_SDATA8 = 0x0c,
	PE_PCREL = 0x10, PE_DATAREL = 0x30, PE_OMIT = 0xff
};

/*
 * Decode one encoded pointer at image[*pos] (whose ELF vaddr is vaddr),
 * relative to the header at hdr_vaddr.  Returns 0, or -1 for an encoding
 * .eh_frame_hdr should not use or a read past end.
 */
static int read_encoded(const unsigned char *image, size_t end, size_t *pos, unsigned enc,
			uint64_t vaddr, uint64_t hdr_vaddr, uint64_t *out)
{
	size_t n;
	uint64_t v = 0;
	int64_t sv;

	switch (enc & 0x0f) {
	case PE_ABSPTR: case PE_UDATA8: case PE_SDATA8: n = 8; break;
	case PE_UDATA4: case PE_SDATA4: n = 4; break;
	case PE_UDATA2: case PE_SDATA2: n = 2; break;
	default: return -1;
	}
	if (*pos + n > end)
		return -1;
	memcpy(&v, image + *pos, n);
	sv = (int64_t)v;
	if ((enc & 0x0f) == PE_SDATA4)
		sv = (int32_t)(uint32_t)v;
	else if ((enc & 0x0f) == PE_SDATA2)
		sv = (int16_t)(uint16_t)v;
	switch (enc & 0x70) {
	case 0: break;
	case PE_PCREL: sv += (int64_t)vaddr; break;
	case PE_DATAREL: sv += (int64_t)hdr_vaddr; break;
	default: return -1;
	}
	*pos += n;
	*out = (uint64_t)sv;
	return 0;
}

/* File offset of ELF vaddr inside a PT_LOAD's file bytes, or -1. */
static int64_t vaddr_to_offset(const struct pk_unwind_module *mod, uint64_t vaddr)
{
	for (int i = 0; i < mod->nseg; i++) {
		const struct pk_unwind_segment *s = &mod->seg[i];

		if (vaddr >= s->vaddr && vaddr < s->vaddr + s->filesz)
			return (int64_t)(s->offset + (vaddr - s->vaddr));
	}
	return -1;
}

/* Parse .eh_frame_hdr: version 1 with a datarel|sdata4 search table is the
 * only layout libunwind's table search understands. */
static void parse_eh_frame_hdr(struct pk_unwind_module *mod, uint64_t hdr_vaddr, uint64_t hdr_size)
{
	int64_t off = vaddr_to_offset(mod, hdr_vaddr);
	uint64_t eh_frame, count;
	size_t pos, end;

	if (off < 0 || (uint64_t)off + hdr_size > mod->size || hdr_size < 4)
		return;
	pos = (size_t)off;
	end = pos + hdr_size;
	const unsigned char *h = mod->image + pos;
	if (h[0] != 1 || h[3] != (PE_DATAREL | PE_SDATA4) || h[2] == PE_OMIT)
		return;
	pos += 4;
	if (read_encoded(mod->image, end, &pos, h[1], hdr_vaddr + (pos - (size_t)off), hdr_vaddr,
			 &eh_frame) < 0 ||
	    read_encoded(mod->image, end, &pos, h[2], hdr_vaddr + (pos - (size_t)off), hdr_vaddr,
			 &count) < 0)
		return;
	if (count == 0 || pos + count * 8 > end)
		return;
	mod->hdr_vaddr = hdr_vaddr;
	mod->table_vaddr = hdr_vaddr + (pos - (size_t)off);
	mod->fde_count = count;
	mod->has_table = 1;
}

/* Read the program headers of mod->image; sets usable on success. */
static void parse_elf(struct pk_unwind_module *mod)
{
	Elf *elf;
	GElf_Ehdr eh;
	size_t phnum;
	uint64_t hdr_vaddr = 0, hdr_size = 0;

	elf_version(EV_CURRENT);
	elf = elf_memory((char *)mod->image, mod->size);
	if (!elf)
		return;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64 ||
	    elf_getphdrnum(elf, &phnum) != 0)
		goto out;
	mod->text_lo = UINT64_MAX;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_GNU_EH_FRAME) {
			hdr_vaddr = ph.p_vaddr;
			hdr_size = ph.p_memsz;
		}
		if (ph.p_type != PT_LOAD || mod->nseg == PK_UNWIND_MAX_SEGMENTS)
			continue;
		struct pk_unwind_segment *s = &mod->seg[mod->nseg++];
		s->vaddr = ph.p_vaddr;
		s->offset = ph.p_offset;
		s->filesz = ph.p_filesz;
		if (s->offset > mod->size)
			s->filesz = 0;
		else if (s->filesz > mod->size - s->offset)
			s->filesz = mod->size - s->offset;
		s->writable = (ph.p_flags & PF_W) != 0;
		s->exec = (ph.p_flags & PF_X) != 0;
		if (s->exec) {
			if (ph.p_vaddr < mod->text_lo)
				mod->text_lo = ph.p_vaddr;
			if (ph.p_vaddr + ph.p_memsz > mod->text_hi)
				mod->text_hi = ph.p_vaddr + ph.p_memsz;
		}
	}
	if (mod->nseg == 0 || mod->text_lo == UINT64_MAX)
		goto out;
	mod->usable = 1;
	if (hdr_size)
		parse_eh_frame_hdr(mod, hdr_vaddr, hdr_size);
	if (!mod->has_table)
		pk_unwind_build_table(mod, elf);
out:
	elf_end(elf);
}

/* mmap the mapping's file; checks it is the very file the target maps. */
static void load_file(struct pk_unwinder *u, struct pk_unwind_module *mod,
		      const struct pk_mapping *map)
{
	char path[4096];
	struct stat st;
	void *p;
	int fd;

	if (pk_maps_open_path(u->maps, map, path, sizeof(path)) < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != map->inode || st.st_size <= 0 ||
	    !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return;
	mod->image = p;
	mod->size = (size_t)st.st_size;
	mod->mmapped = 1;
	parse_elf(mod);
}

/* Copy the vDSO out of the target (one process_vm_readv, not counted as
 * a fallback read: it happens once per unwinder). */
static void load_vdso(struct pk_unwinder *u, struct pk_unwind_module *mod,
		      const struct pk_mapping *map)
{
	size_t size = (size_t)(map->end - map->start);
	unsigned char *buf = malloc(size);
	struct iovec local = { buf, size };
	struct iovec remote = { (void *)(uintptr_t)map->start, size };

	if (!buf)
		return;
	if (process_vm_readv(u->pid, &local, 1, &remote, 1, 0) != (ssize_t)size) {
		free(buf);
		return;
	}
	mod->image = buf;
	mod->size = size;
	parse_elf(mod);
	/* The copy is a memory image: file offsets are vaddr - first vaddr. */
	if (mod->usable) {
		uint64_t base = mod->seg[0].vaddr - mod->seg[0].offset;

		mod->nseg = 1;
		mod->seg[0].vaddr = base;
		mod->seg[0].offset = 0;
		mod->seg[0].filesz = size;
		mod->seg[0].writable = 0;
		if (mod->has_table) {
			mod->has_table = 0;
			parse_eh_frame_hdr(mod, mod->hdr_vaddr,
					   size - (size_t)(mod->hdr_vaddr - base));
		}
	}
}

static struct pk_unwind_module *module_for(struct pk_unwinder *u, const struct pk_mapping *map)
{
	struct pk_unwind_module *mod;
	int vdso = map->special && strcmp(map->path, "[vdso]") == 0;

	if (!map->path || (map->special && !vdso))
		return NULL;
	for (mod = u->modules; mod; mod = mod->next) {
		if (vdso ? mod->is_vdso
			 : (!mod->is_vdso && mod->inode == map->inode &&
			    mod->dev_major == map->dev_major && mod->dev_minor == map->dev_minor &&
			    strcmp(mod->path, map->path) == 0))
			return mod->usable ? mod : NULL;
	}
	mod = pk_xcalloc(1, sizeof(*mod));
	mod->path = pk_xstrdup(map->path);
	mod->inode = map->inode;
	mod->dev_major = map->dev_major;
	mod->dev_minor = map->dev_minor;
	mod->is_vdso = vdso;
	if (vdso)
		load_vdso(u, mod, map);
	else
		load_file(u, mod, map);
	/* Not ELF, or not ours to parse: remember that, keep no image. */
	if (!mod->usable && mod->image) {
		if (mod->mmapped)
			munmap((void *)mod->image, mod->size);
		else
			free((void *)mod->image);
		mod->image = NULL;
		mod->size = 0;
	}
	mod->next = u->modules;
	u->modules = mod;
	return mod->usable ? mod : NULL;
}

static int same_file(const struct pk_mapping *a, const struct pk_mapping *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && a->path && b->path && strcmp(a->path, b->path) == 0;
}

/*
 * Load bias of the mapping at index i.  A file's offset 0 belongs to its
 * first PT_LOAD only, so the nearest mapping of the same file at or below
 * i with offset 0 fixes the bias of the whole load.  Other offsets can be
 * ambiguous: the last page of one segment is often the first of the next
 * (mapped twice, at different addresses), so they are the fallback.
 */
static int mapping_bias(const struct pk_unwind_module *mod, const struct pk_maps *maps, size_t i,
			uint64_t *bias)
{
	const struct pk_mapping *map = &maps->v[i];
	const struct pk_unwind_segment *best = NULL;
	size_t j = i;

	if (mod->is_vdso) {
		*bias = map->start - mod->seg[0].vaddr;
		return 0;
	}
	while (j > 0 && maps->v[j].offset != 0 && same_file(&maps->v[j - 1], map))
		j--;
	if (maps->v[j].offset == 0 && same_file(&maps->v[j], map)) {
		const struct pk_unwind_segment *first = &mod->seg[0];

		for (int k = 1; k < mod->nseg; k++)
			if (mod->seg[k].offset < first->offset)
				first = &mod->seg[k];
		*bias = maps->v[j].start - (first->vaddr - first->offset);
		return 0;
	}
	for (int k = 0; k < mod->nseg; k++) {
		const struct pk_unwind_segment *s = &mod->seg[k];

		if ((s->offset & ~(uint64_t)4095) <= map->offset &&
		    (!best || s->offset >= best->offset))
			best = s;
	}
	if (!best)
		return -1;
	*bias = map->start - (best->vaddr - best->offset + map->offset);
	return 0;
}

static void reindex(struct pk_unwinder *u)
{
	if (u->slots_valid && u->slots_generation != u->maps->generation)
		unw_flush_cache(u->as, 0, 0);
	free(u->slots);
	u->nslots = u->maps->n;
	u->slots = pk_xcalloc(u->nslots ? u->nslots : 1, sizeof(*u->slots));
	u->slots_generation = u->maps->generation;
	u->slots_valid = 1;
	memset(u->hit, 0, sizeof(u->hit));
}

/* Reload the maps (a dlopen may have added the address), at most once per
 * unwind and once per RELOAD_INTERVAL_NS. */
static int maybe_reload(struct pk_unwinder *u)
{
	uint64_t now;

	if (u->reloaded)
		return 0;
	now = pk_monotonic_ns();
	if (u->last_reload_ns && now - u->last_reload_ns < RELOAD_INTERVAL_NS)
		return 0;
	u->reloaded = 1;
	u->last_reload_ns = now;
	return pk_maps_load(u->maps, u->pid) == 0;
}

struct pk_unwind_slot *pk_unwind_slot_for(struct pk_unwinder *u, uint64_t addr, int is_ip,
					  const struct pk_mapping **map_out)
{
	const struct pk_mapping *map;
	struct pk_unwind_slot *slot;

	if (!u->slots_valid || u->slots_generation != u->maps->generation)
		reindex(u);
	map = pk_maps_find(u->maps, addr);
	if (!map && is_ip && maybe_reload(u)) {
		reindex(u);
		map = pk_maps_find(u->maps, addr);
	}
	if (!map)
		return NULL;
	slot = &u->slots[map - u->maps->v];
	if (!slot->resolved) {
		slot->resolved = 1;
		slot->module = module_for(u, map);
		if (slot->module && mapping_bias(slot->module, u->maps, (size_t)(map - u->maps->v), &slot->bias) < 0)
			slot->module = NULL;
	}
	if (map_out)
		*map_out = map;
	return slot;
}

int pk_unwind_local_read(struct pk_unwinder *u, uint64_t addr, uint64_t *val)
{
	const struct pk_mapping *map;
	struct pk_unwind_slot *slot;
	struct pk_unwind_range *r;
	uint64_t v = 0, vaddr;
	int i;

	for (i = 0; i < 2; i++) {
		r = &u->hit[i];
		if (addr >= r->lo && addr < r->hi)
			goto copy;
	}
	if (addr >= PK_UNWIND_SYNTH_BASE) {
		struct pk_unwind_module *m;

		for (m = u->modules; m; m = m->next) {
			uint64_t len = m->fde_count * 8;

			if (m->has_synth && m->synth_addr && addr >= m->synth_addr &&
			    addr < m->synth_addr + len) {
				memcpy(&v, (const unsigned char *)m->synth_table + (addr - m->synth_addr),
				       addr + 8 <= m->synth_addr + len ? 8 : m->synth_addr + len - addr);
				*val = v;
				return 0;
			}
		}
		return -1;
	}
	slot = pk_unwind_slot_for(u, addr, 0, &map);
	if (!slot || !slot->module)
		return -1;
	vaddr = addr - slot->bias;
	for (i = 0; i < slot->module->nseg; i++) {
		const struct pk_unwind_segment *s = &slot->module->seg[i];
		uint64_t lo, hi;

		if (s->writable || vaddr < s->vaddr || vaddr >= s->vaddr + s->filesz)
			continue;
		/* Writable segments (data, RELRO) differ from the file once
		 * relocated: those are never served from the image. */
		lo = s->vaddr + slot->bias;
		hi = lo + s->filesz;
		if (lo < map->start)
			lo = map->start;
		if (hi > map->end)
			hi = map->end;
		u->hit[1] = u->hit[0];
		r = &u->hit[0];
		r->lo = lo;
		r->hi = hi;
		r->local = slot->module->image + s->offset + (lo - slot->bias - s->vaddr);
		goto copy;
	}
	return -1;
copy:
	memcpy(&v, r->local + (addr - r->lo), addr + 8 <= r->hi ? 8 : r->hi - addr);
	*val = v;
	return 0;
}

int pk_unwind_find_proc_info(struct pk_unwinder *u, unw_word_t ip, unw_proc_info_t *pi,
			     int need_unwind_info)
{
	struct pk_unwind_slot *slot = pk_unwind_slot_for(u, ip, 1, NULL);
	const struct pk_unwind_module *mod;
	unw_dyn_info_t di;

	if (!slot || !slot->module || !(slot->module->has_table || slot->module->has_synth))
		return -UNW_ENOINFO;
	mod = slot->module;
	if (mod->has_synth && !mod->synth_addr)
		slot->module->synth_addr = PK_UNWIND_SYNTH_BASE + (uint64_t)u->synth_count++ * PK_UNWIND_SYNTH_WINDOW;
	memset(&di, 0, sizeof(di));
	di.start_ip = slot->bias + mod->text_lo;
	di.end_ip = slot->bias + mod->text_hi;
	if (ip < di.start_ip || ip >= di.end_ip)
		return -UNW_ENOINFO;
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.u.rti.segbase = slot->bias + mod->hdr_vaddr;
	di.u.rti.table_data = mod->has_synth ? mod->synth_addr : slot->bias + mod->table_vaddr;
	/* In words; a table entry is two int32s, one 64-bit word. */
	di.u.rti.table_len = mod->fde_count * 8 / sizeof(unw_word_t);
	return _Ux86_64_dwarf_search_unwind_table(u->as, ip, &di, pi, need_unwind_info, u);
}

void pk_unwind_modules_free(struct pk_unwinder *u)
{
	struct pk_unwind_module *mod, *next;

	for (mod = u->modules; mod; mod = next) {
		next = mod->next;
		if (mod->image && mod->mmapped)
			munmap((void *)mod->image, mod->size);
		else
			free((void *)mod->image);
		free(mod->path);
		free(mod->synth_table);
		pk_unwind_module_cfi_end(mod);
		free(mod);
	}
	u->modules = NULL;
	free(u->slots);
	u->slots = NULL;
	u->nslots = 0;
	u->slots_valid = 0;
	memset(u->hit, 0, sizeof(u->hit));
}
