/*
 * test-symbols.c - the symbolizer against ELF files built while the test
 * runs.
 *
 * Each program is compiled with cc/c++ into a temporary directory, then
 * run: it reports, for chosen code addresses, the file offset that the
 * kernel mapped them from (address - mapping start + mapping offset, read
 * from its own /proc/self/maps).  That is the truth the symbolizer must
 * turn back into names and lines, the same way perfkitd will: PIE and
 * non-PIE executables, a shared library, a stripped binary with only
 * .dynsym, separate debug files found by build-id and by .gnu_debuglink,
 * C++ names, DWARF lines at -O2, addresses outside any function, non-ELF
 * files, in-memory images (a copy of a file, and this process's vDSO).
 *
 * Skips (77) when no C/C++ compiler or binutils is on PATH.  Also prints
 * (without asserting) how long a lookup in libc takes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "daemon/symbols.h"
#include "util.h"

static char tmpdir[] = "/tmp/pk-test-symbols-XXXXXX";

/* --- the programs ----------------------------------------------------- */

/* Shared by every program: print "NAME OFFSET PATH" for an address. */
static const char report_code[] =
	"#include <stdio.h>\n"
	"#include <stdlib.h>\n"
	"static void pk_report(const char *name, const void *p)\n"
	"{\n"
	"	char line[4096], path[4096];\n"
	"	unsigned long lo, hi, off;\n"
	"	FILE *f = fopen(\"/proc/self/maps\", \"r\");\n"
	"	if (f == NULL)\n"
	"		exit(2);\n"
	"	while (fgets(line, sizeof(line), f) != NULL) {\n"
	"		path[0] = 0;\n"
	"		if (sscanf(line, \"%lx-%lx %*s %lx %*s %*s %4095s\", &lo, &hi, &off, path) < 3)\n"
	"			continue;\n"
	"		if ((unsigned long)p >= lo && (unsigned long)p < hi) {\n"
	"			printf(\"%s %lx %s\\n\", name, (unsigned long)p - lo + off, path);\n"
	"			break;\n"
	"		}\n"
	"	}\n"
	"	fclose(f);\n"
	"}\n";

/* A C program with known functions; PK_VARIANT makes build-ids differ. */
static const char prog_code[] =
	"volatile int pk_sink = PK_VARIANT;\n"
	"const char pk_table[64] = \"data, not code\";\n"
	"extern char pk_line_mark[];\n"
	"extern void pk_nosize(void);\n"
	"__asm__(\".text\\n.globl pk_nosize\\n.type pk_nosize,@function\\npk_nosize:\\n"
	"\\tnop\\n\\tnop\\n\\tnop\\n\\tnop\\n\\tret\\n\");\n"
	"__attribute__((noinline)) int pk_alpha(int x) { pk_sink += x; return pk_sink * 3; } /*ALPHA*/\n"
	"__attribute__((noinline)) static int pk_beta(int x) { pk_sink -= x; return pk_sink + 7; }\n"
	"__attribute__((noinline, noclone)) int pk_lines(int x)\n"
	"{\n"
	"	int y = x * pk_sink;\n"
	"	__asm__ volatile(\".globl pk_line_mark\\npk_line_mark:\\n\\tnop\\n\\tnop\\n\\tnop\\n\\tnop\"); /*MARK*/\n"
	"	return y + pk_sink;\n"
	"}\n"
	"__attribute__((noinline)) static int pk_local_impl(int x) { pk_sink ^= x; return pk_sink; }\n"
	"int pk_alias_global(int) __attribute__((alias(\"pk_local_impl\")));\n"
	"int pk_alias_weak(int) __attribute__((weak, alias(\"pk_local_impl\")));\n"
	"static int pk_ifunc_impl(int x) { return x + 1; }\n"
	"__attribute__((noinline)) static int ____pk_internal(int x) { return x ^ pk_sink; }\n"
	"static int __GI_____pk_internal(int) __attribute__((alias(\"____pk_internal\")));\n"
	"static void *pk_ifunc_resolver(void) { return (void *)pk_ifunc_impl; }\n"
	"int pk_ifunc(int) __attribute__((ifunc(\"pk_ifunc_resolver\")));\n"
	"int main(void)\n"
	"{\n"
	"	pk_report(\"pk_alpha\", (const void *)pk_alpha);\n"
	"	pk_report(\"pk_beta\", (const void *)pk_beta);\n"
	"	pk_report(\"pk_lines\", (const void *)pk_lines);\n"
	"	pk_report(\"pk_line_mark\", pk_line_mark);\n"
	"	pk_report(\"pk_nosize\", (const void *)pk_nosize);\n"
	"	pk_report(\"pk_alias\", (const void *)pk_alias_global);\n"
	"	pk_report(\"pk_table\", pk_table);\n"
	"	pk_report(\"pk_internal\", (const void *)__GI_____pk_internal);\n"
	"	pk_report(\"pk_ifunc_resolver\", (const void *)pk_ifunc_resolver);\n"
	"	pk_nosize();\n"
	"	return (pk_alpha(1) + pk_beta(2) + pk_lines(3) + pk_alias_global(4) +\n"
	"		pk_alias_weak(5) + pk_ifunc(6) + ____pk_internal(7) + pk_table[0]) == 12345;\n"
	"}\n";

static const char lib_code[] =
	"volatile int pk_lib_sink;\n"
	"__attribute__((noinline)) int pk_lib_fn(int x) { pk_lib_sink += x; return pk_lib_sink; }\n"
	"__attribute__((noinline)) static int pk_lib_static(int x) { return pk_lib_sink * x; }\n"
	"int pk_lib_report(void)\n"
	"{\n"
	"	pk_report(\"pk_lib_fn\", (const void *)pk_lib_fn);\n"
	"	pk_report(\"pk_lib_static\", (const void *)pk_lib_static);\n"
	"	return pk_lib_fn(1) + pk_lib_static(2);\n"
	"}\n";

static const char uselib_code[] =
	"int pk_lib_report(void);\n"
	"int main(void) { return pk_lib_report() == 12345; }\n";

static const char cxx_code[] =
	"volatile int pk_v;\n"
	"namespace ns {\n"
	"__attribute__((noinline)) static void here(const char *name)\n"
	"{\n"
	"	pk_report(name, __builtin_return_address(0));\n"
	"}\n"
	"struct Klass {\n"
	"	int method(int x);\n"
	"};\n"
	"__attribute__((noinline)) int Klass::method(int x)\n"
	"{\n"
	"	here(\"method\");\n"
	"	return x + pk_v;\n"
	"}\n"
	"}\n"
	"int main() { ns::Klass k; return k.method(1) == 12345; }\n";

/* --- helpers ---------------------------------------------------------- */

/* Run a shell command in tmpdir; its exit status (or -1). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	full = pk_xasprintf("cd '%s' && %s", tmpdir, cmd);
	rc = system(full);
	if (rc != 0)
		fprintf(stderr, "test-symbols: command failed (%d): %s\n", rc, cmd);
	free(full);
	free(cmd);
	return rc;
}

static char *tmp_path(const char *name)
{
	return pk_xasprintf("%s/%s", tmpdir, name);
}

static int write_file(const char *name, const char *a, const char *b)
{
	char *path = tmp_path(name);
	FILE *f = fopen(path, "w");
	int rc = -1;

	if (f != NULL) {
		fputs(a, f);
		if (b != NULL)
			fputs(b, f);
		rc = fclose(f);
	}
	free(path);
	return rc;
}

/* 1-based line of the first line of prog_code holding marker, as compiled
 * (after report_code). */
static int line_of(const char *code, const char *marker)
{
	const char *hit = strstr(code, marker);
	int line = 1;

	for (const char *p = report_code; *p; p++)
		line += *p == '\n';
	for (const char *p = code; hit != NULL && p < hit; p++)
		line += *p == '\n';
	return hit != NULL ? line : -1;
}

/* What a program reported: name -> (offset, path). */
struct report {
	char name[64];
	uint64_t offset;
	char path[512];
};

struct reports {
	struct report v[16];
	int n;
};

static int run_program(const char *name, struct reports *r)
{
	char *cmd = pk_xasprintf("cd '%s' && ./%s", tmpdir, name);
	FILE *p = popen(cmd, "r");
	char line[1024];

	free(cmd);
	r->n = 0;
	if (p == NULL)
		return -1;
	while (r->n < 16 && fgets(line, sizeof(line), p) != NULL) {
		struct report *e = &r->v[r->n];
		unsigned long off;

		if (sscanf(line, "%63s %lx %511s", e->name, &off, e->path) == 3) {
			e->offset = off;
			r->n++;
		}
	}
	pclose(p);
	return r->n > 0 ? 0 : -1;
}

/* The report for name; a failure and an empty report when missing. */
static const struct report *find(const struct reports *r, const char *name)
{
	static const struct report missing = { "", 0, "/nonexistent" };

	for (int i = 0; i < r->n; i++) {
		if (strcmp(r->v[i].name, name) == 0)
			return &r->v[i];
	}
	fprintf(stderr, "test-symbols: no report for %s\n", name);
	CU_FAIL("a test program did not report an address");
	return &missing;
}

static const char *ends_with_path(const char *s, const char *tail)
{
	size_t ls = s ? strlen(s) : 0, lt = strlen(tail);

	return ls >= lt && strcmp(s + ls - lt, tail) == 0 ? s : NULL;
}

/* Assert that offset `off` (+ delta) of `path` names function `want`. */
#define EXPECT_FUNCTION(s, path, root, off, want)                                              \
	do {                                                                                   \
		struct pk_symbol sym_;                                                         \
		CU_ASSERT_EQUAL_FATAL(pk_symbolize((s), (path), (root), (off), &sym_), 0);     \
		if (sym_.function == NULL || strcmp(sym_.function, (want)) != 0)               \
			fprintf(stderr, "test-symbols: %s+%#llx: got %s, want %s\n", (path),   \
				(unsigned long long)(off), sym_.function ? sym_.function : "NULL", \
				(want));                                                       \
		CU_ASSERT_PTR_NOT_NULL_FATAL(sym_.function);                                   \
		CU_ASSERT_STRING_EQUAL(sym_.function, (want));                                 \
	} while (0)

/* Programs' reports, filled by build_all(). */
static struct reports pie, nopie, dyn, bid, dl, dlsub, dlbad, uselib, cxx;

static int build_all(void)
{
	static const char cflags[] = "-O2 -Wl,--build-id=sha1";

	if (write_file("prog.c", report_code, prog_code) || write_file("lib.c", report_code, lib_code) ||
	    write_file("uselib.c", uselib_code, NULL) || write_file("cxx.cc", report_code, cxx_code))
		return -1;
	if (sh("cc %s -g -fPIE -pie -DPK_VARIANT=1 prog.c -o prog-pie", cflags) ||
	    sh("cc %s -g -fno-pie -no-pie -DPK_VARIANT=2 prog.c -o prog-nopie", cflags) ||
	    /* Only .dynsym: exported functions, no .symtab, no DWARF. */
	    sh("cc %s -fPIE -pie -rdynamic -DPK_VARIANT=3 prog.c -o prog-dyn && strip --strip-all prog-dyn",
	       cflags) ||
	    /* Debug file by build-id under root/usr/lib/debug/.build-id. */
	    sh("cc %s -g -fPIE -pie -DPK_VARIANT=4 prog.c -o prog-bid.full && "
	       "objcopy --only-keep-debug prog-bid.full prog-bid.debug && "
	       "strip --strip-all prog-bid.full -o prog-bid && "
	       "id=$(readelf -n prog-bid | sed -n 's/.*Build ID: *//p') && "
	       "mkdir -p root/usr/lib/debug/.build-id/$(echo $id | cut -c1-2) && "
	       "mv prog-bid.debug root/usr/lib/debug/.build-id/$(echo $id | cut -c1-2)/$(echo $id | cut -c3-).debug",
	       cflags) ||
	    /* Debug file by .gnu_debuglink beside the binary (no build-id). */
	    sh("cc -O2 -Wl,--build-id=none -g -fPIE -pie -DPK_VARIANT=5 prog.c -o prog-dl.full && "
	       "objcopy --only-keep-debug prog-dl.full prog-dl.dbg && "
	       "objcopy --strip-all --add-gnu-debuglink=prog-dl.dbg prog-dl.full prog-dl") ||
	    /* ... in the .debug/ subdirectory, and under root/usr/lib/debug/DIR. */
	    sh("cc -O2 -Wl,--build-id=none -g -fPIE -pie -DPK_VARIANT=6 prog.c -o prog-dlsub.full && "
	       "objcopy --only-keep-debug prog-dlsub.full prog-dlsub.dbg && "
	       "objcopy --strip-all --add-gnu-debuglink=prog-dlsub.dbg prog-dlsub.full prog-dlsub && "
	       "mkdir -p .debug && cp prog-dlsub.dbg .debug/ && "
	       "mkdir -p \"root/usr/lib/debug$(pwd -P)\" && mv prog-dlsub.dbg \"root/usr/lib/debug$(pwd -P)/\"") ||
	    /* ... with a CRC that does not match: must not be used. */
	    sh("cc -O2 -Wl,--build-id=none -g -fPIE -pie -DPK_VARIANT=7 prog.c -o prog-dlbad.full && "
	       "objcopy --only-keep-debug prog-dlbad.full prog-dlbad.dbg && "
	       "objcopy --strip-all --add-gnu-debuglink=prog-dlbad.dbg prog-dlbad.full prog-dlbad && "
	       "echo tampered >> prog-dlbad.dbg") ||
	    sh("cc %s -g -fPIC -shared lib.c -o libpkt.so && "
	       "cc %s -fPIE -pie uselib.c -o uselib -L. -lpkt -Wl,-rpath,\"$PWD\"", cflags, cflags) ||
	    sh("c++ %s -g -fno-optimize-sibling-calls cxx.cc -o cxx", cflags))
		return -1;
	if (run_program("prog-pie", &pie) || run_program("prog-nopie", &nopie) ||
	    run_program("prog-dyn", &dyn) || run_program("prog-bid", &bid) ||
	    run_program("prog-dl", &dl) || run_program("prog-dlsub", &dlsub) ||
	    run_program("prog-dlbad", &dlbad) || run_program("uselib", &uselib) ||
	    run_program("cxx", &cxx))
		return -1;
	/* prog-dlsub's debug file must be found in .debug/ first: take the
	 * one beside it away. */
	return sh("rm -f prog-dl.full prog-dlsub.full prog-dlbad.full prog-bid.full");
}

/* --- tests ------------------------------------------------------------ */

/* Every function of the C program, by name, with the offset mapped to the
 * right virtual address (checked through symbol_start). */
static void check_program(const struct reports *r, const char *root, int with_static)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *a = find(r, "pk_alpha"), *b = find(r, "pk_beta");
	const struct report *l = find(r, "pk_lines"), *al = find(r, "pk_alias");
	const struct report *n = find(r, "pk_nosize"), *ifn = find(r, "pk_ifunc_resolver");
	const struct report *gi = find(r, "pk_internal");
	struct pk_symbol sym;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	EXPECT_FUNCTION(s, a->path, root, a->offset, "pk_alpha");
	EXPECT_FUNCTION(s, a->path, root, a->offset + 1, "pk_alpha");
	EXPECT_FUNCTION(s, l->path, root, l->offset + 2, "pk_lines");
	if (with_static) {
		EXPECT_FUNCTION(s, b->path, root, b->offset + 1, "pk_beta");
		/* Three names at one address: the global one wins. */
		EXPECT_FUNCTION(s, al->path, root, al->offset, "pk_alias_global");
		/* No .size: covered up to the next symbol. */
		EXPECT_FUNCTION(s, n->path, root, n->offset + 3, "pk_nosize");
		/* An IFUNC symbol names its resolver's code (and is global). */
		EXPECT_FUNCTION(s, ifn->path, root, ifn->offset, "pk_ifunc");
		/* Local aliases: not glibc's __GI_ one. */
		EXPECT_FUNCTION(s, gi->path, root, gi->offset, "____pk_internal");
	}
	/* The address of an offset is its symbol's start plus the distance. */
	CU_ASSERT_EQUAL(pk_symbolize(s, a->path, root, a->offset + 1, &sym), 0);
	CU_ASSERT_EQUAL(sym.address, sym.symbol_start + 1);
	pk_symbolizer_free(s);
}

static void test_pie(void)
{
	check_program(&pie, "/", 1);
}

static void test_non_pie(void)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *a = find(&nopie, "pk_alpha");
	struct pk_symbol sym;

	check_program(&nopie, "/", 1);
	/* ET_EXEC: the address is the absolute link-time address (x86-64
	 * non-PIE text starts at 0x400000), unlike the PIE's offset-sized. */
	CU_ASSERT_EQUAL(pk_symbolize(s, a->path, "/", a->offset, &sym), 0);
	CU_ASSERT(sym.address >= 0x400000);
	CU_ASSERT_EQUAL(sym.address, sym.symbol_start);
	pk_symbolizer_free(s);
}

static void test_dynsym_only(void)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *b = find(&dyn, "pk_beta");
	struct pk_symbol sym;

	check_program(&dyn, "/", 0);
	/* A static function is not in .dynsym: never named pk_beta. */
	CU_ASSERT_EQUAL(pk_symbolize(s, b->path, "/", b->offset + 1, &sym), 0);
	CU_ASSERT(sym.function == NULL || strcmp(sym.function, "pk_beta") != 0);
	CU_ASSERT_PTR_NULL(sym.file);
	pk_symbolizer_free(s);
}

/* The source line of the asm marker at -O2, and of a one-line function. */
static void check_lines(const struct reports *r, const char *root)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *m = find(r, "pk_line_mark"), *a = find(r, "pk_alpha");
	struct pk_symbol sym;

	CU_ASSERT_EQUAL_FATAL(pk_symbolize(s, m->path, root, m->offset + 2, &sym), 0);
	CU_ASSERT_PTR_NOT_NULL(sym.function);
	CU_ASSERT(sym.function && strcmp(sym.function, "pk_lines") == 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sym.file);
	CU_ASSERT_PTR_NOT_NULL(ends_with_path(sym.file, "/prog.c"));
	CU_ASSERT_EQUAL(sym.line, line_of(prog_code, "/*MARK*/"));
	if (sym.line != line_of(prog_code, "/*MARK*/"))
		fprintf(stderr, "test-symbols: mark at %s:%d, want line %d\n", sym.file, sym.line,
			line_of(prog_code, "/*MARK*/"));

	CU_ASSERT_EQUAL_FATAL(pk_symbolize(s, a->path, root, a->offset + 1, &sym), 0);
	CU_ASSERT_EQUAL(sym.line, line_of(prog_code, "/*ALPHA*/"));
	pk_symbolizer_free(s);
}

static void test_lines(void)
{
	check_lines(&pie, "/");
	check_lines(&nopie, "/");
}

static void test_debug_by_build_id(void)
{
	char *root = tmp_path("root");
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *b = find(&bid, "pk_beta");
	struct pk_symbol sym;

	/* Without the debug root nothing beyond .dynsym (empty here). */
	CU_ASSERT_EQUAL(pk_symbolize(s, b->path, tmpdir, b->offset + 1, &sym), 0);
	CU_ASSERT_PTR_NULL(sym.function);
	CU_ASSERT_PTR_NOT_NULL(sym.build_id);
	pk_symbolizer_free(s);

	check_program(&bid, root, 1);
	check_lines(&bid, root);
	free(root);
}

static void test_debug_by_debuglink(void)
{
	char *root = tmp_path("root");
	char *dbg = tmp_path(".debug/prog-dlsub.dbg");
	struct pk_symbolizer *s;
	const struct report *b = find(&dlbad, "pk_beta");
	struct pk_symbol sym;

	check_program(&dl, "/", 1);
	check_lines(&dl, "/");
	check_program(&dlsub, "/", 1);
	check_lines(&dlsub, "/");
	/* Now only root/usr/lib/debug/DIR/ holds it. */
	CU_ASSERT_EQUAL(unlink(dbg), 0);
	check_program(&dlsub, root, 1);

	/* A debug file whose CRC does not match is ignored. */
	s = pk_symbolizer_new();
	CU_ASSERT_EQUAL(pk_symbolize(s, b->path, "/", b->offset + 1, &sym), 0);
	CU_ASSERT_PTR_NULL(sym.function);
	CU_ASSERT_PTR_NULL(sym.file);
	CU_ASSERT_PTR_NULL(sym.build_id);
	pk_symbolizer_free(s);
	free(dbg);
	free(root);
}

static void test_shared_library(void)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *f = find(&uselib, "pk_lib_fn"), *st = find(&uselib, "pk_lib_static");
	struct pk_symbol sym;

	CU_ASSERT_PTR_NOT_NULL(ends_with_path(f->path, "/libpkt.so"));
	EXPECT_FUNCTION(s, f->path, "/", f->offset + 1, "pk_lib_fn");
	EXPECT_FUNCTION(s, st->path, "/", st->offset + 1, "pk_lib_static");
	CU_ASSERT_EQUAL(pk_symbolize(s, f->path, "/", f->offset, &sym), 0);
	CU_ASSERT_PTR_NOT_NULL(ends_with_path(sym.file, "/lib.c"));
	CU_ASSERT_EQUAL(sym.line, line_of(lib_code, "pk_lib_fn(int x)"));
	pk_symbolizer_free(s);
}

static void test_cxx(void)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *m = find(&cxx, "method");

	/* A return address inside the method, as a sampled stack holds. */
	EXPECT_FUNCTION(s, m->path, "/", m->offset, "ns::Klass::method(int)");
	pk_symbolizer_free(s);
}

static void test_outside_functions(void)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *t = find(&pie, "pk_table");
	struct pk_symbol sym;

	/* Read-only data, the ELF header, far past the end of the file. */
	CU_ASSERT_EQUAL(pk_symbolize(s, t->path, "/", t->offset, &sym), 0);
	CU_ASSERT_PTR_NULL(sym.function);
	CU_ASSERT_PTR_NOT_NULL(sym.build_id);
	CU_ASSERT_EQUAL(pk_symbolize(s, t->path, "/", 0, &sym), 0);
	CU_ASSERT_PTR_NULL(sym.function);
	CU_ASSERT_EQUAL(pk_symbolize(s, t->path, "/", 0x7fffffff, &sym), 0);
	CU_ASSERT_PTR_NULL(sym.function);
	CU_ASSERT_PTR_NULL(sym.file);
	pk_symbolizer_free(s);
}

static void test_not_elf(void)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	char *text = tmp_path("prog.c"), *missing = tmp_path("no-such-file");
	struct pk_symbol sym;

	CU_ASSERT_EQUAL(pk_symbolize(s, text, "/", 0, &sym), -1);
	CU_ASSERT_EQUAL(pk_symbolize(s, text, "/", 16, &sym), -1); /* cached answer */
	CU_ASSERT_EQUAL(pk_symbolize(s, missing, "/", 0, &sym), -1);
	CU_ASSERT_EQUAL(pk_symbolize(s, tmpdir, "/", 0, &sym), -1);
	CU_ASSERT_EQUAL(pk_symbolize_image(s, "text", "not an ELF image", 16, 0, &sym), -1);
	pk_symbolizer_free(s);
	free(text);
	free(missing);
}

/* One file read once: lookups through two paths to copies with the same
 * build-id share the module (and so its strings). */
static void test_cache(void)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *a = find(&pie, "pk_alpha"), *na = find(&nopie, "pk_alpha");
	char *copy = tmp_path("prog-copy"), *swap = tmp_path("prog-swap");
	struct pk_symbol one, two;

	CU_ASSERT_EQUAL_FATAL(sh("cp prog-pie prog-copy && cp prog-pie prog-swap"), 0);
	CU_ASSERT_EQUAL(pk_symbolize(s, a->path, "/", a->offset, &one), 0);
	CU_ASSERT_EQUAL(pk_symbolize(s, copy, "/", a->offset, &two), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(one.function);
	CU_ASSERT_PTR_EQUAL(one.function, two.function);
	CU_ASSERT_PTR_EQUAL(one.build_id, two.build_id);

	/* The path now names another file: after a flush it is read anew. */
	CU_ASSERT_EQUAL(pk_symbolize(s, swap, "/", a->offset, &one), 0);
	CU_ASSERT_EQUAL_FATAL(sh("cp prog-nopie prog-swap.new && mv prog-swap.new prog-swap"), 0);
	pk_symbolizer_flush(s);
	CU_ASSERT_EQUAL(pk_symbolize(s, swap, "/", na->offset, &two), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(two.function);
	CU_ASSERT_STRING_EQUAL(two.function, "pk_alpha");
	CU_ASSERT(one.build_id && two.build_id && strcmp(one.build_id, two.build_id) != 0);
	/* Strings handed out before the flush are still valid. */
	CU_ASSERT_STRING_EQUAL(one.function, "pk_alpha");
	pk_symbolizer_free(s);
	free(copy);
	free(swap);
}

static void test_image(void)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	const struct report *a = find(&pie, "pk_alpha");
	struct pk_symbol sym;
	struct stat st;
	char *bytes;
	FILE *f;

	f = fopen(a->path, "rb");
	CU_ASSERT_FATAL(f != NULL && fstat(fileno(f), &st) == 0);
	bytes = pk_xmalloc((size_t)st.st_size);
	CU_ASSERT_FATAL(fread(bytes, 1, (size_t)st.st_size, f) == (size_t)st.st_size);
	fclose(f);
	CU_ASSERT_EQUAL(pk_symbolize_image(s, "copy", bytes, (size_t)st.st_size, a->offset + 1, &sym), 0);
	/* The symbolizer keeps its own copy. */
	memset(bytes, 0, (size_t)st.st_size);
	free(bytes);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
	CU_ASSERT_STRING_EQUAL(sym.function, "pk_alpha");
	CU_ASSERT_EQUAL(pk_symbolize_image(s, "copy", NULL, 0, a->offset + 1, &sym), 0);
	CU_ASSERT_STRING_EQUAL(sym.function, "pk_alpha");
	pk_symbolizer_free(s);
}

/* This process's vDSO, as perfkitd copies the target's: clock_gettime's
 * address comes from the dynamic linker, which knows the vDSO too. */
static void test_vdso(void)
{
	struct pk_symbolizer *s = pk_symbolizer_new();
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	void *h = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
	void *fn = h ? dlvsym(h, "__vdso_clock_gettime", "LINUX_2.6") : NULL;
	struct pk_symbol sym;
	char line[512];
	unsigned long lo, hi, size = 0;
	FILE *maps = fopen("/proc/self/maps", "r");

	while (maps != NULL && fgets(line, sizeof(line), maps) != NULL) {
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo == base)
			size = hi - lo;
	}
	if (maps != NULL)
		fclose(maps);
	if (base == 0 || fn == NULL || size == 0) {
		fprintf(stderr, "test-symbols: no vDSO to check here\n");
		pk_symbolizer_free(s);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(pk_symbolize_image(s, "[vdso]", (const void *)base, size,
						 (uint64_t)((unsigned long)fn - base), &sym), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sym.function);
	CU_ASSERT_PTR_NOT_NULL(strstr(sym.function, "clock_gettime"));
	pk_symbolizer_free(s);
	dlclose(h);
}

/* libc: malloc by the address the dynamic linker gives, then lookup speed
 * (printed, not asserted): with the separate debug file when one is
 * installed (libc6-dbg), and with .dynsym alone. */
static void test_libc(void)
{
	void *fn = dlsym(RTLD_DEFAULT, "malloc");
	char line[1024], path[512] = "";
	unsigned long lo = 0, hi = 0, off = 0, a, b, o;
	FILE *maps = fopen("/proc/self/maps", "r");
	const char *roots[2] = { "/", tmpdir };

	while (maps != NULL && fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %511s", &a, &b, &o, path) == 4 &&
		    (unsigned long)fn >= a && (unsigned long)fn < b) {
			lo = a, hi = b, off = o;
			break;
		}
	}
	if (maps != NULL)
		fclose(maps);
	CU_ASSERT_FATAL(fn != NULL && hi > lo);
	for (int r = 0; r < 2; r++) {
		struct pk_symbolizer *s = pk_symbolizer_new();
		struct pk_symbol sym;
		uint64_t t0, t1, t2, x = 88172645463325252ull, hot[512];
		enum { N = 1000000 };
		size_t named = 0, lines = 0;

		EXPECT_FUNCTION(s, path, roots[r], (uint64_t)((unsigned long)fn - lo + off), "malloc");
		/* Random offsets all over libc's text: every lookup searches. */
		t0 = pk_monotonic_ns();
		for (int i = 0; i < N; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			pk_symbolize(s, path, roots[r], off + x % (hi - lo), &sym);
			named += sym.function != NULL;
			lines += sym.file != NULL;
		}
		t1 = pk_monotonic_ns();
		/* 512 hot addresses, as a profile of a real program repeats. */
		for (int i = 0; i < 512; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			hot[i] = off + x % (hi - lo);
		}
		for (int i = 0; i < N; i++)
			pk_symbolize(s, path, roots[r], hot[i & 511], &sym);
		t2 = pk_monotonic_ns();
		printf("\n  libc lookups (%s): %.0f ns each at random offsets (%zu%% named, "
		       "%zu%% with lines), %.0f ns among 512 hot offsets",
		       r == 0 ? "with its debug file if installed" : ".dynsym only",
		       (double)(t1 - t0) / N, named * 100 / N, lines * 100 / N,
		       (double)(t2 - t1) / N);
		pk_symbolizer_free(s);
	}
	printf("\n");
}

/* --- main ------------------------------------------------------------- */

static int have_tool(const char *tool)
{
	char *cmd = pk_xasprintf("command -v %s >/dev/null 2>&1", tool);
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

int main(void)
{
	static const char *tools[] = { "cc", "c++", "strip", "objcopy", "readelf" };
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "PIE executable", test_pie },
		{ "non-PIE executable", test_non_pie },
		{ "stripped, .dynsym only", test_dynsym_only },
		{ "DWARF lines at -O2", test_lines },
		{ "debug file by build-id", test_debug_by_build_id },
		{ "debug file by .gnu_debuglink", test_debug_by_debuglink },
		{ "shared library", test_shared_library },
		{ "C++ names demangled", test_cxx },
		{ "addresses outside functions", test_outside_functions },
		{ "not ELF", test_not_elf },
		{ "cache by build-id, flush", test_cache },
		{ "in-memory image", test_image },
		{ "vDSO image", test_vdso },
		{ "libc, lookup speed", test_libc },
	};
	CU_pSuite suite;
	unsigned failures;

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (!have_tool(tools[i])) {
			fprintf(stderr, "test-symbols: skipped: '%s' is not on PATH (install gcc, g++, binutils)\n",
				tools[i]);
			return 77;
		}
	}
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "test-symbols: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (build_all() != 0) {
		fprintf(stderr, "test-symbols: could not build the test programs in %s "
			"(PK_KEEP_TMP=1 keeps it)\n", tmpdir);
		failures = 1;
	} else if (CU_initialize_registry() != CUE_SUCCESS) {
		failures = 1;
	} else {
		suite = CU_add_suite("symbols", NULL, NULL);
		for (size_t i = 0; suite != NULL && i < sizeof(tests) / sizeof(tests[0]); i++)
			CU_add_test(suite, tests[i].name, tests[i].fn);
		CU_basic_set_mode(CU_BRM_VERBOSE);
		CU_basic_run_tests();
		failures = CU_get_number_of_failures();
		CU_cleanup_registry();
	}
	if (getenv("PK_KEEP_TMP") == NULL)
		sh("cd / && rm -rf '%s'", tmpdir);
	return failures != 0;
}
