/*
 * test-lib.c - CUnit suite for lib/: durations, frequencies, the latency
 * histogram against exact percentiles, the hash map, JSON and XML
 * escaping of hostile strings.
 */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "json.h"
#include "strbuf.h"
#include "u64map.h"
#include "util.h"

static void test_durations(void)
{
	double s;

	CU_ASSERT_EQUAL(pk_parse_duration("0.5", &s), 0);
	CU_ASSERT_DOUBLE_EQUAL(s, 0.5, 1e-12);
	CU_ASSERT_EQUAL(pk_parse_duration("10s", &s), 0);
	CU_ASSERT_DOUBLE_EQUAL(s, 10, 1e-12);
	CU_ASSERT_EQUAL(pk_parse_duration("250ms", &s), 0);
	CU_ASSERT_DOUBLE_EQUAL(s, 0.25, 1e-12);
	CU_ASSERT_EQUAL(pk_parse_duration("2m", &s), 0);
	CU_ASSERT_DOUBLE_EQUAL(s, 120, 1e-12);
	CU_ASSERT_EQUAL(pk_parse_duration("1.5h", &s), 0);
	CU_ASSERT_DOUBLE_EQUAL(s, 5400, 1e-9);
	CU_ASSERT_EQUAL(pk_parse_duration("", &s), -1);
	CU_ASSERT_EQUAL(pk_parse_duration("-1", &s), -1);
	CU_ASSERT_EQUAL(pk_parse_duration("0", &s), -1);
	CU_ASSERT_EQUAL(pk_parse_duration("10x", &s), -1);
	CU_ASSERT_EQUAL(pk_parse_duration("nan", &s), -1);
	CU_ASSERT_EQUAL(pk_parse_duration(" 5", &s), -1);
}

static void test_frequencies(void)
{
	double hz;

	CU_ASSERT_EQUAL(pk_parse_frequency("99", &hz), 0);
	CU_ASSERT_DOUBLE_EQUAL(hz, 99, 1e-12);
	CU_ASSERT_EQUAL(pk_parse_frequency("1k", &hz), 0);
	CU_ASSERT_DOUBLE_EQUAL(hz, 1000, 1e-12);
	CU_ASSERT_EQUAL(pk_parse_frequency("abc", &hz), -1);
	CU_ASSERT_EQUAL(pk_parse_frequency("0", &hz), -1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The histogram's percentiles stay within its stated 1/32 relative error
 * of the exact order statistics, over a skewed distribution. */
static void test_histogram(void)
{
	static struct pk_histogram h;
	enum { N = 100000 };
	uint64_t *v = malloc(N * sizeof(*v));
	double pcts[] = { 1, 10, 50, 90, 99, 99.9 };
	unsigned seed = 12345;
	size_t i;

	pk_histogram_init(&h);
	for (i = 0; i < N; i++) {
		double u;

		seed = seed * 1103515245u + 12345u;
		u = (double)((seed >> 8) & 0xffffff) / (double)0x1000000;
		v[i] = (uint64_t)(20000.0 * exp(3.0 * u)); /* 20 us .. 400 us, skewed */
		pk_histogram_add(&h, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		double exact = (double)v[(size_t)(pcts[i] / 100.0 * N)];
		double got = (double)pk_histogram_percentile(&h, pcts[i]);

		CU_ASSERT(fabs(got - exact) / exact < 1.0 / 32);
	}
	CU_ASSERT_EQUAL(h.count, N);
	CU_ASSERT_EQUAL(pk_histogram_percentile(&h, 0), v[0]);
	CU_ASSERT_EQUAL(pk_histogram_percentile(&h, 100), v[N - 1]);
	free(v);

	pk_histogram_init(&h);
	CU_ASSERT_EQUAL(pk_histogram_percentile(&h, 50), 0);
	pk_histogram_add(&h, 7);
	CU_ASSERT_EQUAL(pk_histogram_percentile(&h, 50), 7);
}

static void test_u64map(void)
{
	struct pk_u64map m;
	uint64_t k;

	pk_u64map_init(&m);
	CU_ASSERT_EQUAL(pk_u64map_get(&m, 42), 0);
	for (k = 1; k <= 50000; k++)
		pk_u64map_put(&m, k * 0x1000 + 0x7f0000000000ull, (int64_t)k);
	CU_ASSERT_EQUAL(m.len, 50000);
	for (k = 1; k <= 50000; k++)
		if (pk_u64map_get(&m, k * 0x1000 + 0x7f0000000000ull) != (int64_t)k)
			break;
	CU_ASSERT_EQUAL(k, 50001);
	pk_u64map_put(&m, 0x7f0000001000ull, 99);
	CU_ASSERT_EQUAL(pk_u64map_get(&m, 0x7f0000001000ull), 99);
	CU_ASSERT_EQUAL(m.len, 50000);
	CU_ASSERT_EQUAL(pk_u64map_get(&m, 3), 0);
	/* every other key removed: the rest are still found, the removed
	 * are not, and the slots are reused (len, cap unchanged by reuse) */
	for (k = 2; k <= 50000; k += 2)
		pk_u64map_del(&m, k * 0x1000 + 0x7f0000000000ull);
	pk_u64map_del(&m, 12345); /* absent */
	CU_ASSERT_EQUAL(m.len, 25000);
	for (k = 1; k <= 50000; k++)
		if (pk_u64map_get(&m, k * 0x1000 + 0x7f0000000000ull) != (k % 2 ? (k == 1 ? 99 : (int64_t)k) : 0))
			break;
	CU_ASSERT_EQUAL(k, 50001);
	{
		size_t cap = m.cap;

		for (int round = 0; round < 20; round++)
			for (k = 1; k <= 25000; k++) {
				uint64_t key = (uint64_t)round << 40 | k << 4;

				pk_u64map_put(&m, key, 1);
				pk_u64map_del(&m, key);
			}
		CU_ASSERT_EQUAL(m.len, 25000);
		CU_ASSERT_EQUAL(m.cap, cap);
	}
	pk_u64map_clear(&m);
	CU_ASSERT_EQUAL(pk_u64map_get(&m, 0x7f0000001000ull), 0);
	pk_u64map_release(&m);
}

static char *json_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	pk_json_write_string(f, s);
	fclose(f);
	return buf;
}

static void test_json_escaping(void)
{
	char *s;

	s = json_of("a\"b\\c\n\x01");
	CU_ASSERT_STRING_EQUAL(s, "\"a\\\"b\\\\c\\n\\u0001\"");
	free(s);
	s = json_of("caf\xc3\xa9");            /* valid UTF-8 kept */
	CU_ASSERT_STRING_EQUAL(s, "\"caf\xc3\xa9\"");
	free(s);
	s = json_of("bad\xff\xc3(");            /* invalid bytes replaced */
	CU_ASSERT_STRING_EQUAL(s, "\"bad\\ufffd\\ufffd(\"");
	free(s);
}

static void test_json_structure(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct pk_json j;

	pk_json_init(&j, f, 0);
	pk_json_begin_object(&j);
	pk_json_key(&j, "a");
	pk_json_int(&j, -3);
	pk_json_key(&j, "b");
	pk_json_begin_array(&j);
	pk_json_double(&j, 0.5);
	pk_json_null(&j);
	pk_json_bool(&j, 1);
	pk_json_double(&j, NAN);
	pk_json_end_array(&j);
	pk_json_key(&j, "c");
	pk_json_begin_object(&j);
	pk_json_end_object(&j);
	pk_json_end_object(&j);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "{\"a\":-3,\"b\":[0.5,null,true,null],\"c\":{}}");
	free(buf);
}

static void test_xml_escaping(void)
{
	struct pk_strbuf sb = PK_STRBUF_INIT;

	pk_strbuf_add_xml(&sb, "a<b>&\"c\" 'd';\xe2\x82\xac\xff\x02");
	CU_ASSERT_STRING_EQUAL(pk_strbuf_str(&sb),
			       "a&lt;b&gt;&amp;&quot;c&quot; &#39;d&#39;;\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd");
	pk_strbuf_reset(&sb);
	pk_strbuf_addf(&sb, "%0*d", 300, 7); /* longer than the first chunk */
	CU_ASSERT_EQUAL(sb.len, 300);
	CU_ASSERT_EQUAL(sb.buf[299], '7');
	pk_strbuf_release(&sb);
}

int main(void)
{
	CU_pSuite s;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("lib", NULL, NULL);
	CU_add_test(s, "durations", test_durations);
	CU_add_test(s, "frequencies", test_frequencies);
	CU_add_test(s, "histogram percentiles", test_histogram);
	CU_add_test(s, "u64 hash map", test_u64map);
	CU_add_test(s, "json string escaping", test_json_escaping);
	CU_add_test(s, "json structure", test_json_structure);
	CU_add_test(s, "xml escaping", test_xml_escaping);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}
