/*
 * cachesim.c - "perfkitd run --cache-sim" (see cachesim.h): choose the
 * geometry, run PROG under cachegrind, wait, import the output file into a
 * new session, and exit with PROG's status.
 *
 * perfkit adds only the import to cachegrind's own cost: valgrind runs
 * with the same options a user would give it (-q so PROG's output stays
 * its own), and the session's statistics record the time under valgrind
 * (cachesim_wall_s) and the time of the import (cachesim_import_s).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/cachesim.h"
#include "daemon/launch.h"
#include "dbpath.h"
#include "error.h"
#include "util.h"

static const struct pk_cache_geometry default_l1 = { 32768, 8, 64 };
static const struct pk_cache_geometry default_ll = { 8388608, 16, 64 };

void pk_cache_geometry_format(const struct pk_cache_geometry *c, char *buf, size_t len)
{
	snprintf(buf, len, "%ld,%ld,%ld", c->size, c->assoc, c->line);
}

static int read_sysfs(const char *dir, const char *name, char *buf, size_t len)
{
	char path[512];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* "32K", "1024K", "32M" or bytes. */
static long parse_size(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end == 'K')
		v *= 1024;
	else if (*end == 'M')
		v *= 1024 * 1024;
	return v;
}

/* Cachegrind needs a power-of-two number of sets: round the size down. */
static int fix_sets(struct pk_cache_geometry *c)
{
	long sets, p = 1;

	if (c->assoc <= 0 || c->line <= 0 || c->size < c->assoc * c->line)
		return -1;
	sets = c->size / (c->assoc * c->line);
	while (p * 2 <= sets)
		p *= 2;
	if (p == sets && c->size == sets * c->assoc * c->line)
		return 0;
	c->size = p * c->assoc * c->line;
	return 1;
}

static void note(struct pk_cachesim_geometry *g, const char *text)
{
	size_t used = strlen(g->from);

	snprintf(g->from + used, sizeof(g->from) - used, "%s%s", used ? "; " : "", text);
}

void pk_cachesim_host_geometry(const char *sysfs_dir, struct pk_cachesim_geometry *g)
{
	int have_i1 = 0, have_d1 = 0, ll_level = 0, i;

	memset(g, 0, sizeof(*g));
	g->i1 = g->d1 = default_l1;
	g->ll = default_ll;
	for (i = 0; i < 16; i++) {
		char dir[512], level[16], type[32], size[32], ways[16], line[16];
		struct pk_cache_geometry c;
		int lv;

		snprintf(dir, sizeof(dir), "%s/index%d", sysfs_dir, i);
		if (read_sysfs(dir, "level", level, sizeof(level)) < 0)
			break;
		if (read_sysfs(dir, "type", type, sizeof(type)) < 0 || read_sysfs(dir, "size", size, sizeof(size)) < 0 ||
		    read_sysfs(dir, "ways_of_associativity", ways, sizeof(ways)) < 0 ||
		    read_sysfs(dir, "coherency_line_size", line, sizeof(line)) < 0)
			continue;
		c.size = parse_size(size);
		c.assoc = atol(ways);
		c.line = atol(line);
		lv = atoi(level);
		if (c.size <= 0 || c.assoc <= 0 || c.line <= 0)
			continue;
		if (lv == 1 && !strcmp(type, "Data")) {
			g->d1 = c;
			have_d1 = 1;
		} else if (lv == 1 && !strcmp(type, "Instruction")) {
			g->i1 = c;
			have_i1 = 1;
		} else if (lv > 1 && lv > ll_level && !strcmp(type, "Unified")) {
			g->ll = c;
			ll_level = lv;
		}
	}
	if (have_d1 && have_i1 && ll_level)
		note(g, "the host's caches (sysfs)");
	else if (have_d1 || have_i1 || ll_level)
		note(g, "the host's caches where sysfs reports them, perfkit's defaults for the rest");
	else
		note(g, "perfkit's defaults: the host reports no cache geometry");
	if (fix_sets(&g->d1) != 0) {
		g->d1 = default_l1;
		note(g, "D1 replaced by the default (set count not a power of two)");
	}
	if (fix_sets(&g->i1) != 0) {
		g->i1 = default_l1;
		note(g, "I1 replaced by the default (set count not a power of two)");
	}
	if (fix_sets(&g->ll) > 0)
		note(g, "LL size rounded down to a power-of-two number of sets for cachegrind");
}

/* "valgrind-3.19.0", or "valgrind" when it does not say. */
static void valgrind_version(const char *valgrind, char *buf, size_t len)
{
	char *cmd = pk_xasprintf("'%s' --version 2>/dev/null", valgrind);
	FILE *p = popen(cmd, "r");

	snprintf(buf, len, "valgrind");
	if (p) {
		if (fgets(buf, (int)len, p))
			buf[strcspn(buf, "\n")] = '\0';
		pclose(p);
	}
	free(cmd);
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return PK_EXIT_FAILURE;
}

/* Run valgrind with args; wait ignoring Ctrl-C (PROG gets it); pass SIGTERM on. */
static pid_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static int run_and_wait(const char *path, char **args, int *status)
{
	struct sigaction ign, fwd, old_int, old_quit, old_term;
	int rc = 0;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	memset(&fwd, 0, sizeof(fwd));
	fwd.sa_handler = forward_signal;
	child_pid = fork();
	if (child_pid < 0)
		return -errno;
	if (child_pid == 0) {
		execv(path, args);
		_exit(127);
	}
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigaction(SIGTERM, &fwd, &old_term);
	while (waitpid(child_pid, status, 0) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			break;
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}

/* Open the store and begin the session.  0, or -1 after reporting. */
static int begin(const struct pk_options *opt, struct pk_dbpath *db, struct pk_store **st,
		 struct pk_session *s, pid_t pid)
{
	char err[512];
	struct utsname un;
	int rc;

	if (pk_dbpath_resolve(opt->db, db, err, sizeof(err)) < 0) {
		pk_error("%s", err);
		return -1;
	}
	rc = pk_dbpath_prepare(db);
	if (rc < 0) {
		pk_error("cannot create the directory for '%s': %s; pass --db PATH or set PERFKIT_DB", db->path,
			 strerror(-rc));
		return -1;
	}
	if (pk_store_open(db->path, PK_STORE_MODE_WRITE, st, err, sizeof(err)) != PK_STORE_OK) {
		pk_error("%s", err);
		return -1;
	}
	uname(&un);
	memset(s, 0, sizeof(*s));
	s->name = opt->name ? pk_xstrdup(opt->name) : NULL;
	s->command = pk_options_command_line(opt);
	s->mode = pk_xstrdup("cache-sim");
	s->host = pk_xstrdup(un.nodename);
	s->kernel = pk_xstrdup(un.release);
	s->pid = pid;
	s->recorder_pid = getpid();
	s->started_ns = (int64_t)pk_realtime_ns();
	s->exit_status = -1;
	if (pk_store_session_begin(*st, s) != PK_STORE_OK) {
		pk_error("cannot start a session in '%s': %s", db->path, pk_store_errmsg(*st));
		return -1;
	}
	pk_dbpath_chown(db, db->path);
	return 0;
}

/* Import out_file into session s.  0, or -1 after reporting. */
static int import(struct pk_store *st, const struct pk_session *s, const char *out_file,
		  const struct pk_cachesim_info *info, size_t *n_funcs, size_t *n_lines)
{
	struct pk_cachesim_row *rows;
	size_t n, i;
	char err[256];
	FILE *f = fopen(out_file, "re");
	int rc;

	if (!f) {
		pk_error("cachegrind wrote no results ('%s': %s); the program may have exec'd another program "
			 "or been killed before valgrind could write them", out_file, strerror(errno));
		return -1;
	}
	rc = pk_cachegrind_parse(f, &rows, &n, err, sizeof(err));
	fclose(f);
	if (rc < 0) {
		pk_error("cannot read '%s': %s", out_file, err);
		return -1;
	}
	*n_funcs = *n_lines = 0;
	for (i = 0; i < n; i++)
		(*(rows[i].line ? n_lines : n_funcs))++;
	rc = pk_store_set_cachesim(st, s->id, info);
	if (rc == PK_STORE_OK)
		rc = pk_store_add_cachesim_rows(st, s->id, rows, n);
	pk_cachesim_row_array_free(rows, n);
	if (rc != PK_STORE_OK) {
		pk_error("cannot store the cache simulation in session '%s': %s", s->name, pk_store_errmsg(st));
		return -1;
	}
	return 0;
}

/* Copy valgrind's log to stderr (it explains a failed run). */
static void show_log(const char *dir)
{
	char *path = pk_xasprintf("%s/valgrind.log", dir), line[1024];
	FILE *f = fopen(path, "re");

	while (f && fgets(line, sizeof(line), f))
		fputs(line, stderr);
	if (f)
		fclose(f);
	free(path);
}

/* Remove the output directory and the files in it. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) < 0)
			pk_warn("cannot remove '%s/%s': %s", dir, e->d_name, strerror(errno));
	if (d)
		closedir(d);
	if (rmdir(dir) < 0)
		pk_warn("cannot remove '%s': %s", dir, strerror(errno));
}

/* valgrind in PATH, as execvp would find it. */
static int find_valgrind(char *buf, size_t len)
{
	char msg[256];
	int code;

	return pk_launch_resolve("valgrind", buf, len, msg, sizeof(msg), &code);
}

int pk_cachesim_run(const struct pk_options *opt)
{
	struct pk_cachesim_geometry g;
	struct pk_cachesim_info info;
	char valgrind[4096], prog[4096], msg[1024], d1[64], ll[64], i1[64], version[64], tool[96];
	char dir[] = "/tmp/perfkit-cachesim-XXXXXX", *out_file = NULL, *argd1, *argll, *argi1, *argout, *arglog = NULL;
	char **args;
	struct pk_dbpath db = { 0 };
	struct pk_store *st = NULL;
	struct pk_session s = { 0 };
	size_t argc, i, n_funcs = 0, n_lines = 0;
	uint64_t t0, t1, t2;
	int status = 0, rc, code, result = PK_EXIT_FAILURE;

	if (opt->counters || opt->sample_on || opt->alloc || opt->n_probes) {
		pk_error("--cache-sim runs the program under valgrind: it cannot be combined with "
			 "--counters, --sample-on, --alloc or --probe");
		return PK_EXIT_USAGE;
	}
	if (pk_launch_resolve(opt->argv[0], prog, sizeof(prog), msg, sizeof(msg), &code) < 0) {
		pk_error("%s", msg);
		return code;
	}
	if (find_valgrind(valgrind, sizeof(valgrind)) < 0) {
		pk_error("--cache-sim needs valgrind, which is not installed: install the 'valgrind' package "
			 "(apt-get install valgrind)");
		return 127;
	}
	pk_cachesim_host_geometry("/sys/devices/system/cpu/cpu0/cache", &g);
	pk_cache_geometry_format(&g.d1, d1, sizeof(d1));
	pk_cache_geometry_format(&g.ll, ll, sizeof(ll));
	pk_cache_geometry_format(&g.i1, i1, sizeof(i1));
	valgrind_version(valgrind, version, sizeof(version));
	snprintf(tool, sizeof(tool), "cachegrind (%s)", version);
	if (!mkdtemp(dir)) {
		pk_perror("cannot create a directory for cachegrind's output in /tmp");
		return PK_EXIT_FAILURE;
	}
	/* %p: a fork child that stays under valgrind writes its own file. */
	argout = pk_xasprintf("--cachegrind-out-file=%s/cachegrind.out.%%p", dir);
	argd1 = pk_xasprintf("--D1=%s", d1);
	argll = pk_xasprintf("--LL=%s", ll);
	argi1 = pk_xasprintf("--I1=%s", i1);
	/* valgrind's own messages (its cache auto-detection warnings...) go
	 * to a log, so PROG's stderr stays PROG's; shown when the run fails. */
	arglog = pk_xasprintf("--log-file=%s/valgrind.log", dir);
	for (argc = 0; opt->argv[argc]; argc++)
		;
	args = pk_xcalloc(argc + 10, sizeof(*args));
	i = 0;
	args[i++] = valgrind;
	args[i++] = (char *)"-q";
	args[i++] = arglog;
	args[i++] = (char *)"--tool=cachegrind";
	args[i++] = (char *)"--cache-sim=yes";
	args[i++] = argi1;
	args[i++] = argd1;
	args[i++] = argll;
	args[i++] = argout;
	args[i++] = prog;
	for (size_t k = 1; k < argc; k++)
		args[i++] = opt->argv[k];
	args[i] = NULL;

	if (begin(opt, &db, &st, &s, 0) < 0)
		goto out;
	pk_info("simulating the caches with %s: D1=%s LL=%s (%s); session '%s'", tool, d1, ll, g.from, s.name);
	t0 = pk_monotonic_ns();
	rc = run_and_wait(valgrind, args, &status);
	t1 = pk_monotonic_ns();
	if (rc < 0) {
		errno = -rc;
		pk_perror("cannot run valgrind");
		pk_store_session_end(st, s.id, "aborted", -1, (int64_t)pk_realtime_ns());
		goto out;
	}
	pk_store_session_set_pid(st, s.id, (int)child_pid);
	out_file = pk_xasprintf("%s/cachegrind.out.%d", dir, (int)child_pid);
	memset(&info, 0, sizeof(info));
	info.tool = tool;
	info.d1 = d1;
	info.ll = ll;
	info.i1 = i1;
	info.geometry_from = g.from;
	rc = import(st, &s, out_file, &info, &n_funcs, &n_lines);
	if (rc < 0)
		show_log(dir);
	t2 = pk_monotonic_ns();
	pk_store_set_stat(st, s.id, "duration_s", (double)(t1 - t0) / 1e9);
	pk_store_set_stat(st, s.id, "cachesim_wall_s", (double)(t1 - t0) / 1e9);
	pk_store_set_stat(st, s.id, "cachesim_import_s", (double)(t2 - t1) / 1e9);
	pk_store_set_stat(st, s.id, "cachesim_functions", (double)n_funcs);
	pk_store_set_stat(st, s.id, "cachesim_lines", (double)n_lines);
	if (pk_store_session_end(st, s.id, rc < 0 ? "aborted" : "complete", exit_code_of(status),
				 (int64_t)pk_realtime_ns()) != PK_STORE_OK)
		pk_error("cannot complete session '%s': %s", s.name, pk_store_errmsg(st));
	else if (rc == 0)
		pk_info("session '%s': cache simulation of %zu functions, %zu source lines "
			"(%.2fs under cachegrind, %.3fs import; perfkit cache %s)",
			s.name, n_funcs, n_lines, (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9, s.name);
	pk_dbpath_chown(&db, db.path);
	result = rc < 0 ? PK_EXIT_FAILURE : exit_code_of(status);
	if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127 && n_funcs == 0)
		pk_error("valgrind could not run '%s'", prog);
out:
	/* Remove cachegrind's files (ours and any fork child's). */
	remove_dir(dir);
	free(out_file);
	free(args);
	free(argout);
	free(argd1);
	free(argll);
	free(argi1);
	free(arglog);
	pk_session_release(&s);
	pk_store_close(st);
	pk_dbpath_release(&db);
	return result;
}
