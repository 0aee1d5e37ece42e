/*
 * cmd-sessions.c - "perfkit sessions list|show|rm|stop": what has been
 * recorded, the facts about one session (totals and the recorder's own
 * cost), removing sessions, and stopping a session that perfkitd records
 * in the background.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "builtin.h"
#include "error.h"
#include "json.h"
#include "output.h"
#include "strbuf.h"
#include "util.h"

/* How long "stop" waits for perfkitd to finish the session. */
#define STOP_DEADLINE_S 15.0
#define STOP_POLL_MS 100

static const char sessions_usage[] =
	"perfkit sessions [list] [--format table|json|csv]\n"
	"       perfkit sessions show [--format table|json|csv] SESSION\n"
	"       perfkit sessions rm SESSION...\n"
	"       perfkit sessions stop SESSION";

static const char sessions_help[] =
	"usage: perfkit sessions [list] [--format table|json|csv]\n"
	"       perfkit sessions show [--format table|json|csv] SESSION\n"
	"       perfkit sessions rm SESSION...\n"
	"       perfkit sessions stop SESSION\n"
	"\n"
	"  list    the recorded sessions, oldest first (the default)\n"
	"  show    everything known about one session: samples, threads, duration,\n"
	"          the target's CPU time, asked and achieved sampling rate, unwind\n"
	"          failures, complete stacks, how long the target was stopped per\n"
	"          sample, and perfkitd's own CPU time\n"
	"  rm      delete sessions and all their data\n"
	"  stop    end a session that perfkitd records in the background and wait\n"
	"          (up to 15 s) until it is saved\n"
	"\n"
	"SESSION is a session name, a numeric id, or 'last'.\n"
	"\n"
	"Options:\n"
	"  --format FMT    table (default), json or csv (list and show)\n"
	"  --db PATH       the session database (default: $PERFKIT_DB, else\n"
	"                  ~/.local/share/perfkit/perfkit.db)\n"
	"  -h, --help      show this help\n";

/*
 * Parse a subcommand's options (argv[0] is the subcommand).  *format is
 * NULL for subcommands without --format.  Returns -1 to go on with
 * *first = index of the first operand, else an exit status.
 */
static int parse_options(int argc, char **argv, struct pk_cli *cli, int *format, int *first)
{
	enum { OPT_FORMAT = PK_OPT_FIRST_COMMAND_OPTION };
	static const struct option with_format[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		PK_CLI_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	pk_cli_getopt_reset();
	/* Without --format the table starts after the format row. */
	while ((c = getopt_long(argc, argv, ":h", format ? with_format : with_format + 1, NULL)) != -1) {
		if (c == OPT_FORMAT) {
			if ((rc = pk_cli_parse_format(optarg, sessions_usage, format)))
				return rc;
		} else if ((rc = pk_cli_common_option(cli, c, argv, sessions_usage, sessions_help)) >= 0) {
			return rc;
		}
	}
	*first = optind;
	return -1;
}

/* ---- list -------------------------------------------------------------- */

static void json_session_details(struct pk_json *j, const struct pk_session *s)
{
	char when[40];

	pk_json_key(j, "mode");
	pk_json_string(j, s->mode);
	pk_json_key(j, "frequency_hz");
	pk_json_double(j, s->frequency);
	pk_json_key(j, "ended_at");
	if (s->ended_ns > 0) {
		pk_format_iso_time(s->ended_ns, when, sizeof(when));
		pk_json_string(j, when);
	} else {
		pk_json_null(j);
	}
	pk_json_key(j, "exit_status");
	if (s->exit_status >= 0)
		pk_json_int(j, s->exit_status);
	else
		pk_json_null(j);
	pk_json_key(j, "host");
	pk_json_string(j, s->host);
	pk_json_key(j, "kernel");
	pk_json_string(j, s->kernel);
	pk_json_key(j, "recorder_pid");
	pk_json_int(j, s->recorder_pid);
}

static void list_table(struct pk_cli *cli, const struct pk_session *v, size_t n)
{
	static const struct pk_column cols[] = {
		{ "ID", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "NAME", PK_ALIGN_LEFT, 40, PK_TRUNC_END },
		{ "STATUS", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
		{ "STARTED", PK_ALIGN_LEFT, 0, PK_TRUNC_END },
		{ "DURATION", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "SAMPLES", PK_ALIGN_RIGHT, 0, PK_TRUNC_END },
		{ "COMMAND", PK_ALIGN_LEFT, 60, PK_TRUNC_END },
	};
	struct pk_table *t;
	size_t i;

	if (!n) {
		printf("no sessions in '%s'; record one with 'perfkitd run -- PROGRAM' "
		       "or 'perfkitd attach PID'\n", cli->db_path);
		return;
	}
	t = pk_table_new(cols, sizeof(cols) / sizeof(cols[0]));
	for (i = 0; i < n; i++) {
		char when[32], dur[32];

		pk_format_local_time(v[i].started_ns, when, sizeof(when));
		pk_format_duration(pk_cli_session_duration(cli->store, &v[i]), dur, sizeof(dur));
		pk_table_row(t);
		pk_table_cellf(t, "%" PRId64, v[i].id);
		pk_table_cell(t, v[i].name);
		pk_table_cell(t, v[i].status);
		pk_table_cell(t, when);
		pk_table_cell(t, dur);
		pk_table_cellf(t, "%" PRId64, v[i].samples);
		pk_table_cell(t, v[i].command);
	}
	pk_table_print(t, stdout);
	pk_table_free(t);
}

static void list_json(struct pk_cli *cli, const struct pk_session *v, size_t n)
{
	struct pk_json j;
	size_t i;

	pk_json_init(&j, stdout, 1);
	pk_json_begin_array(&j);
	for (i = 0; i < n; i++) {
		pk_json_begin_object(&j);
		pk_cli_json_session(&j, cli->store, &v[i]);
		json_session_details(&j, &v[i]);
		pk_json_end_object(&j);
	}
	pk_json_end_array(&j);
	pk_json_finish(&j);
}

static void list_csv(struct pk_cli *cli, const struct pk_session *v, size_t n)
{
	static const char *const header[] = {
		"id", "name", "status", "started_at", "duration_s", "samples", "pid", "mode", "command",
	};
	struct pk_csv c;
	size_t i;

	pk_csv_init(&c, stdout);
	for (i = 0; i < sizeof(header) / sizeof(header[0]); i++)
		pk_csv_field(&c, header[i]);
	pk_csv_end_row(&c);
	for (i = 0; i < n; i++) {
		char when[40];

		pk_format_iso_time(v[i].started_ns, when, sizeof(when));
		pk_csv_int(&c, v[i].id);
		pk_csv_field(&c, v[i].name);
		pk_csv_field(&c, v[i].status);
		pk_csv_field(&c, when);
		pk_csv_double(&c, pk_cli_session_duration(cli->store, &v[i]));
		pk_csv_int(&c, v[i].samples);
		pk_csv_int(&c, v[i].pid);
		pk_csv_field(&c, v[i].mode);
		pk_csv_field(&c, v[i].command);
		pk_csv_end_row(&c);
	}
	fflush(stdout);
}

static int sessions_list(int argc, char **argv, struct pk_cli *cli)
{
	struct pk_session *v = NULL;
	size_t n = 0;
	int format = PK_FORMAT_TABLE, first, rc;

	if ((rc = parse_options(argc, argv, cli, &format, &first)) >= 0)
		return rc;
	if (first < argc)
		return pk_cli_usage_error(sessions_usage, "'sessions list' takes no SESSION; "
					  "use 'perfkit sessions show %s'", argv[first]);
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)))
		return rc;
	if (pk_store_session_list(cli->store, &v, &n) != PK_STORE_OK) {
		pk_error("cannot list the sessions in '%s': %s", cli->db_path, pk_store_errmsg(cli->store));
		return PK_EXIT_FAILURE;
	}
	if (format == PK_FORMAT_JSON)
		list_json(cli, v, n);
	else if (format == PK_FORMAT_CSV)
		list_csv(cli, v, n);
	else
		list_table(cli, v, n);
	pk_session_array_free(v, n);
	return PK_EXIT_OK;
}

/* ---- show -------------------------------------------------------------- */

/* A session's stats with a mark for each one already shown, so that keys
 * this version does not know are still shown (by key) at the end; and the
 * number of samples of each event, since shares such as "complete
 * stacks" are of the sampling event's samples, not of allocations. */
struct stat_view {
	struct pk_stat *v;
	size_t n;
	char *shown;
	struct pk_symtab symtab;    /* for the event names */
	uint64_t *event_samples;    /* by event id - 1 */
	double sampled;             /* samples of the cpu (or wall) event */
};

static int count_event(void *ctx, const struct pk_sample *s)
{
	struct stat_view *sv = ctx;

	if (s->event > 0 && (size_t)s->event <= sv->symtab.n_events)
		sv->event_samples[s->event - 1]++;
	return 0;
}

/* Fill stats and per-event counts; PK_STORE_OK or the store's error. */
static int stat_view_load(struct pk_store *st, const struct pk_session *s, struct stat_view *sv)
{
	const char *own = s->mode && !strcmp(s->mode, "wall") ? "wall" : "cpu";
	size_t i;
	int rc;

	memset(sv, 0, sizeof(*sv));
	if ((rc = pk_store_stats(st, s->id, &sv->v, &sv->n)) != PK_STORE_OK ||
	    (rc = pk_store_load_symtab(st, s->id, &sv->symtab)) != PK_STORE_OK)
		return rc;
	sv->shown = pk_xcalloc(sv->n + 1, 1);
	sv->event_samples = pk_xcalloc(sv->symtab.n_events + 1, sizeof(*sv->event_samples));
	if (sv->symtab.n_events && (rc = pk_store_foreach_sample(st, s->id, 0, count_event, sv)) != PK_STORE_OK)
		return rc;
	sv->sampled = (double)s->samples;
	for (i = 0; i < sv->symtab.n_events; i++)
		if (!strcmp(sv->symtab.events[i].name, own))
			sv->sampled = (double)sv->event_samples[i];
	return PK_STORE_OK;
}

static void stat_view_release(struct stat_view *sv)
{
	free(sv->shown);
	free(sv->event_samples);
	pk_stat_array_free(sv->v, sv->n);
	pk_symtab_release(&sv->symtab);
	memset(sv, 0, sizeof(*sv));
}

static int stat_take(struct stat_view *sv, const char *key, double *value)
{
	size_t i;

	for (i = 0; i < sv->n; i++) {
		if (strcmp(sv->v[i].key, key))
			continue;
		sv->shown[i] = 1;
		*value = sv->v[i].value;
		return 1;
	}
	return 0;
}

static void show_line(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void show_line(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("%-26s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A count statistic KEY, if the session has it: LABEL, the count, and
 * what follows it (a unit, an explanation). */
static void show_count(struct stat_view *sv, const char *key, const char *label, const char *after)
{
	double v;

	if (stat_take(sv, key, &v))
		show_line(label, "%.0f%s", v, after);
}

/* The --alloc statistics (daemon/alloc-record.c), labelled. */
static void show_alloc_stats(struct stat_view *sv)
{
	double v, w;

	if (stat_take(sv, "alloc_calls", &v)) {
		if (stat_take(sv, "alloc_bytes", &w))
			show_line("allocations", "%.0f (%.0f bytes)", v, w);
		else
			show_line("allocations", "%.0f", v);
	}
	show_count(sv, "alloc_free_calls", "frees", "");
	show_count(sv, "alloc_peak_bytes", "heap peak", " bytes");
	show_count(sv, "alloc_live_bytes", "heap live at the end", " bytes (allocated while traced, not freed)");
	show_count(sv, "alloc_unknown_frees", "unknown frees", " (blocks allocated before tracing or between windows)");
	show_count(sv, "alloc_lost_returns", "lost allocator returns", " (longjmp, exception, exit or detach)");
	if (stat_take(sv, "alloc_probe_stops", &v)) {
		if (stat_take(sv, "alloc_probe_handle_us", &w))
			show_line("alloc probe stops", "%.0f (%.1f µs of perfkitd work in each)", v, w);
		else
			show_line("alloc probe stops", "%.0f", v);
	}
	if (stat_take(sv, "alloc_probes_armed", &v)) {
		if (stat_take(sv, "alloc_probes_refused", &w))
			show_line("allocator probes", "%.0f armed, %.0f refused", v, w);
		else
			show_line("allocator probes", "%.0f armed", v);
	}
	if (stat_take(sv, "alloc_unwinds", &v)) {
		if (stat_take(sv, "alloc_unwind_memo_hits", &w))
			show_line("allocation stacks", "%.0f unwound, %.0f repeated (memo)", v, w);
		else
			show_line("allocation stacks", "%.0f unwound", v);
	}
	if (stat_take(sv, "alloc_armed_fraction", &v))
		show_line("allocations traced", "%.1f%% of the time (--alloc-sample windows)", 100.0 * v);
	/* the jump backend (daemon/alloc-jump.c) */
	if (stat_take(sv, "alloc_jump_probes", &v)) {
		if (stat_take(sv, "alloc_jump_fallbacks", &w))
			show_line("allocator jumps", "%.0f patched, %.0f left to int3 probes", v, w);
		else
			show_line("allocator jumps", "%.0f patched", v);
	}
	show_count(sv, "alloc_jump_events", "ring events", "");
	if (stat_take(sv, "alloc_walked_stacks", &v)) {
		double u;

		if (stat_take(sv, "alloc_walk_known", &w) && v > 0)
			show_line("known stacks", "%.0f of the walked (%.1f%%: a hash in one line instead "
				  "of the return addresses)", w, 100.0 * w / v);
		if (stat_take(sv, "alloc_walk_memo", &w) && v > 0)
			show_line("memoized walks", "%.0f of the walked (%.1f%%: the same stack words "
				  "where the walk read them, no walk)", w, 100.0 * w / v);

		if (stat_take(sv, "alloc_walk_sites", &w) && stat_take(sv, "alloc_walk_unlearnable", &u))
			show_line("walked stacks", "%.0f (in the target: %.0f frame rules learned, %.0f "
				  "unwinds with a frame no rule describes)", v, w, u);
		else
			show_line("walked stacks", "%.0f (in the target)", v);
	}
	show_count(sv, "alloc_modules_read_ahead", "symbols read ahead", " modules (before the first allocation)");
	if (stat_take(sv, "alloc_jump_trap_stops", &v)) {
		/* trap mode: a call stops only when its record cannot be whole
		 * (the ring full, a deep stack); nothing dropped */
		stat_take(sv, "alloc_ring_drops", &w);
		if (stat_take(sv, "alloc_jump_trap_handle_us", &w) && v > 0)
			show_line("detour stops", "%.0f (the ring full or a stack deeper than its slice; "
				  "%.1f µs of perfkitd work in each)", v, w);
		else
			show_line("detour stops", "%.0f", v);
	} else if (stat_take(sv, "alloc_ring_drops", &v)) {
		show_line("ring drops", "%.0f%s", v,
			  v > 0 ? " (the ring was full: counts short by as many)" : "");
	}
	if (stat_take(sv, "alloc_jump_foreign_events", &v) && v > 0)
		show_line("ring events of others", "%.0f (a fork child before its cleaning; not counted)", v);
	if (stat_take(sv, "alloc_ring_left_in_target", &v) && v > 0)
		show_line("ring left in target", "yes (a signal handler over a record at detach)");
}

/* The --probe statistics (daemon/fprobe.c), labelled. */
static void show_probe_stats(struct stat_view *sv)
{
	double v, w;

	show_count(sv, "probe_functions", "probed functions", "");
	show_count(sv, "probe_refused", "probes refused", " (first instruction cannot run out of line)");
	if (stat_take(sv, "probe_stops", &v)) {
		if (stat_take(sv, "probe_stop_median_us", &w))
			show_line("probe stops", "%.0f (%.1f µs median each)", v, w);
		else
			show_line("probe stops", "%.0f", v);
	}
	if (stat_take(sv, "probe_timed_returns", &v)) {
		if (stat_take(sv, "probe_stopped_returns", &w))
			show_line("probe returns", "%.0f timed in the target (no stop), %.0f stopped", v, w);
		else
			show_line("probe returns", "%.0f timed in the target (no stop)", v);
	}
	if (stat_take(sv, "probe_stop_rtt_us", &v))
		show_line("bare int3 stop", "%.1f µs (measured at start)", v);
	if (stat_take(sv, "probe_handle_median_us", &v))
		show_line("probe handling", "%.1f µs median of perfkitd work per stop", v);
	if (stat_take(sv, "probe_correction_us", &v))
		show_line("probe correction", "%.1f µs subtracted per stop inside a probed call", v);
}

static void show_table(struct pk_cli *cli, const struct pk_session *s, struct stat_view *sv)
{
	char buf[64], buf2[64];
	double v, w, samples = sv->sampled;
	size_t i;

	show_line("session", "%s (id %" PRId64 ")", s->name, s->id);
	show_line("command", "%s", s->command ? s->command : "-");
	if (s->exit_status >= 0)
		show_line("status", "%s (exit status %d)", s->status, s->exit_status);
	else
		show_line("status", "%s", s->status);
	show_line("pid", "%d", s->pid);
	show_line("mode", "%s", s->mode ? s->mode : "-");
	show_line("host", "%s (kernel %s)", s->host ? s->host : "-", s->kernel ? s->kernel : "-");
	pk_format_iso_time(s->started_ns, buf, sizeof(buf));
	show_line("started", "%s", buf);
	if (s->ended_ns > 0) {
		pk_format_iso_time(s->ended_ns, buf, sizeof(buf));
		show_line("ended", "%s", buf);
	}
	v = pk_cli_session_duration(cli->store, s);
	stat_take(sv, "duration_s", &w);
	if (isfinite(v))
		show_line("duration", "%.3f s", v);
	else
		show_line("duration", "-");
	if (sv->symtab.n_events > 1) {
		struct pk_strbuf sb = PK_STRBUF_INIT;

		for (i = 0; i < sv->symtab.n_events; i++)
			pk_strbuf_addf(&sb, "%s%s %" PRIu64, i ? ", " : "", sv->symtab.events[i].name,
				       sv->event_samples[i]);
		show_line("samples", "%" PRId64 " (%s)", s->samples, pk_strbuf_str(&sb));
		pk_strbuf_release(&sb);
	} else {
		show_line("samples", "%" PRId64, s->samples);
	}
	if (stat_take(sv, "sampler_perf", &v))
		show_line("sampler", "%s", v > 0 ? "perf (cpu-clock event: the kernel samples running threads, "
			  "which never stop)" : "ptrace (each thread interrupted and resumed)");
	show_count(sv, "lost_samples", "lost samples", "");
	show_count(sv, "threads_unsampled", "threads not sampled", " (their perf event did not open)");
	show_count(sv, "threads", "threads", "");
	if (stat_take(sv, "user_cpu_s", &v))
		show_line("target user CPU", "%.3f s", v);
	if (stat_take(sv, "sys_cpu_s", &v))
		show_line("target system CPU", "%.3f s", v);
	snprintf(buf, sizeof(buf), "%g Hz asked", s->frequency);
	buf2[0] = '\0';
	if (stat_take(sv, "achieved_hz", &v))
		snprintf(buf2, sizeof(buf2), ", %.1f Hz achieved", v);
	show_line("frequency", "%s%s", buf, buf2);
	if (stat_take(sv, "unwind_failures", &v))
		show_line("unwind failures", "%.0f (%.1f%% of samples)", v, samples > 0 ? 100.0 * v / samples : 0.0);
	if (stat_take(sv, "complete_stacks", &v))
		show_line("complete stacks", "%.1f%% (%.0f samples)", samples > 0 ? 100.0 * v / samples : 0.0, v);
	if (stat_take(sv, "stop_median_us", &v)) {
		if (stat_take(sv, "stop_p99_us", &w))
			show_line("target stopped per sample", "%.1f µs median, %.1f µs p99", v, w);
		else
			show_line("target stopped per sample", "%.1f µs median", v);
	} else if (stat_take(sv, "stop_p99_us", &w)) {
		show_line("target stopped per sample", "%.1f µs p99", w);
	}
	if (stat_take(sv, "syscall_stops", &v))
		show_line("stops at a system call", "%.0f (%.1f%% of samples; their leaf may be the "
			  "call's wrapper: skid)", v, samples > 0 ? 100.0 * v / samples : 0.0);
	if (stat_take(sv, "off_cpu_stops", &v))
		show_line("stops not kept", "%.0f (the thread was waiting for a CPU when asked; "
			  "sampled again later, running)", v);
	show_count(sv, "unwind_remote_reads", "unwinder memory reads", " (system calls outside the stack copy)");
	if (stat_take(sv, "recorder_cpu_per_sample_us", &v))
		show_line("recorder CPU per sample", "%.1f µs", v);
	if (stat_take(sv, "recorder_cpu_s", &v))
		show_line("recorder CPU", "%.3f s", v);
	if (stat_take(sv, "trap_spin_stops", &v) && stat_take(sv, "trap_blocking_stops", &w))
		show_line("probe stops caught", "%.0f by spinning, %.0f by a blocking wait (where "
			  "spinning kept failing)", v, w);
	show_alloc_stats(sv);
	show_probe_stats(sv);
	for (i = 0; i < sv->n; i++)
		if (!sv->shown[i])
			show_line(sv->v[i].key, "%g", sv->v[i].value);
}

static void show_json(struct pk_cli *cli, const struct pk_session *s, const struct stat_view *sv)
{
	struct pk_json j;
	size_t i;

	pk_json_init(&j, stdout, 1);
	pk_json_begin_object(&j);
	pk_cli_json_session(&j, cli->store, s);
	json_session_details(&j, s);
	pk_json_key(&j, "event_samples");
	pk_json_begin_object(&j);
	for (i = 0; i < sv->symtab.n_events; i++) {
		pk_json_key(&j, sv->symtab.events[i].name);
		pk_json_uint(&j, sv->event_samples[i]);
	}
	pk_json_end_object(&j);
	pk_json_key(&j, "stats");
	pk_json_begin_object(&j);
	for (i = 0; i < sv->n; i++) {
		pk_json_key(&j, sv->v[i].key);
		pk_json_double(&j, sv->v[i].value);
	}
	pk_json_end_object(&j);
	pk_json_end_object(&j);
	pk_json_finish(&j);
}

static void show_csv(struct pk_cli *cli, const struct pk_session *s, const struct stat_view *sv)
{
	struct pk_csv c;
	char when[40];
	size_t i;

	pk_csv_init(&c, stdout);
	pk_csv_field(&c, "key");
	pk_csv_field(&c, "value");
	pk_csv_end_row(&c);
#define ROW(key, call) do { pk_csv_field(&c, key); call; pk_csv_end_row(&c); } while (0)
	ROW("id", pk_csv_int(&c, s->id));
	ROW("name", pk_csv_field(&c, s->name));
	ROW("command", pk_csv_field(&c, s->command));
	ROW("pid", pk_csv_int(&c, s->pid));
	ROW("status", pk_csv_field(&c, s->status));
	pk_format_iso_time(s->started_ns, when, sizeof(when));
	ROW("started_at", pk_csv_field(&c, when));
	ROW("duration_s", pk_csv_double(&c, pk_cli_session_duration(cli->store, s)));
	ROW("samples", pk_csv_int(&c, s->samples));
	ROW("mode", pk_csv_field(&c, s->mode));
	ROW("frequency_hz", pk_csv_double(&c, s->frequency));
	for (i = 0; i < sv->symtab.n_events; i++) {
		char *key = pk_xasprintf("event_samples.%s", sv->symtab.events[i].name);

		ROW(key, pk_csv_int(&c, (int64_t)sv->event_samples[i]));
		free(key);
	}
	for (i = 0; i < sv->n; i++)
		ROW(sv->v[i].key, pk_csv_double(&c, sv->v[i].value));
#undef ROW
	fflush(stdout);
}

static int sessions_show(int argc, char **argv, struct pk_cli *cli)
{
	struct stat_view sv;
	struct pk_session s;
	int format = PK_FORMAT_TABLE, first, rc;

	if ((rc = parse_options(argc, argv, cli, &format, &first)) >= 0)
		return rc;
	if (first + 1 != argc)
		return pk_cli_usage_error(sessions_usage, first >= argc ? "which session? give a SESSION"
					  : "one SESSION at a time");
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)) || (rc = pk_cli_find_session(cli, argv[first], &s)))
		return rc;
	if (stat_view_load(cli->store, &s, &sv) != PK_STORE_OK) {
		pk_error("cannot read the statistics of session '%s': %s", s.name, pk_store_errmsg(cli->store));
		stat_view_release(&sv);
		pk_session_release(&s);
		return PK_EXIT_FAILURE;
	}
	if (format == PK_FORMAT_JSON)
		show_json(cli, &s, &sv);
	else if (format == PK_FORMAT_CSV)
		show_csv(cli, &s, &sv);
	else
		show_table(cli, &s, &sv);
	stat_view_release(&sv);
	pk_session_release(&s);
	return PK_EXIT_OK;
}

/* ---- rm ---------------------------------------------------------------- */

static int sessions_rm(int argc, char **argv, struct pk_cli *cli)
{
	struct pk_session *v;
	int first, rc, i, n;

	if ((rc = parse_options(argc, argv, cli, NULL, &first)) >= 0)
		return rc;
	if (first >= argc)
		return pk_cli_usage_error(sessions_usage, "which sessions? give one or more SESSION");
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_WRITE)))
		return rc;
	/* Resolve every operand before removing anything: all or nothing. */
	n = argc - first;
	v = pk_xcalloc((size_t)n, sizeof(*v));
	for (i = 0; i < n && !rc; i++) {
		if ((rc = pk_cli_find_session(cli, argv[first + i], &v[i])))
			break;
		if (!strcmp(v[i].status, "recording")) {
			pk_error("session '%s' is being recorded; stop it first with 'perfkit sessions stop %s'",
				 v[i].name, v[i].name);
			rc = PK_EXIT_FAILURE;
		}
	}
	for (i = 0; i < n && !rc; i++) {
		int j, dup = 0;

		for (j = 0; j < i; j++)
			dup |= v[j].id == v[i].id;
		if (dup)
			continue;
		if (pk_store_session_remove(cli->store, v[i].id) != PK_STORE_OK) {
			pk_error("cannot remove session '%s': %s", v[i].name, pk_store_errmsg(cli->store));
			rc = PK_EXIT_FAILURE;
			break;
		}
		printf("removed session '%s' (id %" PRId64 ")\n", v[i].name, v[i].id);
	}
	for (i = 0; i < n; i++)
		pk_session_release(&v[i]);
	free(v);
	return rc;
}

/* ---- stop -------------------------------------------------------------- */

/* Whether pid is a live perfkitd process (by /proc/PID/comm). */
static int is_perfkitd(int pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, "perfkitd");
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Poll the store until session sid leaves "recording" or the deadline
 * passes.  Each poll opens the database afresh: a long-lived connection
 * could keep reading a stale snapshot, and an open also marks the session
 * aborted once its recorder has died without saving (see pk_store_open).
 * Returns 0 with *s refreshed, or -1 on timeout or error.
 */
static int wait_until_saved(struct pk_cli *cli, int64_t sid, int recorder, struct pk_session *s)
{
	uint64_t deadline = pk_monotonic_ns() + (uint64_t)(STOP_DEADLINE_S * 1e9);

	for (;;) {
		struct pk_session now;

		pk_store_close(cli->store);
		cli->store = NULL;
		if (pk_cli_open_store(cli, PK_STORE_MODE_READ))
			return -1;
		/* By name: unique, and looked up before numeric ids. */
		if (pk_store_session_find(cli->store, s->name, &now) != PK_STORE_OK || now.id != sid) {
			pk_session_release(&now);
			pk_error("session '%s' disappeared from '%s' while stopping", s->name, cli->db_path);
			return -1;
		}
		if (strcmp(now.status, "recording")) {
			pk_session_release(s);
			*s = now;
			return 0;
		}
		pk_session_release(&now);
		if (pk_monotonic_ns() >= deadline)
			break;
		sleep_ms(STOP_POLL_MS);
	}
	pk_error("perfkitd (pid %d) did not finish session '%s' within %.0f s; %s", recorder, s->name,
		 STOP_DEADLINE_S, is_perfkitd(recorder) ? "it is still running: check 'perfkit sessions list' later"
		 : "it has exited without saving it");
	return -1;
}

static int sessions_stop(int argc, char **argv, struct pk_cli *cli)
{
	struct pk_session s;
	struct utsname u;
	char dur[32];
	int first, rc, recorder;

	if ((rc = parse_options(argc, argv, cli, NULL, &first)) >= 0)
		return rc;
	if (first + 1 != argc)
		return pk_cli_usage_error(sessions_usage, first >= argc ? "which session? give a SESSION"
					  : "one SESSION at a time");
	if ((rc = pk_cli_open_store(cli, PK_STORE_MODE_READ)) || (rc = pk_cli_find_session(cli, argv[first], &s)))
		return rc;
	rc = PK_EXIT_FAILURE;
	recorder = s.recorder_pid;
	if (strcmp(s.status, "recording")) {
		pk_error("session '%s' is not being recorded (it is %s); nothing to stop", s.name, s.status);
		goto out;
	}
	if (uname(&u) == 0 && s.host && strcmp(s.host, u.nodename)) {
		pk_error("session '%s' is being recorded on host '%s', not here; stop it there",
			 s.name, s.host);
		goto out;
	}
	if (recorder <= 0 || !is_perfkitd(recorder)) {
		pk_error("the recorder of session '%s' (pid %d) is not a running perfkitd; "
			 "the session will be marked aborted", s.name, recorder);
		goto out;
	}
	if (kill(recorder, SIGTERM) < 0) {
		if (errno == EPERM)
			pk_error("cannot stop perfkitd (pid %d): operation not permitted; "
				 "run as the user who started it, or as root", recorder);
		else
			pk_perror("cannot stop perfkitd (pid %d)", recorder);
		goto out;
	}
	if (wait_until_saved(cli, s.id, recorder, &s) < 0)
		goto out;
	pk_format_duration(pk_cli_session_duration(cli->store, &s), dur, sizeof(dur));
	printf("session '%s' %s: %" PRId64 " samples, %s\n", s.name, s.status, s.samples, dur);
	rc = PK_EXIT_OK;
out:
	pk_session_release(&s);
	return rc;
}

/* ---- dispatch ---------------------------------------------------------- */

int cmd_sessions(int argc, char **argv, struct pk_cli *cli)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv, struct pk_cli *cli);
	} subs[] = {
		{ "list", sessions_list },
		{ "show", sessions_show },
		{ "rm", sessions_rm },
		{ "remove", sessions_rm },
		{ "stop", sessions_stop },
	};
	size_t i;

	/* "perfkit sessions" and "perfkit sessions --format json" list. */
	if (argc < 2 || argv[1][0] == '-')
		return sessions_list(argc, argv, cli);
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].run(argc - 1, argv + 1, cli);
	return pk_cli_usage_error(sessions_usage, "unknown sessions command '%s'; use list, show, rm or stop",
				  argv[1]);
}
