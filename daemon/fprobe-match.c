/*
 * fprobe-match.c - which functions --probe patterns name in a live
 * process.  Every ELF file mapped executable in the target is read once
 * with libelf (.symtab, else .dynsym; defined STT_FUNC symbols); a name
 * matches a pattern by fnmatch(3), tried on the symbol as written and on
 * its demangled form; MODULE:GLOB also matches the file's basename.
 * Aliases (several names at one address) are one function.
 *
 * The symbolizer (symbols.h) answers "which function covers this
 * address" over merged alias tables; probes need the opposite, every name
 * including aliases, so the tables are read here directly.
 */
#include "daemon/fprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/demangle.h"
#include "error.h"
#include "util.h"

void pk_fprobe_matcher_init(struct pk_fprobe_matcher *m, const char **patterns, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->patterns = patterns;
	m->n_patterns = n;
	m->hits = pk_xcalloc(n ? n : 1, sizeof(*m->hits));
}

void pk_fprobe_matcher_release(struct pk_fprobe_matcher *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].module);
	}
	for (size_t i = 0; i < m->n_done; i++)
		free(m->done[i]);
	for (size_t i = 0; i < m->n_names; i++)
		free(m->names[i]);
	free(m->v);
	free(m->done);
	free(m->names);
	free(m->hits);
	memset(m, 0, sizeof(*m));
}

/* The ':' separating MODULE from GLOB, or NULL ("ns::f" has none). */
static const char *module_colon(const char *pattern)
{
	for (const char *c = strchr(pattern, ':'); c; c = strchr(c + 1, ':'))
		if (c[1] != ':' && (c == pattern || c[-1] != ':'))
			return c;
	return NULL;
}

int pk_fprobe_pattern_match(const char *pattern, const char *name, const char *module)
{
	const char *colon = module_colon(pattern);

	if (colon) {
		char mod[PATH_MAX];
		size_t len = (size_t)(colon - pattern);

		if (len >= sizeof(mod))
			return 0;
		memcpy(mod, pattern, len);
		mod[len] = '\0';
		if (!module || fnmatch(mod, module, 0) != 0)
			return 0;
		pattern = colon + 1;
	}
	return fnmatch(pattern, name, 0) == 0;
}

size_t pk_fprobe_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = pk_xcalloc(lb + 1, sizeof(*row)), d;

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

static int already_done(const struct pk_fprobe_matcher *m, const char *path)
{
	for (size_t i = 0; i < m->n_done; i++)
		if (strcmp(m->done[i], path) == 0)
			return 1;
	return 0;
}

static void add_name(struct pk_fprobe_matcher *m, const char *name)
{
	pk_xgrow((void **)&m->names, &m->cap_names, m->n_names + 1, sizeof(*m->names));
	m->names[m->n_names++] = pk_xstrdup(name);
}

/* Offer one symbol: record it for suggestions, match it, add it. */
static int offer(struct pk_fprobe_matcher *m, const char *raw, const char *module, uint64_t addr)
{
	char *dem = pk_demangle(raw);
	const char *name = dem ? dem : raw;
	int pattern = -1;

	add_name(m, name);
	{
	char *bare = NULL;

	/* "ns::f(int)" is also matched as "ns::f" */
	if (dem && strchr(dem, '(') && dem[strlen(dem) - 1] == ')')
		bare = pk_xasprintf("%.*s", (int)(strchr(dem, '(') - dem), dem);
	for (size_t i = 0; i < m->n_patterns && pattern < 0; i++)
		if (pk_fprobe_pattern_match(m->patterns[i], name, module) ||
		    (dem && pk_fprobe_pattern_match(m->patterns[i], raw, module)) ||
		    (bare && pk_fprobe_pattern_match(m->patterns[i], bare, module)))
			pattern = (int)i;
	free(bare);
	}
	if (pattern < 0) {
		free(dem);
		return 0;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].addr != addr)
			continue;
		/* an alias: keep the name with fewer leading underscores */
		if (strspn(name, "_") < strspn(m->v[i].name, "_")) {
			free(m->v[i].name);
			m->v[i].name = pk_xstrdup(name);
		}
		free(dem);
		return 0;
	}
	pk_xgrow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v));
	m->v[m->n].name = dem ? dem : pk_xstrdup(raw);
	m->v[m->n].module = pk_xstrdup(module);
	m->v[m->n].addr = addr;
	m->v[m->n].pattern = pattern;
	m->n++;
	m->hits[pattern]++;
	return 1;
}

static int has_symbols(Elf *e, GElf_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn)) != NULL)
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type && sh.sh_entsize &&
		    sh.sh_size / sh.sh_entsize > 1)
			return 1;
	return 0;
}

/* Search one file whose offset 0 is mapped at base.  Returns new matches. */
static int search_file(struct pk_fprobe_matcher *m, const char *open_path, const char *module,
		       uint64_t base)
{
	Elf *e;
	Elf_Scn *scn = NULL;
	uint64_t min_vaddr = UINT64_MAX, bias;
	size_t nph = 0;
	GElf_Word type;
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
	bias = base - min_vaddr;
	type = has_symbols(e, SHT_SYMTAB) ? SHT_SYMTAB : SHT_DYNSYM;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			/* IFUNC symbols name a resolver, not the function */
			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (name && *name)
				added += offer(m, name, module, bias + s.st_value);
		}
		break;
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return added;
}

int pk_fprobe_match_process(struct pk_fprobe_matcher *m, pid_t pid, const struct pk_maps *maps,
			    int main_only)
{
	char exe[PATH_MAX], link[64];
	ssize_t len;
	int total = 0;

	elf_version(EV_CURRENT);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (len < 0)
		return -errno;
	exe[len] = '\0';
	if (len > 10 && strcmp(exe + len - 10, " (deleted)") == 0)
		exe[len - 10] = '\0';
	for (size_t i = 0; i < maps->n;) {
		const struct pk_mapping *first = &maps->v[i];
		uint64_t base = 0;
		int seen_base = 0, exec = 0;
		char open_path[PATH_MAX];
		const char *slash;
		size_t j;

		if (!first->path || first->special) {
			i++;
			continue;
		}
		for (j = i; j < maps->n && maps->v[j].path && strcmp(maps->v[j].path, first->path) == 0;
		     j++) {
			if (maps->v[j].offset == 0 && !seen_base) {
				base = maps->v[j].start;
				seen_base = 1;
			}
			if (maps->v[j].prot & PROT_EXEC)
				exec = 1;
		}
		i = j;
		if (!seen_base || !exec || already_done(m, first->path))
			continue;
		if (main_only && strcmp(first->path, exe) != 0)
			continue;
		if (pk_maps_open_path(maps, first, open_path, sizeof(open_path)) < 0)
			continue;
		pk_xgrow((void **)&m->done, &m->cap_done, m->n_done + 1, sizeof(*m->done));
		m->done[m->n_done++] = pk_xstrdup(first->path);
		slash = strrchr(first->path, '/');
		total += search_file(m, open_path, slash ? slash + 1 : first->path, base);
	}
	return total;
}

/* The glob part of a pattern with wildcards removed, for distances. */
static void literal_of(const char *pattern, char *out, size_t len)
{
	const char *colon = module_colon(pattern);
	size_t n = 0;

	if (colon)
		pattern = colon + 1;
	for (; *pattern && n + 1 < len; pattern++)
		if (!strchr("*?[]", *pattern))
			out[n++] = *pattern;
	out[n] = '\0';
}

static void suggest(const struct pk_fprobe_matcher *m, const char *pattern)
{
	char lit[256], list[1024] = "";
	const char *best[3] = { NULL, NULL, NULL };
	size_t dist[3] = { SIZE_MAX, SIZE_MAX, SIZE_MAX }, limit;

	literal_of(pattern, lit, sizeof(lit));
	limit = strlen(lit) / 3 + 2;
	for (size_t i = 0; i < m->n_names; i++) {
		const char *name = m->names[i];
		size_t d, k;
		int dup = 0;

		if (name[0] == '_' && lit[0] != '_')
			continue;
		for (k = 0; k < 3; k++)
			if (best[k] && strcmp(best[k], name) == 0)
				dup = 1;
		if (dup)
			continue;
		d = strcasecmp(name, lit) == 0 ? 0 : pk_fprobe_edit_distance(lit, name);
		if (d > limit)
			continue;
		for (k = 0; k < 3 && dist[k] <= d; k++)
			;
		if (k == 3)
			continue;
		for (size_t s = 2; s > k; s--) {
			best[s] = best[s - 1];
			dist[s] = dist[s - 1];
		}
		best[k] = name;
		dist[k] = d;
	}
	for (size_t k = 0; k < 3 && best[k]; k++) {
		size_t used = strlen(list);

		snprintf(list + used, sizeof(list) - used, "%s'%s'", k ? ", " : "", best[k]);
	}
	if (list[0])
		pk_error("--probe '%s' matches no function; did you mean %s?", pattern, list);
	else
		pk_error("--probe '%s' matches no function in the program or its libraries; "
			 "check the name (perfkit report lists the sampled ones)", pattern);
}

size_t pk_fprobe_match_missing(const struct pk_fprobe_matcher *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_patterns; i++)
		n += !m->hits[i];
	return n;
}

int pk_fprobe_match_check(const struct pk_fprobe_matcher *m, long limit)
{
	int bad = 0;

	for (size_t i = 0; i < m->n_patterns; i++)
		if (!m->hits[i]) {
			suggest(m, m->patterns[i]);
			bad = 1;
		}
	if (bad)
		return -1;
	if (limit > 0 && m->n > (size_t)limit) {
		pk_error("--probe patterns match %zu functions, more than --probe-limit %ld; "
			 "narrow the patterns or raise --probe-limit", m->n, limit);
		return -1;
	}
	return 0;
}
