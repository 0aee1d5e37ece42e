/*
 * matrix.c - a tracee with known cache behaviour: a 2048 x 2048 matrix of
 * 8-byte elements (32 MiB) summed by rows (sum_rows: consecutive
 * addresses, one 64-byte line serves 8 elements, so about 1/8 of the loads
 * miss L1) and by columns (sum_cols: a 16 KiB stride, every load touches a
 * new line, and 2048 rows of a column map to few L1 sets, so nearly every
 * load misses).  argv[1] changes N (default 2048); argv[2] is "rows",
 * "cols" or "both" (default) to run one walk or both.  fill() writes the
 * matrix first.  Prints "n=N rows=SUM cols=SUM" (-1 for a walk not run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double *m;
static long n = 2048;

__attribute__((noinline)) static void fill(void)
{
	long i;

	for (i = 0; i < n * n; i++)
		m[i] = (double)(i & 1023);
}

__attribute__((noinline)) static double sum_rows(void)
{
	double s = 0;
	long i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			s += m[i * n + j];
	return s;
}

__attribute__((noinline)) static double sum_cols(void)
{
	double s = 0;
	long i, j;

	for (j = 0; j < n; j++)
		for (i = 0; i < n; i++)
			s += m[i * n + j];
	return s;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "both";
	double r = -1, c = -1;

	if (argc > 1)
		n = atol(argv[1]);
	if (n <= 0 || (strcmp(mode, "rows") && strcmp(mode, "cols") && strcmp(mode, "both"))) {
		fprintf(stderr, "usage: matrix [N [rows|cols|both]]\n");
		return 2;
	}
	m = malloc(sizeof(*m) * (size_t)(n * n));
	if (!m)
		return 1;
	fill();
	if (strcmp(mode, "cols"))
		r = sum_rows();
	if (strcmp(mode, "rows"))
		c = sum_cols();
	printf("n=%ld rows=%.0f cols=%.0f\n", n, r, c);
	free(m);
	return 0;
}
