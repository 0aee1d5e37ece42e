/*
 * demo.c - the bundled demo program that the README profiles first.
 *
 *   demo [ROUNDS]
 *
 * A small, realistic pipeline over a noisy signal, repeated ROUNDS times
 * (default 30, about 2 seconds here):
 *
 *   make_signal    synthesise the input              (light)
 *   smooth_signal  a 31-tap moving-average filter    (heaviest, ~half)
 *   sort_samples   qsort with a comparison callback  (medium: shows libc
 *                  frames calling back into the program)
 *   summarize      mean, variance and a histogram    (light)
 *
 * so that `perfkit report` has a clear, explainable ranking.  It prints
 * the statistics of the last round.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NOIPA __attribute__((noipa))
#define N_SAMPLES 400000
#define TAPS 63
#define BINS 16

struct summary {
	double mean, variance, min, max;
	long histogram[BINS];
};

/* A sine wave plus deterministic pseudo-random noise. */
NOIPA static void make_signal(double *out, long n, uint64_t seed)
{
	uint64_t x = seed;

	for (long i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		out[i] = sin((double)i * 0.001) + (double)(x >> 40) / (double)(1 << 24) - 0.5;
	}
}

/* Moving average over TAPS neighbours, the straightforward way. */
NOIPA static void smooth_signal(const double *in, double *out, long n)
{
	for (long i = 0; i < n; i++) {
		double acc = 0;
		int used = 0;

		for (int k = -TAPS / 2; k <= TAPS / 2; k++) {
			long j = i + k;

			if (j >= 0 && j < n) {
				acc += in[j];
				used++;
			}
		}
		out[i] = acc / used;
	}
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

NOIPA static void sort_samples(double *v, long n)
{
	qsort(v, (size_t)n, sizeof *v, compare_doubles);
}

NOIPA static void summarize(const double *sorted, long n, struct summary *s)
{
	double sum = 0, sq = 0, width;

	s->min = sorted[0];
	s->max = sorted[n - 1];
	width = (s->max - s->min) / BINS;
	for (int b = 0; b < BINS; b++)
		s->histogram[b] = 0;
	for (long i = 0; i < n; i++) {
		int b = width > 0 ? (int)((sorted[i] - s->min) / width) : 0;

		sum += sorted[i];
		sq += sorted[i] * sorted[i];
		s->histogram[b < BINS ? b : BINS - 1]++;
	}
	s->mean = sum / n;
	s->variance = sq / n - s->mean * s->mean;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 30;
	double *raw = malloc(N_SAMPLES * sizeof *raw);
	double *smooth = malloc(N_SAMPLES * sizeof *smooth);
	struct summary s = { 0 };

	if (!raw || !smooth || rounds < 1) {
		fprintf(stderr, "usage: demo [ROUNDS]\n");
		return 2;
	}
	for (long r = 0; r < rounds; r++) {
		make_signal(raw, N_SAMPLES, (uint64_t)r + 1);
		smooth_signal(raw, smooth, N_SAMPLES);
		sort_samples(smooth, N_SAMPLES);
		summarize(smooth, N_SAMPLES, &s);
	}
	printf("demo: %ld rounds of %d samples: mean %.4f variance %.4f range [%.3f, %.3f]\n",
	       rounds, N_SAMPLES, s.mean, s.variance, s.min, s.max);
	printf("histogram:");
	for (int b = 0; b < BINS; b++)
		printf(" %ld", s.histogram[b]);
	printf("\n");
	free(raw);
	free(smooth);
	return 0;
}
