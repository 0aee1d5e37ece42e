/*
 * schema.c - the database schema as an ordered list of migration steps.
 *
 * Step N takes a database from user_version N-1 to N.  A new database runs
 * every step; an old one runs the steps it lacks, each in its own
 * transaction together with the user_version bump, so a crash mid-way
 * leaves a database at a well-defined version.  Never edit a released
 * step: add a new one.
 *
 *   v1  core tables: sessions, per-session symbol tables (modules,
 *       functions, frames, stack_nodes, events) and packed sample blocks.
 *   v2  per-session statistics (session_stats), and the indexes that make
 *       reading one session of many cheap: sample blocks by session, and
 *       sessions by status (the abort fix-up at every open).
 */
#include <stdio.h>

#include "store/internal.h"

int pk_store_test_max_version;

static const char *const migrations[] = {
	/* v1 */
	"CREATE TABLE sessions ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" command TEXT, mode TEXT,"
	" status TEXT NOT NULL DEFAULT 'recording',"
	" host TEXT, kernel TEXT,"
	" pid INTEGER NOT NULL DEFAULT 0,"
	" recorder_pid INTEGER NOT NULL DEFAULT 0,"
	" frequency REAL NOT NULL DEFAULT 0,"
	" started_ns INTEGER NOT NULL DEFAULT 0,"
	" ended_ns INTEGER NOT NULL DEFAULT 0,"
	" exit_status INTEGER NOT NULL DEFAULT -1,"
	" samples INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE modules ("
	" session_id INTEGER NOT NULL, id INTEGER NOT NULL,"
	" path TEXT NOT NULL, build_id TEXT,"
	" PRIMARY KEY (session_id, id)) WITHOUT ROWID;"
	"CREATE TABLE functions ("
	" session_id INTEGER NOT NULL, id INTEGER NOT NULL,"
	" name TEXT NOT NULL, module_id INTEGER NOT NULL,"
	" PRIMARY KEY (session_id, id)) WITHOUT ROWID;"
	"CREATE TABLE frames ("
	" session_id INTEGER NOT NULL, id INTEGER NOT NULL,"
	" function_id INTEGER NOT NULL, module_id INTEGER NOT NULL,"
	" offset INTEGER NOT NULL, file TEXT, line INTEGER NOT NULL,"
	" PRIMARY KEY (session_id, id)) WITHOUT ROWID;"
	"CREATE TABLE stack_nodes ("
	" session_id INTEGER NOT NULL, id INTEGER NOT NULL,"
	" parent INTEGER NOT NULL, frame_id INTEGER NOT NULL,"
	" depth INTEGER NOT NULL,"
	" PRIMARY KEY (session_id, id)) WITHOUT ROWID;"
	"CREATE TABLE events ("
	" session_id INTEGER NOT NULL, id INTEGER NOT NULL,"
	" name TEXT NOT NULL, unit TEXT NOT NULL,"
	" PRIMARY KEY (session_id, id)) WITHOUT ROWID;"
	/* Samples packed by store/samples.c; a rowid table because the
	 * blobs are large (WITHOUT ROWID suits small rows only). */
	"CREATE TABLE sample_blocks ("
	" id INTEGER PRIMARY KEY,"
	" session_id INTEGER NOT NULL,"
	" event INTEGER NOT NULL,"   /* the only event in it, 0 = mixed */
	" first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,"
	" count INTEGER NOT NULL, data BLOB NOT NULL);",

	/* v2 */
	"CREATE TABLE session_stats ("
	" session_id INTEGER NOT NULL, key TEXT NOT NULL,"
	" value REAL NOT NULL,"
	" PRIMARY KEY (session_id, key)) WITHOUT ROWID;"
	"CREATE INDEX sample_blocks_by_session ON sample_blocks (session_id, id);"
	"CREATE INDEX sessions_by_status ON sessions (status);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int pk_store_schema_version(void)
{
	return N_MIGRATIONS;
}

/*
 * Apply steps from+1 .. to.  Each step runs with its user_version bump in
 * one IMMEDIATE transaction; another connection migrating at the same time
 * is detected by re-reading user_version inside the transaction.
 */
int pk_store_schema_migrate(struct pk_store *st, int from, int to)
{
	int v;

	for (v = from; v < to; v++) {
		char bump[64];
		sqlite3_stmt *q;
		int now = -1, rc;

		if (pk_store_exec(st, "BEGIN IMMEDIATE") != PK_STORE_OK)
			return PK_STORE_ERROR;
		q = pk_store_prepare(st, "PRAGMA user_version");
		if (!q)
			goto fail;
		if (sqlite3_step(q) == SQLITE_ROW)
			now = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
		if (now > v) {  /* someone else migrated meanwhile */
			if (pk_store_exec(st, "COMMIT") != PK_STORE_OK)
				goto fail;
			v = now - 1;
			continue;
		}
		if (v == 0) {
			char appid[64];

			snprintf(appid, sizeof(appid), "PRAGMA application_id = %d",
				 PK_STORE_APPLICATION_ID);
			if (pk_store_exec(st, appid) != PK_STORE_OK)
				goto fail;
		}
		rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			pk_store_sqlfail(st, "cannot migrate the schema");
			goto fail;
		}
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
		if (pk_store_exec(st, bump) != PK_STORE_OK)
			goto fail;
		if (pk_store_exec(st, "COMMIT") != PK_STORE_OK)
			goto fail;
		st->schema = v + 1;
	}
	return PK_STORE_OK;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return PK_STORE_ERROR;
}
