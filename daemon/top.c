/*
 * top.c - "perfkitd top PID" (see top.h): the command line, the session
 * it records into (a temporary database unless --record NAME), the
 * terminal (keys without Enter, a full-screen redraw, or one table per
 * interval on a dumb terminal or a pipe), and the once-per-interval
 * refresh called from the session's sample loop.
 *
 * Quitting: q (or Ctrl-C, or SIGTERM) ends the session the way Ctrl-C
 * ends "perfkitd attach": every thread is let go, nothing is left behind.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "daemon/options.h"
#include "daemon/session.h"
#include "daemon/top.h"
#include "error.h"
#include "util.h"

#define DEFAULT_INTERVAL_S 1.0

static const char top_usage[] =
	"usage: perfkitd top [OPTIONS] PID\n"
	"\n"
	"A live view of a running process: attaches, samples every thread and\n"
	"redraws every interval which functions are running (self) and on the\n"
	"stack (total), over the last interval and since the start.\n"
	"Keys: s sort by self, t sort by total, p pause the display, q quit\n"
	"(Ctrl-C too): the process is let go as if untouched.\n"
	"\n"
	"Options:\n"
	"  -F, --freq HZ          sampling frequency per thread (default 99)\n"
	"      --mode cpu|wall    cpu: running threads only (default); wall: all\n"
	"  -i, --interval TIME    refresh every TIME (default 1s)\n"
	"  -n, --iterations N     stop after N refreshes (default: until q)\n"
	"      --limit N          show at most N functions (default: what fits)\n"
	"      --batch            print one table per interval, no screen control\n"
	"                         (the default when stdout is not a terminal or\n"
	"                         TERM is dumb)\n"
	"      --record NAME      also keep the session, named NAME, in the\n"
	"                         database (default: a temporary one, removed)\n"
	"      --db PATH          the database for --record\n"
	"  -h, --help             show this help\n";

enum { OPT_MODE = 256, OPT_LIMIT, OPT_BATCH, OPT_RECORD, OPT_DB };

struct top_state {
	struct pk_top_screen scr;
	double interval_s;
	long iterations, done;
	int batch;
	int tty_in;
	struct termios saved;
	uint64_t t0_ns, last_ns;
	struct pk_top_frame frame;
	struct pk_profile all;     /* the frame's names point into it */
	int have_frame;
	char comm[64];
	int quit;
	int alternate;             /* on the terminal's alternate screen */
};

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "perfkitd: error: %s%s%s%s\nTry 'perfkitd top --help'.\n", msg,
		arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
	return PK_EXIT_USAGE;
}

/* -1 to go on, or an exit status to return (help printed, usage error). */
static int parse(int argc, char **argv, struct pk_options *opt, struct top_state *t, const char **record)
{
	static const struct option longopts[] = {
		{ "freq", required_argument, NULL, 'F' },
		{ "frequency", required_argument, NULL, 'F' },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "batch", no_argument, NULL, OPT_BATCH },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "db", required_argument, NULL, OPT_DB },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "F:i:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (pk_parse_frequency(optarg, &opt->frequency) < 0 || opt->frequency > 10000)
				return usage_error("invalid frequency (give Hz between 1 and 10000):", optarg);
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "cpu"))
				opt->mode = PK_MODE_CPU;
			else if (!strcmp(optarg, "wall"))
				opt->mode = PK_MODE_WALL;
			else
				return usage_error("invalid mode (use cpu or wall):", optarg);
			break;
		case 'i':
			if (pk_parse_duration(optarg, &t->interval_s) < 0 || t->interval_s < 0.1)
				return usage_error("invalid interval (at least 100ms):", optarg);
			break;
		case 'n':
			if (pk_parse_long(optarg, &t->iterations) < 0 || t->iterations < 1)
				return usage_error("invalid number of iterations:", optarg);
			break;
		case OPT_LIMIT:
			if (pk_parse_long(optarg, &v) < 0 || v < 1 || v > 10000)
				return usage_error("invalid --limit:", optarg);
			t->scr.limit = (int)v;
			break;
		case OPT_BATCH:
			t->batch = 1;
			break;
		case OPT_RECORD:
			if (!*optarg)
				return usage_error("empty session name", NULL);
			*record = optarg;
			break;
		case OPT_DB:
			opt->db = optarg;
			break;
		case 'h':
			fputs(top_usage, stdout);
			return PK_EXIT_OK;
		default:
			return usage_error("unknown or incomplete option", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("top needs a PID: perfkitd top PID", NULL);
	if (pk_parse_long(argv[optind], &v) < 0 || v <= 0 || v > 0x3fffffff)
		return usage_error("invalid PID", argv[optind]);
	if (optind + 1 < argc)
		return usage_error("unexpected argument", argv[optind + 1]);
	opt->pid = (pid_t)v;
	if (opt->db && !*record)
		return usage_error("--db is for --record: without it top keeps nothing", NULL);
	return -1;
}

static void screen_size(struct top_state *t)
{
	struct winsize ws;

	/* A table per interval scrolls: no height limit, and the width of
	 * the terminal when there is one. */
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		t->scr.width = ws.ws_col;
		t->scr.height = t->batch ? 0 : ws.ws_row;
	} else {
		t->scr.width = t->batch ? 200 : 80;
		t->scr.height = t->batch ? 0 : 24;
	}
}

static void draw(struct top_state *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	if (!t->have_frame)
		return;
	screen_size(t);
	/* One write per frame, so the terminal never shows half of one. */
	if (!(mem = open_memstream(&buf, &len)))
		return;
	/* The alternate screen is entered at the first frame, so errors
	 * before it (cannot attach) stay on the normal screen. */
	if (!t->batch && !t->alternate) {
		fputs("\033[?1049h\033[?25l", mem);
		t->alternate = 1;
	}
	if (!t->batch)
		fputs("\033[H\033[2J", mem);
	pk_top_render(mem, &t->scr, &t->frame);
	if (t->batch)
		fputc('\n', mem);
	if (fclose(mem) == 0) {
		fwrite(buf, 1, len, stdout);
		fflush(stdout);
	}
	free(buf);
}

static int refresh(struct top_state *t, struct pk_store *st, int64_t sid, size_t threads, uint64_t now)
{
	struct pk_profile all, last;
	struct pk_filter f;
	int have_last;
	char spec[32];

	if (pk_store_flush(st) != PK_STORE_OK) {
		pk_error("cannot write the samples: %s", pk_store_errmsg(st));
		return -1;
	}
	snprintf(spec, sizeof(spec), "%lld", (long long)sid);
	if (pk_profile_load(st, spec, NULL, &all) != PK_STORE_OK) {
		/* No sample yet: no event either. */
		pk_profile_release(&all);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.has_from = 1;
	f.from_s = (double)(t->last_ns - t->t0_ns) / 1e9;
	have_last = pk_profile_load(st, spec, &f, &last) == PK_STORE_OK;
	pk_top_frame_release(&t->frame);
	pk_top_frame_build(&all, have_last ? &last : NULL, t->scr.sort, &t->frame);
	t->frame.interval_s = (double)(now - t->last_ns) / 1e9;
	t->frame.elapsed_s = (double)(now - t->t0_ns) / 1e9;
	t->frame.threads = threads;
	/* Names point into the cumulative profile: keep it with the frame. */
	if (t->have_frame)
		pk_profile_release(&t->all);
	t->all = all;
	t->have_frame = 1;
	pk_profile_release(&last);
	return 0;
}

/* Keys: q quits, s/t sort, p or space pause.  Returns 1 on quit. */
static int read_keys(struct top_state *t)
{
	char keys[64];
	ssize_t n, i;
	int redraw = 0;

	while ((n = read(STDIN_FILENO, keys, sizeof(keys))) > 0) {
		for (i = 0; i < n; i++) {
			switch (keys[i]) {
			case 'q': case 'Q': case 3 /* Ctrl-C without ISIG */: case 4 /* Ctrl-D */:
				return 1;
			case 's': case 'S':
				t->scr.sort = PK_TOP_SORT_SELF;
				redraw = 1;
				break;
			case 't': case 'T':
				t->scr.sort = PK_TOP_SORT_TOTAL;
				redraw = 1;
				break;
			case 'p': case 'P': case ' ':
				t->scr.paused = !t->scr.paused;
				redraw = 1;
				break;
			default:
				break;
			}
		}
	}
	if (n == 0 && !t->tty_in)
		return 0;   /* end of a non-terminal input: just stop reading */
	if (redraw)
		draw(t);
	return 0;
}

static int tick(void *ctx, struct pk_store *st, int64_t sid, size_t threads, int fd_ready)
{
	struct top_state *t = ctx;
	uint64_t now = pk_monotonic_ns();

	if (!t->t0_ns)
		t->t0_ns = t->last_ns = now;
	if (fd_ready && read_keys(t)) {
		t->quit = 1;
		return 1;
	}
	if (now - t->last_ns < (uint64_t)(t->interval_s * 1e9))
		return 0;
	if (refresh(t, st, sid, threads, now) < 0)
		return 1;
	t->last_ns = now;
	/* Paused: the numbers go on, the screen stays. */
	if (!t->scr.paused)
		draw(t);
	if (t->iterations && ++t->done >= t->iterations)
		return 1;
	return 0;
}

static void terminal_setup(struct top_state *t)
{
	struct termios raw;

	t->tty_in = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0;
	if (t->tty_in) {
		raw = t->saved;
		/* Keys without Enter and without echo; Ctrl-C still sends
		 * SIGINT, which the session takes as "stop". */
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
}

static void terminal_restore(struct top_state *t)
{
	if (t->tty_in)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	if (t->alternate) {
		fputs("\033[?25h\033[?1049l", stdout);
		/* Leave the last screen on the normal one, as top does. */
		t->batch = 1;
		t->scr.paused = 0;
		draw(t);
	}
	fflush(stdout);
}

static void remove_temporary(char *dir, const char *db)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char *p = pk_xasprintf("%s%s", db, suffixes[i]);

		unlink(p);
		free(p);
	}
	rmdir(dir);
}

static int batch_terminal(void)
{
	const char *term = getenv("TERM");

	return !isatty(STDOUT_FILENO) || !term || !*term || !strcmp(term, "dumb");
}

int pk_top_main(int argc, char **argv)
{
	struct pk_options opt;
	struct top_state t;
	struct pk_session_view view;
	const char *record = NULL;
	char *tmpdir = NULL, *tmpdb = NULL;
	FILE *f;
	char path[64];
	int rc;

	memset(&opt, 0, sizeof(opt));
	memset(&t, 0, sizeof(t));
	opt.command = PK_CMD_ATTACH;
	opt.frequency = 99.0;
	opt.stack_bytes = 16 * 1024;
	opt.mode = PK_MODE_CPU;
	opt.probe_limit = 100;
	opt.probe_backend = "auto";
	opt.quiet = 1;       /* the screen is the status */
	t.interval_s = DEFAULT_INTERVAL_S;
	if ((rc = parse(argc, argv, &opt, &t, &record)) >= 0)
		return rc;
	t.batch = t.batch || batch_terminal();
	t.scr.pid = (int)opt.pid;
	t.scr.record_name = record;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)opt.pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(t.comm, sizeof(t.comm), f))
			t.comm[strcspn(t.comm, "\n")] = '\0';
		fclose(f);
	}
	t.scr.comm = t.comm;

	if (record) {
		opt.name = record;
	} else {
		const char *base = getenv("TMPDIR");

		tmpdir = pk_xasprintf("%s/perfkitd-top.XXXXXX", base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			pk_perror("cannot create a temporary directory '%s'", tmpdir);
			free(tmpdir);
			return PK_EXIT_FAILURE;
		}
		tmpdb = pk_xasprintf("%s/top.db", tmpdir);
		opt.db = tmpdb;
	}
	pk_set_quiet(1);
	terminal_setup(&t);
	view.fd = t.tty_in ? STDIN_FILENO : -1;   /* keys from a terminal only */
	view.tick = tick;
	view.ctx = &t;
	rc = pk_session_attach_view(&opt, &view);
	terminal_restore(&t);
	pk_top_frame_release(&t.frame);
	if (t.have_frame)
		pk_profile_release(&t.all);
	if (tmpdir)
		remove_temporary(tmpdir, tmpdb);
	else if (rc == PK_EXIT_OK)
		fprintf(stderr, "perfkitd: session '%s' recorded; see 'perfkit report %s'\n", record, record);
	free(tmpdb);
	free(tmpdir);
	return rc;
}
