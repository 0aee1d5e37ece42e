/*
 * dbpath.c - locating the session database (see dbpath.h).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbpath.h"
#include "util.h"

/* Under sudo: the invoking user's passwd entry, else NULL. */
static const struct passwd *sudo_user(void)
{
	const char *s = getenv("SUDO_UID");
	long uid;

	if (geteuid() != 0 || !s || pk_parse_long(s, &uid) < 0 || uid == 0)
		return NULL;
	return getpwuid((uid_t)uid);
}

int pk_dbpath_resolve(const char *explicit, struct pk_dbpath *out, char *err, size_t errlen)
{
	const struct passwd *pw = sudo_user();
	const char *env = getenv("PERFKIT_DB");
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home;

	out->path = NULL;
	out->uid = pw ? pw->pw_uid : (uid_t)-1;
	out->gid = pw ? pw->pw_gid : (gid_t)-1;
	if (explicit && *explicit) {
		out->path = pk_xstrdup(explicit);
		return 0;
	}
	if (env && *env) {
		out->path = pk_xstrdup(env);
		return 0;
	}
	/* Under sudo, root's XDG_DATA_HOME is not the user's: use the home. */
	if (!pw && xdg && *xdg && xdg[0] == '/') {
		out->path = pk_xasprintf("%s/perfkit/perfkit.db", xdg);
		return 0;
	}
	home = pw ? pw->pw_dir : getenv("HOME");
	if (!home || !*home) {
		const struct passwd *me = getpwuid(getuid());

		home = me ? me->pw_dir : NULL;
	}
	if (!home || !*home) {
		snprintf(err, errlen, "cannot find a home directory for the session database; "
			 "set PERFKIT_DB or pass --db PATH");
		return -1;
	}
	out->path = pk_xasprintf("%s/.local/share/perfkit/perfkit.db", home);
	return 0;
}

int pk_dbpath_prepare(const struct pk_dbpath *db)
{
	char *dir = pk_xstrdup(db->path);
	char *p;
	int rc = 0;

	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			if (db->uid != (uid_t)-1 && chown(dir, db->uid, db->gid) < 0)
				rc = -errno;
		} else if (errno != EEXIST) {
			rc = -errno;
			break;
		}
		*p = '/';
	}
	free(dir);
	return rc;
}

void pk_dbpath_chown(const struct pk_dbpath *db, const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	size_t i;

	if (db->uid == (uid_t)-1)
		return;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char *p = pk_xasprintf("%s%s", path, suffixes[i]);

		/* Best effort: the data is written either way. */
		if (chown(p, db->uid, db->gid) < 0) {
			free(p);
			continue;
		}
		free(p);
	}
}

void pk_dbpath_release(struct pk_dbpath *db)
{
	if (!db)
		return;
	free(db->path);
	db->path = NULL;
}
