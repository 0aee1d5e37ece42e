/*
 * matrix.c - a tracee with known cache behaviour: a 2048 x 2048 matrix of
 * 8-byte elements (32 MiB) summed by rows (sum_rows: consecutive
 * addresses, one 64-byte line serves 8 elements, so about 1/8 of the loads
 * miss L1) and by columns (sum_cols: a 16 KiB stride, every load touches a
 * new line, and 2048 rows of a column map to few L1 sets, so nearly every
 * load misses).  argv[1] changes N (default 2048).  fill() writes the
 * matrix first.  Prints "n=N rows=SUM cols=SUM".
 */
#include <stdio.h>
#include <stdlib.h>

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
	double r, c;

	if (argc > 1)
		n = atol(argv[1]);
	m = malloc(sizeof(*m) * (size_t)(n * n));
	if (!m)
		return 1;
	fill();
	r = sum_rows();
	c = sum_cols();
	printf("n=%ld rows=%.0f cols=%.0f\n", n, r, c);
	free(m);
	return 0;
}
