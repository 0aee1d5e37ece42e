// fprobe-cxx.cc - tracee for function probes and C++ exceptions:
// thrower() is left by an exception 300 times (caught in main), add()
// returns normally 1,000 times.  Prints its own truth.
#include <cstdio>
#include <stdexcept>

int thrower(int i);
int thrower(int i)
{
	if (i >= 0)
		throw std::runtime_error("thrown");
	return i;
}

volatile int sink;

int add(int a, int b);
int add(int a, int b)
{
	return a + b;
}

int main()
{
	int caught = 0;

	for (int i = 0; i < 300; i++) {
		try {
			sink = thrower(i);
		} catch (const std::runtime_error &) {
			caught++;
		}
	}
	for (int i = 0; i < 1000; i++)
		sink = add(i, sink);
	std::printf("caught=%d add=1000\n", caught);
	return 0;
}
