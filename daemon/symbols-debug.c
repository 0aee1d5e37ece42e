/*
 * symbols-debug.c - finding the separate debug file of a stripped ELF
 * file, the way gdb and elfutils look: by build-id under
 * /usr/lib/debug/.build-id/, then by the .gnu_debuglink name (with its
 * CRC-32 checked) beside the file, in its .debug/ subdirectory and under
 * /usr/lib/debug/<dir>/.  Every path is taken under a debug root, so a
 * process in another mount namespace resolves against its own files
 * (/proc/PID/root).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>
#include <zlib.h>

#include "daemon/symbols-int.h"
#include "util.h"

static Elf *elf_from_fd(int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);

	if (elf == NULL)
		return NULL;
	/* Read whatever mmap did not cover, then forget the descriptor:
	 * thousands of modules must not hold thousands of descriptors. */
	if (elf_kind(elf) != ELF_K_ELF || elf_cntl(elf, ELF_C_FDREAD) != 0) {
		elf_end(elf);
		return NULL;
	}
	return elf;
}

Elf *pk_sym_elf_open(const char *path, struct stat *st)
{
	struct stat local, *sp = st != NULL ? st : &local;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;

	if (fd < 0)
		return NULL;
	if (fstat(fd, sp) != 0 || !S_ISREG(sp->st_mode)) {
		close(fd);
		return NULL;
	}
	elf = elf_from_fd(fd);
	close(fd);
	return elf;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a != NULL && b != NULL && a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A debug file named by build-id must carry that build-id. */
static Elf *open_by_build_id(const char *path, const char *build_id, const struct stat *main_st)
{
	struct stat st;
	Elf *elf = pk_sym_elf_open(path, &st);
	char *id;

	if (elf == NULL)
		return NULL;
	id = pk_sym_elf_build_id(elf);
	if (same_file(&st, main_st) || id == NULL || strcmp(id, build_id) != 0) {
		free(id);
		elf_end(elf);
		return NULL;
	}
	free(id);
	return elf;
}

static int file_crc32(int fd, uLong *crc)
{
	unsigned char buf[64 * 1024];
	off_t pos = 0;
	ssize_t got;

	*crc = crc32(0L, Z_NULL, 0);
	for (;;) {
		got = pread(fd, buf, sizeof(buf), pos);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			return 0;
		*crc = crc32(*crc, buf, (uInt)got);
		pos += got;
	}
}

/* A debug file named by .gnu_debuglink must match the recorded CRC. */
static Elf *open_by_debuglink(const char *path, GElf_Word want_crc, const struct stat *main_st)
{
	struct stat st;
	uLong crc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !same_file(&st, main_st) &&
	    file_crc32(fd, &crc) == 0 && (GElf_Word)crc == want_crc)
		elf = elf_from_fd(fd);
	close(fd);
	return elf;
}

/* The debug root without its trailing slashes ("" for "/"). */
static char *root_prefix(const char *debug_root)
{
	char *root = pk_xstrdup(debug_root != NULL ? debug_root : "/");
	size_t len = strlen(root);

	while (len > 0 && root[len - 1] == '/')
		root[--len] = '\0';
	return root;
}

static Elf *find_by_debuglink(const char *open_path, const char *root, Elf *main_elf,
			      const struct stat *main_st)
{
	GElf_Word crc = 0;
	const char *link = dwelf_elf_gnu_debuglink(main_elf, &crc);
	const char *slash, *target_dir;
	char *dir, *candidates[3];
	size_t root_len = strlen(root);
	Elf *elf = NULL;

	if (link == NULL || link[0] == '\0' || strchr(link, '/') != NULL)
		return NULL;
	slash = strrchr(open_path, '/');
	dir = slash != NULL ? pk_xasprintf("%.*s", (int)(slash - open_path), open_path)
			    : pk_xstrdup(".");
	/* The directory as the target sees it, for /usr/lib/debug/DIR. */
	target_dir = dir;
	if (root_len > 0 && strncmp(dir, root, root_len) == 0 && dir[root_len] == '/')
		target_dir = dir + root_len;

	candidates[0] = pk_xasprintf("%s/%s", dir, link);
	candidates[1] = pk_xasprintf("%s/.debug/%s", dir, link);
	candidates[2] = target_dir[0] == '/'
				? pk_xasprintf("%s/usr/lib/debug%s/%s", root, target_dir, link)
				: NULL;
	for (size_t i = 0; i < 3 && elf == NULL; i++) {
		if (candidates[i] != NULL)
			elf = open_by_debuglink(candidates[i], crc, main_st);
	}
	for (size_t i = 0; i < 3; i++)
		free(candidates[i]);
	free(dir);
	return elf;
}

Elf *pk_sym_debug_open(const char *open_path, const char *debug_root, Elf *main_elf,
		       const char *build_id, const struct stat *main_st)
{
	char *root = root_prefix(debug_root);
	Elf *elf = NULL;

	if (build_id != NULL && strlen(build_id) > 2) {
		char *path = pk_xasprintf("%s/usr/lib/debug/.build-id/%.2s/%s.debug", root, build_id,
					  build_id + 2);

		elf = open_by_build_id(path, build_id, main_st);
		free(path);
	}
	if (elf == NULL && open_path != NULL)
		elf = find_by_debuglink(open_path, root, main_elf, main_st);
	free(root);
	return elf;
}
