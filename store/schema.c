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
 *   v3  allocation tracking (store/allocs.c): per-session summary and mode,
 *       per-stack aggregates, live allocations at the end by stack and
 *       size, the memory-usage timeline and the armed windows; a trigger
 *       removes them with their session.
 *   v4  function probes (store/probes.c): per probed function and thread,
 *       calls, lost calls, total/self time and latency percentiles.
 *   v5  perf_event counters per session and thread with the status of
 *       each event, and cachegrind results per function and source line
 *       with the simulated geometry (store/counters.c).
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

	/* v3 */
	"CREATE TABLE alloc_sessions ("
	" session_id INTEGER PRIMARY KEY,"
	" mode TEXT NOT NULL,"          /* 'full' or 'windowed' */
	" window_ns INTEGER NOT NULL DEFAULT 0, period_ns INTEGER NOT NULL DEFAULT 0,"
	" armed_ns INTEGER NOT NULL DEFAULT 0, traced_ns INTEGER NOT NULL DEFAULT 0,"
	" alloc_calls INTEGER NOT NULL DEFAULT 0, free_calls INTEGER NOT NULL DEFAULT 0,"
	" bytes_allocated INTEGER NOT NULL DEFAULT 0, bytes_freed INTEGER NOT NULL DEFAULT 0,"
	" peak_bytes INTEGER NOT NULL DEFAULT 0, peak_ns INTEGER NOT NULL DEFAULT 0,"
	" live_bytes INTEGER NOT NULL DEFAULT 0, live_count INTEGER NOT NULL DEFAULT 0,"
	" unknown_frees INTEGER NOT NULL DEFAULT 0, failed_allocs INTEGER NOT NULL DEFAULT 0,"
	" nested_calls INTEGER NOT NULL DEFAULT 0, lost_returns INTEGER NOT NULL DEFAULT 0,"
	" target_exited INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE alloc_stacks ("
	" session_id INTEGER NOT NULL, stack_id INTEGER NOT NULL,"
	" allocs INTEGER NOT NULL, bytes INTEGER NOT NULL,"
	" frees INTEGER NOT NULL, bytes_freed INTEGER NOT NULL,"
	" live_count INTEGER NOT NULL, live_bytes INTEGER NOT NULL,"
	" peak_bytes INTEGER NOT NULL,"
	" PRIMARY KEY (session_id, stack_id)) WITHOUT ROWID;"
	"CREATE TABLE alloc_live ("
	" session_id INTEGER NOT NULL, stack_id INTEGER NOT NULL,"
	" size INTEGER NOT NULL, count INTEGER NOT NULL,"
	" PRIMARY KEY (session_id, stack_id, size)) WITHOUT ROWID;"
	"CREATE TABLE alloc_timeline ("
	" session_id INTEGER NOT NULL, time_ns INTEGER NOT NULL,"
	" live_bytes INTEGER NOT NULL, live_count INTEGER NOT NULL,"
	" alloc_calls INTEGER NOT NULL, free_calls INTEGER NOT NULL,"
	" armed INTEGER NOT NULL,"
	" PRIMARY KEY (session_id, time_ns)) WITHOUT ROWID;"
	"CREATE TABLE alloc_windows ("
	" session_id INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,"
	" PRIMARY KEY (session_id, start_ns)) WITHOUT ROWID;"
	"CREATE TRIGGER alloc_session_removed AFTER DELETE ON sessions BEGIN"
	" DELETE FROM alloc_sessions WHERE session_id = OLD.id;"
	" DELETE FROM alloc_stacks WHERE session_id = OLD.id;"
	" DELETE FROM alloc_live WHERE session_id = OLD.id;"
	" DELETE FROM alloc_timeline WHERE session_id = OLD.id;"
	" DELETE FROM alloc_windows WHERE session_id = OLD.id;"
	" END;",

	/* v4: function probes (store/probes.c), one row per function and
	 * thread (tid 0 = all threads).  IF NOT EXISTS, and probes.c
	 * checking for its table, keep this step correct at any position. */
	"CREATE TABLE IF NOT EXISTS probe_results ("
	" session_id INTEGER NOT NULL, function TEXT NOT NULL, module TEXT NOT NULL,"
	" tid INTEGER NOT NULL, calls INTEGER NOT NULL, lost INTEGER NOT NULL,"
	" returned INTEGER NOT NULL, total_ns INTEGER NOT NULL, self_ns INTEGER NOT NULL,"
	" sum_ns INTEGER NOT NULL, min_ns INTEGER NOT NULL, max_ns INTEGER NOT NULL,"
	" p50_ns INTEGER NOT NULL, p90_ns INTEGER NOT NULL, p99_ns INTEGER NOT NULL,"
	" PRIMARY KEY (session_id, function, module, tid)) WITHOUT ROWID;"
	"CREATE TRIGGER IF NOT EXISTS probes_session_removed AFTER DELETE ON sessions BEGIN"
	" DELETE FROM probe_results WHERE session_id = OLD.id;"
	" END;",

	/* v5: counters and cache simulation (store/counters.c).  IF NOT
	 * EXISTS, and counters.c checking for its tables rather than for a
	 * version number, keep this step correct whatever its position. */
	"CREATE TABLE IF NOT EXISTS counter_values ("
	" session_id INTEGER NOT NULL, tid INTEGER NOT NULL, name TEXT NOT NULL,"
	" seq INTEGER NOT NULL, status TEXT NOT NULL, errno INTEGER NOT NULL,"
	" scope TEXT, raw INTEGER, enabled_ns INTEGER NOT NULL,"
	" running_ns INTEGER NOT NULL, value REAL,"
	" PRIMARY KEY (session_id, tid, name)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS cachesim_runs ("
	" session_id INTEGER PRIMARY KEY, tool TEXT, d1 TEXT, ll TEXT, i1 TEXT,"
	" geometry_from TEXT);"
	"CREATE TABLE IF NOT EXISTS cachesim_rows ("
	" session_id INTEGER NOT NULL, function TEXT NOT NULL, file TEXT,"
	" line INTEGER NOT NULL, ir INTEGER NOT NULL, dr INTEGER NOT NULL,"
	" dw INTEGER NOT NULL, d1mr INTEGER NOT NULL, d1mw INTEGER NOT NULL,"
	" dlmr INTEGER NOT NULL, dlmw INTEGER NOT NULL, i1mr INTEGER NOT NULL,"
	" ilmr INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS cachesim_rows_by_session ON cachesim_rows (session_id, line);"
	"CREATE TRIGGER IF NOT EXISTS counters_session_removed AFTER DELETE ON sessions BEGIN"
	" DELETE FROM counter_values WHERE session_id = OLD.id;"
	" DELETE FROM cachesim_runs WHERE session_id = OLD.id;"
	" DELETE FROM cachesim_rows WHERE session_id = OLD.id;"
	" END;",
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
