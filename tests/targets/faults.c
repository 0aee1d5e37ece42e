/*
 * faults.c - a tracee with a known number of page faults: touch_pages()
 * maps N fresh anonymous pages (argv[1], default 4096) and writes one byte
 * to each, so each page faults exactly once; it then prints
 * "pages=N page_size=P" on stdout as ground truth.  Transparent huge pages
 * are turned off for the mapping (MADV_NOHUGEPAGE), or one fault could map
 * 512 pages.  Optional argv[2]: repeat count of the whole walk (each time
 * on a new mapping), to make the run longer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((noinline)) static long touch_pages(long n, long page)
{
	volatile char *p = mmap(NULL, (size_t)(n * page), PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long i;

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise((void *)p, (size_t)(n * page), MADV_NOHUGEPAGE);
	for (i = 0; i < n; i++)
		p[i * page] = 1;
	munmap((void *)p, (size_t)(n * page));
	return n;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 4096, reps = argc > 2 ? atol(argv[2]) : 1;
	long page = sysconf(_SC_PAGESIZE), total = 0, r;

	for (r = 0; r < reps; r++)
		total += touch_pages(n, page);
	printf("pages=%ld page_size=%ld\n", total, page);
	return 0;
}
