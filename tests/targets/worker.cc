/*
 * worker.cc - a C++ tracee whose hot function has a mangled name.
 *
 *   worker [CPU_SECONDS]
 *
 * ns::Worker::run() spins for CPU_SECONDS (default 1) of thread CPU time,
 * calling the template helper ns::mix<unsigned long>().  A profile must
 * show the demangled names "ns::Worker::run()" (self time) rather than
 * _ZN2ns6Worker3runEv.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace ns {

template <typename T> __attribute__((noipa)) T mix(T x, long n)
{
	for (long i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

class Worker {
public:
	explicit Worker(double seconds) : seconds_(seconds), state_(1) {}
	__attribute__((noipa)) void run();
	std::uint64_t state() const { return state_; }

private:
	static double cpu_seconds()
	{
		struct timespec ts;

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
	}
	double seconds_;
	std::uint64_t state_;
};

void Worker::run()
{
	std::uint64_t x = state_;

	do {
		for (long i = 0; i < 60000; i++) {
			x = x * 0xff51afd7ed558ccdULL + 7;
			__asm__ volatile("" : "+r"(x));
		}
		x = mix<unsigned long>(x, 20000);
	} while (cpu_seconds() < seconds_);
	state_ = x;
}

} /* namespace ns */

int main(int argc, char **argv)
{
	ns::Worker w(argc > 1 ? std::atof(argv[1]) : 1.0);

	w.run();
	std::printf("worker done %llu\n", static_cast<unsigned long long>(w.state() & 0xff));
	return 0;
}
