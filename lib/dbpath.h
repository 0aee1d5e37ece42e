/*
 * dbpath.h - where the session database lives.
 *
 * $PERFKIT_DB, else $XDG_DATA_HOME/perfkit/perfkit.db, else
 * ~/.local/share/perfkit/perfkit.db.  Under sudo (SUDO_UID set, running as
 * root) the invoking user's home and ownership are used, so that
 * "sudo perfkitd attach PID" and then "perfkit sessions list" agree.
 */
#ifndef PK_DBPATH_H
#define PK_DBPATH_H

#include <sys/types.h>

struct pk_dbpath {
	char *path;   /* the database file (malloc'd) */
	uid_t uid;    /* owner to give new files, or (uid_t)-1 to leave as is */
	gid_t gid;
};

/*
 * Resolve the database path.  explicit (from --db) wins when not NULL.
 * Returns 0, or -1 with a message in err when no home can be found.
 */
int pk_dbpath_resolve(const char *explicit, struct pk_dbpath *out, char *err, size_t errlen);

/*
 * Create the directories leading to the database (mode 0755), owned by
 * out->uid when set.  Returns 0 or -errno.
 */
int pk_dbpath_prepare(const struct pk_dbpath *db);

/*
 * Give path (and its -wal/-shm companions when present) to db->uid/gid;
 * no-op when not under sudo.
 */
void pk_dbpath_chown(const struct pk_dbpath *db, const char *path);

void pk_dbpath_release(struct pk_dbpath *db);

#endif
