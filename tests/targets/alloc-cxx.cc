/*
 * alloc-cxx.cc - C++ tracee for allocation tracking: operator new/delete
 * (scalar, array, nothrow) called from make_objects(); 3 objects leaked
 * (printed as "leak PTR SIZE"); a new that throws bad_alloc, caught.  Waits for a byte on stdin after writing
 * "ready", like alloc-suite.
 */
#include <cstdio>
#include <cstdlib>
#include <new>
#include <unistd.h>

struct Obj {
	long v[5]; /* 40 bytes */
};

static Obj *objs[100];
static int *arrays[50];
static volatile unsigned long sink;

__attribute__((noinline)) void make_objects()
{
	for (int i = 0; i < 100; i++)
		objs[i] = new Obj();
	for (int i = 0; i < 50; i++)
		arrays[i] = new int[25]; /* 100 bytes */
	Obj *n = new (std::nothrow) Obj();
	sink += (unsigned long)n;
	delete n;
	sink += 1; /* keeps `delete n` a call, not a tail jump out of here */
}

__attribute__((noinline)) void drop_objects()
{
	for (int i = 0; i < 100; i++) {
		if (i == 5 || i == 50 || i == 99)
			std::printf("leak %p 40\n", (void *)objs[i]);
		else
			delete objs[i];
	}
	for (int i = 0; i < 50; i++)
		delete[] arrays[i];
}

/* operator new failing: bad_alloc must unwind through new as usual */
__attribute__((noinline)) void try_huge()
{
	static volatile size_t huge = (size_t)1 << 62;

	try {
		char *p = new char[huge];
		sink += (unsigned long)p;
	} catch (const std::bad_alloc &) {
		std::printf("caught bad_alloc\n");
	}
}

int main()
{
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (write(1, "ready\n", 6) != 6 || read(0, &c, 1) != 1)
		return 3;
	make_objects();
	drop_objects();
	try_huge();
	std::printf("done\n");
	return 0;
}
