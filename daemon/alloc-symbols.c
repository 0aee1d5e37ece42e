/*
 * alloc-symbols.c - finding the allocator functions of a live process:
 * every ELF file mapped in it is read once with libelf and the malloc
 * family and C++ operator new/delete found in its dynamic symbol table
 * (and, for a static executable, its .symtab) are offered to
 * pk_alloc_add_function with their run-time addresses.  A malloc
 * replacement (jemalloc, tcmalloc, a preloaded library) is found the same
 * way as glibc's.
 */
#include "daemon/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/maps.h"

struct module_span {
	const char *path;
	uint64_t base;          /* start of the mapping at file offset 0 */
	uint64_t xstart, xend;  /* executable mappings, as one range */
	int seen_base;
};

/* Add the allocator functions of one ELF file; returns probes added. */
static int add_file(struct pk_alloc *a, const char *open_path, const struct module_span *m,
		    int use_symtab)
{
	Elf *e;
	Elf_Scn *scn = NULL;
	uint64_t min_vaddr = UINT64_MAX, bias;
	size_t nph = 0;
	int fd, added = 0;

	fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nph) != 0)
		goto out;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < min_vaddr)
			min_vaddr = ph.p_vaddr & ~(uint64_t)4095;
	}
	if (min_vaddr == UINT64_MAX)
		goto out;
	bias = m->base - min_vaddr;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize)
			continue;
		if (sh.sh_type != SHT_DYNSYM && !(use_symtab && sh.sh_type == SHT_SYMTAB))
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;
			int r;

			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || pk_alloc_fn_of(name) < 0)
				continue;
			r = pk_alloc_add_function_sized(a, name, bias + s.st_value, s.st_size, m->xstart,
							m->xend);
			if (r > 0)
				added++;
		}
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return added;
}

int pk_alloc_add_process(struct pk_alloc *a, pid_t pid)
{
	struct pk_maps maps = { 0 };
	int err, total = 0, have_shared_libc = 0;

	elf_version(EV_CURRENT);
	err = pk_maps_load(&maps, pid);
	if (err < 0)
		return err;
	for (size_t i = 0; i < maps.n; i++)
		if (maps.v[i].path && strstr(maps.v[i].path, "/libc.so"))
			have_shared_libc = 1;
	/* one pass per distinct file: its mappings are adjacent in the list */
	for (size_t i = 0; i < maps.n;) {
		const struct pk_mapping *first = &maps.v[i];
		struct module_span m = { first->path, 0, 0, 0, 0 };
		char open_path[PATH_MAX];
		size_t j;

		if (!first->path || first->special) {
			i++;
			continue;
		}
		for (j = i; j < maps.n && maps.v[j].path && strcmp(maps.v[j].path, first->path) == 0;
		     j++) {
			const struct pk_mapping *mp = &maps.v[j];

			if (mp->offset == 0 && !m.seen_base) {
				m.base = mp->start;
				m.seen_base = 1;
			}
			if (mp->prot & PROT_EXEC) {
				if (!m.xstart || mp->start < m.xstart)
					m.xstart = mp->start;
				if (mp->end > m.xend)
					m.xend = mp->end;
			}
		}
		if (m.seen_base && m.xend && pk_maps_open_path(&maps, first, open_path,
								 sizeof(open_path)) == 0)
			/* .symtab only for a static executable: elsewhere a
			 * local function named like an allocator is not one */
			total += add_file(a, open_path, &m, !have_shared_libc);
		i = j;
	}
	pk_maps_release(&maps);
	return total;
}
