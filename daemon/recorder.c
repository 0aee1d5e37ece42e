/*
 * recorder.c - addresses to stored stacks (see recorder.h).
 *
 * Each distinct address is symbolized once per program image (the cache
 * is dropped on exec): mapping -> file and file offset -> symbolizer ->
 * (module, function, file:line) -> interned frame id.  Return addresses
 * are looked up at ip - 1 so that a call at the very end of a function,
 * or followed by another function's code, is named after the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "daemon/recorder.h"
#include "daemon/symbols.h"
#include "error.h"
#include "u64map.h"
#include "util.h"

#define MAPS_RELOAD_INTERVAL_NS 100000000ull /* at most 10 reloads a second */

struct pk_recorder {
	struct pk_store *st;
	int64_t sid;
	pid_t pid;
	struct pk_maps *maps;
	struct pk_symbolizer *sym;
	struct pk_u64map frames;     /* looked-up address -> frame id */
	uint64_t last_reload_ns;
	void *vdso;                  /* copy of the target's vDSO */
	size_t vdso_size;
	uint64_t vdso_start;
	char debug_root[64];
};

struct pk_recorder *pk_recorder_new(struct pk_store *st, int64_t sid, pid_t pid, struct pk_maps *maps)
{
	struct pk_recorder *r = pk_xcalloc(1, sizeof(*r));

	r->st = st;
	r->sid = sid;
	r->pid = pid;
	r->maps = maps;
	r->sym = pk_symbolizer_new();
	if (!r->sym) {
		pk_error("cannot start the symbolizer");
		free(r);
		return NULL;
	}
	pk_u64map_init(&r->frames);
	snprintf(r->debug_root, sizeof(r->debug_root), "/proc/%d/root", (int)pid);
	return r;
}

void pk_recorder_free(struct pk_recorder *r)
{
	if (!r)
		return;
	pk_symbolizer_free(r->sym);
	pk_u64map_release(&r->frames);
	free(r->vdso);
	free(r);
}

void pk_recorder_flush_caches(struct pk_recorder *r)
{
	pk_u64map_clear(&r->frames);
	free(r->vdso);
	r->vdso = NULL;
	r->vdso_size = 0;
	/* Paths may name other files now; files already read stay cached. */
	pk_symbolizer_flush(r->sym);
}

int pk_recorder_event(struct pk_recorder *r, const char *name, const char *unit)
{
	return pk_store_event(r->st, r->sid, name, unit);
}

/* The mapping of addr, reloading the maps when it is unknown (dlopen). */
static const struct pk_mapping *find_mapping(struct pk_recorder *r, uint64_t addr)
{
	const struct pk_mapping *m = pk_maps_find(r->maps, addr);
	uint64_t now;

	if (m)
		return m;
	now = pk_monotonic_ns();
	if (now - r->last_reload_ns < MAPS_RELOAD_INTERVAL_NS)
		return NULL;
	r->last_reload_ns = now;
	if (pk_maps_load(r->maps, r->pid) < 0)
		return NULL;
	return pk_maps_find(r->maps, addr);
}

/* Symbolize addr within the vDSO from a copy read once. */
static int symbolize_vdso(struct pk_recorder *r, const struct pk_mapping *m, uint64_t addr,
			  struct pk_symbol *sym)
{
	if (!r->vdso || r->vdso_start != m->start) {
		struct iovec local, remote;
		size_t size = (size_t)(m->end - m->start);
		ssize_t got;

		free(r->vdso);
		r->vdso = pk_xmalloc(size);
		local.iov_base = r->vdso;
		local.iov_len = size;
		remote.iov_base = (void *)(uintptr_t)m->start;
		remote.iov_len = size;
		got = process_vm_readv(r->pid, &local, 1, &remote, 1, 0);
		if (got != (ssize_t)size) {
			free(r->vdso);
			r->vdso = NULL;
			return -1;
		}
		r->vdso_size = size;
		r->vdso_start = m->start;
	}
	return pk_symbolize_image(r->sym, "[vdso]", r->vdso, r->vdso_size, addr - m->start, sym);
}

static int64_t intern_frame(struct pk_recorder *r, uint64_t addr)
{
	const struct pk_mapping *m = find_mapping(r, addr);
	struct pk_symbol sym;
	const char *module_path, *module_base;
	char open_path[4200], *name = NULL;
	int64_t module_id, function_id;
	uint64_t rel;
	int ok = -1;

	memset(&sym, 0, sizeof(sym));
	if (!m) {
		module_path = "[unknown]";
		rel = addr;
	} else {
		module_path = m->path ? m->path : "[anon]";
		rel = addr - m->start + m->offset;
		if (m->path && !strcmp(m->path, "[vdso]"))
			ok = symbolize_vdso(r, m, addr, &sym);
		else if (m->path && !m->special && pk_maps_open_path(r->maps, m, open_path, sizeof(open_path)) == 0)
			ok = pk_symbolize(r->sym, open_path, r->debug_root, rel, &sym);
		if (ok == 0)
			rel = sym.address;
	}
	module_base = pk_basename(module_path);
	module_id = pk_store_module(r->st, r->sid, module_path, ok == 0 ? sym.build_id : NULL);
	if (module_id < 0)
		return module_id;
	if (ok == 0 && sym.function)
		function_id = pk_store_function(r->st, r->sid, sym.function, module_id);
	else {
		/* Unknown code still counts: name it module+0xoffset. */
		name = pk_xasprintf("%s+0x%llx", module_base, (unsigned long long)rel);
		function_id = pk_store_function(r->st, r->sid, name, module_id);
		free(name);
	}
	if (function_id < 0)
		return function_id;
	return pk_store_frame(r->st, r->sid, function_id, module_id, rel,
			      ok == 0 ? sym.file : NULL, ok == 0 ? sym.line : 0);
}

int64_t pk_recorder_stack(struct pk_recorder *r, const uint64_t *ips, int n)
{
	int64_t parent = 0;
	int i;

	for (i = n - 1; i >= 0; i--) {
		/* Callers are looked up at ip - 1 (inside the call instruction). */
		uint64_t addr = i == 0 ? ips[i] : ips[i] - 1;
		int64_t frame;

		if (!addr)
			continue;
		frame = pk_u64map_get(&r->frames, addr);
		if (!frame) {
			frame = intern_frame(r, addr);
			if (frame < 0)
				return frame;
			pk_u64map_put(&r->frames, addr, frame);
		}
		parent = pk_store_stack_node(r->st, r->sid, parent, frame);
		if (parent < 0)
			return parent;
	}
	return parent;
}

int pk_recorder_warm(struct pk_recorder *r, uint64_t budget_ns)
{
	uint64_t t0 = pk_monotonic_ns();
	const char *last = NULL;
	int n = 0;

	for (size_t i = 0; i < r->maps->n && pk_monotonic_ns() - t0 < budget_ns; i++) {
		const struct pk_mapping *m = &r->maps->v[i];
		char open_path[4200];
		struct pk_symbol sym;

		if (!(m->prot & PROT_EXEC) || !m->path || m->special || (last && !strcmp(last, m->path)))
			continue;
		last = m->path;
		if (pk_maps_open_path(r->maps, m, open_path, sizeof(open_path)) == 0 &&
		    pk_symbolize(r->sym, open_path, r->debug_root, m->offset, &sym) == 0)
			n++;
	}
	return n;
}

int pk_recorder_sample(struct pk_recorder *r, int event, int32_t tid, int64_t time_ns,
		       int64_t stack_id, int64_t weight, char state)
{
	struct pk_sample s;

	s.time_ns = time_ns;
	s.tid = tid;
	s.event = event;
	s.stack_id = stack_id;
	s.weight = weight;
	s.state = state;
	return pk_store_add_sample(r->st, r->sid, &s);
}
