/*
 * perf-ring.c - perf_event sampling rings (see perf-ring.h).
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "daemon/perf-ring.h"
#include "util.h"

/* x86-64 perf_regs bits: AX..SS (0-11) and R8..R15 (16-23); DS..GS
 * (12-15) are refused by the kernel for 64-bit tasks. */
#define REGS_MASK 0xff0fffull
enum { R_AX, R_BX, R_CX, R_DX, R_SI, R_DI, R_BP, R_SP, R_IP, R_FLAGS, R_CS, R_SS,
       R_R8 = 16, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15, R_MAX };

size_t pk_perf_stack_bytes(size_t want)
{
	if (want > 65528)
		want = 65528;
	return want & ~(size_t)7;
}

void pk_perf_sample_attr(struct perf_event_attr *attr, uint64_t period, size_t stack_bytes)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->sample_period = period;
	/* No PERF_SAMPLE_PERIOD: with it the kernel samples a software event
	 * at every occurrence whatever the period (perf_swevent_event), and
	 * a fixed period is the weight of every sample anyway. */
	attr->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			    PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
	attr->sample_regs_user = REGS_MASK;
	attr->sample_stack_user = (uint32_t)stack_bytes;
	attr->use_clockid = 1;
	attr->clockid = CLOCK_MONOTONIC;  /* the session's clock */
	/* perfkitd reads the rings on its own schedule and never sleeps on
	 * them: no wake-up per sample. */
	attr->watermark = 1;
	attr->wakeup_watermark = 1u << 30;
}

/* Data pages: room for 512 samples between two drains (a burst of
 * events can come faster than perfkitd drains), 16..512 pages (2 MiB). */
static size_t data_pages(size_t stack_bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), want = (stack_bytes + 512) * 512 / page, n = 16;

	while (n < want && n < 512)
		n *= 2;
	return n;
}

int pk_perf_ring_map(struct pk_perf_ring *r, int fd, pid_t tid, size_t stack_bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages;
	int err = ENOMEM;

	memset(r, 0, sizeof(*r));
	r->tid = tid;
	r->fd = fd;
	/* Smaller rings when locked memory is short (unprivileged users). */
	for (pages = data_pages(stack_bytes); pages >= 1; pages /= 2) {
		r->ring_len = (pages + 1) * page;
		r->ring = mmap(NULL, r->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (r->ring != MAP_FAILED)
			break;
		r->ring = NULL;
		err = errno;
		if (err != EPERM && err != ENOMEM)
			break;
	}
	if (!r->ring) {
		pk_perf_ring_close(r);
		return -err;
	}
	r->data_len = r->ring_len - page;
	return 0;
}

void pk_perf_ring_close(struct pk_perf_ring *r)
{
	if (r->ring)
		munmap(r->ring, r->ring_len);
	r->ring = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static void regs_from_sample(const uint64_t *v, struct user_regs_struct *r)
{
	memset(r, 0, sizeof(*r));
	r->rax = v[R_AX];
	r->rbx = v[R_BX];
	r->rcx = v[R_CX];
	r->rdx = v[R_DX];
	r->rsi = v[R_SI];
	r->rdi = v[R_DI];
	r->rbp = v[R_BP];
	r->rsp = v[R_SP];
	r->rip = v[R_IP];
	r->eflags = v[R_FLAGS];
	r->cs = v[R_CS];
	r->ss = v[R_SS];
	r->r8 = v[R_R8];
	r->r9 = v[R_R9];
	r->r10 = v[R_R10];
	r->r11 = v[R_R11];
	r->r12 = v[R_R12];
	r->r13 = v[R_R13];
	r->r14 = v[R_R14];
	r->r15 = v[R_R15];
}

/* Decode one PERF_RECORD_SAMPLE body (len bytes after the header) laid
 * out by pk_perf_sample_attr.  Returns 0, or -1 when it is truncated. */
static int parse_sample(const unsigned char *p, size_t len, struct pk_perf_sample *out)
{
	const unsigned char *end = p + len;
	uint64_t abi, size, dyn = 0, regv[R_MAX] = { 0 };
	uint32_t pid_tid[2];
	int bit, idx = 0;

	if (len < 4 * 8)
		return -1;
	memset(out, 0, sizeof(*out));
	memcpy(&out->ip, p, 8);
	memcpy(pid_tid, p + 8, 8);
	memcpy(&out->time_ns, p + 16, 8);
	memcpy(&abi, p + 24, 8);
	out->tid = (pid_t)pid_tid[1];
	p += 32;
	if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
		for (bit = 0; bit < R_MAX; bit++) {
			if (!(REGS_MASK & (1ull << bit)))
				continue;
			if (p + 8 > end)
				return -1;
			memcpy(&regv[bit], p, 8);
			p += 8;
			idx++;
		}
	}
	if (p + 8 > end)
		return -1;
	memcpy(&size, p, 8);
	p += 8;
	if (size) {
		if (p + size + 8 > end)
			return -1;
		memcpy(&dyn, p + size, 8);
		out->stack = p;
		out->stack_len = (size_t)(dyn > size ? size : dyn);
	}
	if (abi == PERF_SAMPLE_REGS_ABI_64 && idx) {
		regs_from_sample(regv, &out->regs);
		out->have_regs = 1;
	}
	return 0;
}

int pk_perf_ring_drain(struct pk_perf_ring *r, struct pk_perf_scratch *scratch,
		       int (*fn)(void *ctx, const struct pk_perf_sample *smp), void *ctx, uint64_t *lost)
{
	struct perf_event_mmap_page *meta = r->ring;
	const unsigned char *data;
	uint64_t head, tail;
	int rc = 0;

	if (!meta)
		return 0;
	data = (const unsigned char *)r->ring + meta->data_offset;
	head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	tail = meta->data_tail;
	while (tail < head && rc >= 0) {
		struct perf_event_header h;
		size_t off = (size_t)(tail & (r->data_len - 1)), first;
		const unsigned char *rec;

		/* Copy out a record that wraps around the end. */
		first = r->data_len - off;
		if (first >= sizeof(h)) {
			memcpy(&h, data + off, sizeof(h));
		} else {
			memcpy(&h, data + off, first);
			memcpy((unsigned char *)&h + first, data, sizeof(h) - first);
		}
		if (h.size < sizeof(h) || tail + h.size > head)
			break;
		if (first >= h.size) {
			rec = data + off;
		} else {
			pk_xgrow((void **)&scratch->buf, &scratch->cap, h.size, 1);
			memcpy(scratch->buf, data + off, first);
			memcpy(scratch->buf + first, data, h.size - first);
			rec = scratch->buf;
		}
		if (h.type == PERF_RECORD_SAMPLE) {
			struct pk_perf_sample smp;

			if (parse_sample(rec + sizeof(h), h.size - sizeof(h), &smp) == 0)
				rc = fn(ctx, &smp);
		} else if (h.type == PERF_RECORD_LOST && h.size >= sizeof(h) + 16) {
			uint64_t n;

			memcpy(&n, rec + sizeof(h) + 8, 8);
			*lost += n;
		}
		tail += h.size;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
	return rc < 0 ? rc : 0;
}
