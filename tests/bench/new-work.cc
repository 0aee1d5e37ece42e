/*
 * new-work.cc - tests/bench/jprobe-work.c in C++: each step deletes one of
 * 4096 live blocks with delete[] and makes a new one of 16..271 bytes with
 * new[] (operator new calls malloc, delete[] free), the allocation density
 * of C++ code that builds and drops small objects.
 *
 *   new-work [N] [PASSES]
 */
#include "jprobe-work.c"
