/*
 * maps.c - reading a target's /proc/PID/maps into a sorted array of
 * mappings, and the lookups the unwinder and symbolizer need (see maps.h).
 *
 * A line is "START-END PERMS OFFSET MAJ:MIN INODE   PATH"; PATH may hold
 * spaces, may be a pseudo-name ("[vdso]", "[stack]", "anon_inode:...")
 * and may end in " (deleted)" when the file was unlinked or replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/maps.h"
#include "util.h"

static const char deleted_suffix[] = " (deleted)";

/* Read a whole /proc file (st_size is 0 there) into a NUL-terminated
 * buffer the caller frees.  NULL with *err = -errno on failure. */
static char *read_proc_file(const char *path, int *err)
{
	size_t cap = 16384, len = 0;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*err = 0;
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	buf = pk_xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			cap *= 2;
			buf = pk_xrealloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*err = -errno;
			close(fd);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static int parse_prot(const char *perms)
{
	int prot = 0;

	if (perms[0] == 'r')
		prot |= PROT_READ;
	if (perms[1] == 'w')
		prot |= PROT_WRITE;
	if (perms[2] == 'x')
		prot |= PROT_EXEC;
	return prot;
}

/*
 * Parse one line (without its newline) into *map.  Returns 0, or -1 when
 * the line is not in the kernel's format.
 */
static int parse_line(char *line, struct pk_mapping *map)
{
	unsigned long long start, end, offset, inode;
	unsigned major, minor;
	char perms[8];
	int pos = 0;
	char *path;
	size_t len;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu%n", &start, &end, perms, &offset,
		   &major, &minor, &inode, &pos) != 7 || pos == 0 || strlen(perms) < 3)
		return -1;
	memset(map, 0, sizeof(*map));
	map->start = start;
	map->end = end;
	map->offset = offset;
	map->inode = inode;
	map->dev_major = major;
	map->dev_minor = minor;
	map->prot = parse_prot(perms);

	/* The kernel pads with spaces before the path; the path itself may
	 * contain spaces, so only the leading run is skipped. */
	path = line + pos;
	while (*path == ' ' || *path == '\t')
		path++;
	len = strlen(path);
	if (len == 0)
		return 0;
	if (len > sizeof(deleted_suffix) - 1 &&
	    strcmp(path + len - (sizeof(deleted_suffix) - 1), deleted_suffix) == 0) {
		map->deleted = 1;
		len -= sizeof(deleted_suffix) - 1;
		path[len] = '\0';
	}
	/* "[vdso]", "[stack]", "[heap]", "[vsyscall]", "[anon:name]", and
	 * "anon_inode:[...]": no file perfkitd could open by that name. */
	if (path[0] != '/')
		map->special = 1;
	map->path = pk_xstrdup(path);
	return 0;
}

static int compare_start(const void *a, const void *b)
{
	const struct pk_mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void free_array(struct pk_mapping *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

int pk_maps_load(struct pk_maps *m, pid_t pid)
{
	char procpath[64], *text, *line, *next;
	struct pk_mapping *v = NULL;
	size_t n = 0, cap = 0;
	int sorted = 1, err;

	snprintf(procpath, sizeof(procpath), "/proc/%d/maps", (int)pid);
	text = read_proc_file(procpath, &err);
	if (!text)
		return err;
	for (line = text; *line; line = next) {
		struct pk_mapping map;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (parse_line(line, &map) < 0)
			continue;
		pk_xgrow((void **)&v, &cap, n + 1, sizeof(*v));
		if (n > 0 && map.start < v[n - 1].start)
			sorted = 0;
		v[n++] = map;
	}
	free(text);
	/* An empty maps file means the process is a zombie or exiting. */
	if (n == 0) {
		free(v);
		return -ESRCH;
	}
	if (!sorted)
		qsort(v, n, sizeof(*v), compare_start);

	free_array(m->v, m->n);
	m->pid = pid;
	m->v = v;
	m->n = n;
	m->generation++;
	return 0;
}

/* Frees the mappings; generation is kept so it never repeats a value. */
void pk_maps_release(struct pk_maps *m)
{
	if (!m)
		return;
	free_array(m->v, m->n);
	m->v = NULL;
	m->n = 0;
}

const struct pk_mapping *pk_maps_find(const struct pk_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pk_mapping *map = &m->v[mid];

		if (addr < map->start)
			hi = mid;
		else if (addr >= map->end)
			lo = mid + 1;
		else
			return map;
	}
	return NULL;
}

int pk_maps_open_path(const struct pk_maps *m, const struct pk_mapping *map, char *buf, size_t len)
{
	int r;

	if (!map->path || map->special || len == 0)
		return -1;
	if (map->deleted)
		r = snprintf(buf, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)m->pid,
			     map->start, map->end);
	else
		r = snprintf(buf, len, "/proc/%d/root%s", (int)m->pid, map->path);
	return r < 0 || (size_t)r >= len ? -1 : 0;
}

/*
 * The main thread's stack is "[stack]"; other threads' stacks are plain
 * anonymous read-write mappings (glibc allocates them with mmap), and a
 * signal handler may run on an alternate stack anywhere, [heap] included.
 * What matters for clipping a copy is the read-write mapping holding sp.
 */
const struct pk_mapping *pk_maps_find_stack(const struct pk_maps *m, uint64_t sp)
{
	const struct pk_mapping *map = pk_maps_find(m, sp);

	if (!map || (map->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
		return NULL;
	return map;
}
