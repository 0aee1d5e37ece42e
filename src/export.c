/*
 * export.c - the table of export backends, and output files that appear
 * whole or not at all (see export.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "src/export.h"
#include "util.h"

const struct pk_exporter *const pk_exporters[] = {
	&pk_export_folded,
	&pk_export_pprof,
	&pk_export_speedscope,
	NULL,
};

const struct pk_exporter *pk_exporter_find(const char *name)
{
	size_t i;

	for (i = 0; pk_exporters[i]; i++)
		if (!strcmp(pk_exporters[i]->name, name))
			return pk_exporters[i];
	return NULL;
}

char *pk_export_folded_name(const char *name)
{
	char *s = pk_xstrdup(name), *p;

	for (p = s; *p; p++) {
		if (*p == ';')
			*p = ':';
		else if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	return s;
}

int pk_outfile_open(struct pk_outfile *o, const char *path)
{
	struct stat st;
	const char *base;
	mode_t mask;
	int fd;

	memset(o, 0, sizeof(*o));
	if (!path || !strcmp(path, "-")) {
		o->fp = stdout;
		return 0;
	}
	/* Only a new file or an existing regular file is replaced by rename.
	 * A symbolic link (/dev/stdout), a device or a fifo is written in
	 * place: renaming over it would replace the link or the device. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
	    !(stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
		o->fp = fopen(path, "w");
		if (!o->fp) {
			pk_error("cannot write '%s': %s", path, strerror(errno));
			return -1;
		}
		o->path = pk_xstrdup(path);
		return 0;
	}
	base = pk_basename(path);
	if (!*base || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
		pk_error("cannot write '%s': it names a directory; give a file name", path);
		return -1;
	}
	/* Same directory, so the final rename is atomic. */
	o->tmp = pk_xasprintf("%.*s.%s.tmpXXXXXX", (int)(base - path), path, base);
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		pk_error("cannot write '%s': %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	/* mkstemp makes 0600; give the file the mode a plain open would. */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0) {
		/* Not fatal: the file is merely private. */
	}
	o->fp = fdopen(fd, "w");
	if (!o->fp) {
		pk_error("cannot write '%s': %s", path, strerror(errno));
		close(fd);
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	setvbuf(o->fp, NULL, _IOFBF, 1 << 16);
	o->path = pk_xstrdup(path);
	return 0;
}

int pk_outfile_commit(struct pk_outfile *o)
{
	int err = 0;

	if (!o->fp)
		return -1;
	if (!o->tmp) {
		/* stdout, or a device written in place */
		int failed = fflush(o->fp) != 0 || ferror(o->fp);

		if (o->path && fclose(o->fp) != 0)
			failed = 1;
		o->fp = NULL;
		if (failed && errno != EPIPE)
			pk_perror("cannot write '%s'", o->path ? o->path : "standard output");
		free(o->path);
		o->path = NULL;
		return failed ? -1 : 0;
	}
	if (fflush(o->fp) != 0 || ferror(o->fp))
		err = errno ? errno : EIO;
	if (fclose(o->fp) != 0 && !err)
		err = errno ? errno : EIO;
	o->fp = NULL;
	if (!err && rename(o->tmp, o->path) < 0)
		err = errno;
	if (err) {
		pk_error("cannot write '%s': %s", o->path, strerror(err));
		unlink(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	return err ? -1 : 0;
}

void pk_outfile_abort(struct pk_outfile *o)
{
	if (!o)
		return;
	if (o->tmp) {
		if (o->fp)
			fclose(o->fp);
		unlink(o->tmp);
	} else if (o->path && o->fp) {
		fclose(o->fp);
	}
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}
