/*
 * unw-target.c - a tracee with stacks whose shape is known, for
 * tests/unit/test-unwind.
 *
 *   unw-target recurse DEPTH  main > run_recurse > recurse x (DEPTH+1) > spin_here
 *   unw-target qsort          main > run_qsort > qsort (libc) ... > cmp_spin
 *   unw-target signal         main > run_signal > busy_until_signal,
 *                             then on SIGUSR1: on_signal on top of a signal frame
 *   unw-target thread         a second thread: thread_start > thread_inner
 *   unw-target vdso           main > run_vdso > clock_gettime (libc) > the vDSO
 *   unw-target fp             main > run_fp > fp_only > spin_here, where fp_only
 *                             keeps a frame pointer but its CFI is wrong (the
 *                             CFA in r15, which is 0): libunwind cannot step it
 *
 * When the stack is in place the program writes to fd 3 (one byte, or the
 * spinning thread's tid for "thread"; "signal" writes 'r' when busy and
 * 's' from the handler) and spins until killed.  Built at -O2 without
 * frame pointers; noipa keeps every function a real, separate frame.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define KEEP __attribute__((noinline, noipa))

volatile unsigned long spin_counter;

static void notify(const void *buf, size_t len)
{
	if (write(3, buf, len) != (ssize_t)len)
		_exit(2);
}

static KEEP void spin_here(void)
{
	notify("r", 1);
	for (;;)
		spin_counter++;
}

static KEEP int recurse(int depth)
{
	/* A real frame of some size: 200 of them overflow a 16 KiB copy. */
	volatile char pad[128];

	pad[depth & 127] = 1;
	if (depth == 0)
		spin_here();
	else
		recurse(depth - 1);
	return pad[0];
}

static KEEP int run_recurse(int depth)
{
	return recurse(depth) + 1;
}

static KEEP int cmp_spin(const void *a, const void *b)
{
	static int notified;

	if (!notified) {
		notified = 1;
		notify("r", 1);
		for (;;)
			spin_counter++;
	}
	return *(const int *)a - *(const int *)b;
}

static KEEP int run_qsort(void)
{
	int v[64];

	for (int i = 0; i < 64; i++)
		v[i] = 64 - i;
	qsort(v, 64, sizeof(v[0]), cmp_spin);
	return v[0];
}

static KEEP void on_signal(int sig)
{
	(void)sig;
	notify("s", 1);
	for (;;)
		spin_counter++;
}

static KEEP void busy_until_signal(void)
{
	notify("r", 1);
	for (;;)
		spin_counter++;
}

static KEEP int run_signal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return 1;
	busy_until_signal();
	return 0;
}

static KEEP void thread_inner(void)
{
	int tid = (int)syscall(SYS_gettid);

	notify(&tid, sizeof(tid));
	for (;;)
		spin_counter++;
}

static KEEP void *thread_start(void *arg)
{
	thread_inner();
	return arg;
}

static KEEP int run_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_start, NULL) != 0)
		return 1;
	pthread_join(t, NULL);
	return 0;
}

/*
 * Hand-written so that its unwind information is deliberately broken while
 * its frame-pointer record is right: the unwinder must fall back to rbp.
 */
void fp_only(void);
__asm__(".text\n"
	".type fp_only, @function\n"
	"fp_only:\n"
	"	.cfi_startproc\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	push %r15\n"
	"	sub $8, %rsp\n"
	"	xor %r15d, %r15d\n"
	"	.cfi_def_cfa %r15, 0\n"
	"	call spin_here\n"
	"	add $8, %rsp\n"
	"	pop %r15\n"
	"	pop %rbp\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size fp_only, .-fp_only\n");

static KEEP int run_fp(void)
{
	fp_only();
	return (int)spin_counter;
}

static KEEP int run_vdso(void)
{
	struct timespec ts;

	notify("r", 1);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		spin_counter += (unsigned long)ts.tv_nsec;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	if (argc >= 3 && strcmp(argv[1], "recurse") == 0)
		r = run_recurse(atoi(argv[2]));
	else if (argc >= 2 && strcmp(argv[1], "qsort") == 0)
		r = run_qsort();
	else if (argc >= 2 && strcmp(argv[1], "signal") == 0)
		r = run_signal();
	else if (argc >= 2 && strcmp(argv[1], "thread") == 0)
		r = run_thread();
	else if (argc >= 2 && strcmp(argv[1], "fp") == 0)
		r = run_fp();
	else if (argc >= 2 && strcmp(argv[1], "vdso") == 0)
		r = run_vdso();
	/* A store after the calls: main stays a frame (no tail calls). */
	spin_counter = (unsigned long)r;
	return r;
}
