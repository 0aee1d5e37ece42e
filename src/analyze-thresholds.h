/*
 * analyze-thresholds.h - every threshold of "perfkit analyze", in one
 * place.  man/perfkit.1 (ANALYZE) lists the same numbers: change both
 * together.
 *
 * A rule measures an impact (a share of CPU samples, of wall samples, of
 * allocation calls, of bytes) and maps it to a severity with four levels:
 * the impact must reach LOW to be reported at all, then MEDIUM, HIGH,
 * CRITICAL.  A level above 1 is never reached by a share (the rule caps
 * its severity below it).  Shares are fractions (0.10 = 10%).
 */
#ifndef PK_ANALYZE_THRESHOLDS_H
#define PK_ANALYZE_THRESHOLDS_H

/*                                    low    medium  high   critical */
/* slow-function: one function's self share of CPU (or wall) samples. */
#define PK_AN_LEVELS_SLOW_FUNCTION   { 0.10, 0.20, 0.35, 0.60 }
/* hot-callee: self share of a callee under its one hottest caller. */
#define PK_AN_LEVELS_HOT_CALLEE      { 0.10, 0.20, 0.35, 0.60 }
/* excessive-allocation: allocator time under one call site (CPU
 * evidence: realloc), or a site's share of allocation calls (allocation
 * data). */
#define PK_AN_LEVELS_EXCESSIVE_ALLOC { 0.05, 0.10, 0.25, 0.50 }
/* large-allocation: one site's share of the peak of live bytes. */
#define PK_AN_LEVELS_LARGE_ALLOC     { 0.25, 0.50, 0.75, 0.95 }
/* leak-suspect: bytes still live at the end at one site, as a share of
 * the peak of live bytes. */
#define PK_AN_LEVELS_LEAK            { 0.01, 0.05, 0.20, 0.50 }
/* allocator-overhead: inclusive share of malloc/free/new/delete... */
#define PK_AN_LEVELS_ALLOCATOR       { 0.05, 0.10, 0.25, 0.50 }
/* deep-stack: share of samples taken in a deep stack (capped at high:
 * depth is a risk of stack overflow more than a cost). */
#define PK_AN_LEVELS_DEEP_STACK      { 0.01, 0.10, 0.50, 2.00 }
/* memory-copying: self share of memcpy/memmove/memset and variants. */
#define PK_AN_LEVELS_MEMORY_COPY     { 0.05, 0.10, 0.25, 0.50 }
/* string-scanning: self share of strlen/strcmp/... under one caller. */
#define PK_AN_LEVELS_STRING_SCAN     { 0.05, 0.10, 0.25, 0.50 }
/* lock-contention: share of samples inside lock functions (wall mode:
 * mostly waiting off-CPU). */
#define PK_AN_LEVELS_LOCK            { 0.05, 0.10, 0.25, 0.50 }
/* syscall-heavy: inclusive share of system call wrappers (read, write...). */
#define PK_AN_LEVELS_SYSCALL         { 0.10, 0.20, 0.35, 0.60 }
/* cache-unfriendly: D1 (else last-level) miss ratio of a hot function.
 * A sequential walk of 8-byte elements misses once per 64-byte line
 * (12.5%) and is as cache-friendly as code gets: low starts above it. */
#define PK_AN_LEVELS_CACHE           { 0.15, 0.25, 0.40, 0.60 }
/* profile-quality: share of samples without a complete stack, and share
 * of samples whose leaf has no symbol. */
#define PK_AN_LEVELS_INCOMPLETE      { 0.05, 0.10, 0.25, 0.50 }

/* hot-callee: the caller must itself hold this share of self samples
 * (it loops around the call), unless probes count the calls. */
#define PK_AN_HOT_CALLER_MIN_SELF    0.01
/* hot-callee with probes: at least this many calls, each this short. */
#define PK_AN_HOT_CALLEE_MIN_CALLS   10000
#define PK_AN_HOT_CALLEE_MAX_AVG_NS  10000.0

/* profile-quality: fewer counted samples than these is low / medium /
 * high / critical (a 10% share measured from 500 samples has a relative
 * standard error of 13%; from 50, 42%). */
#define PK_AN_SAMPLES_LOW            500
#define PK_AN_SAMPLES_MEDIUM         200
#define PK_AN_SAMPLES_HIGH           50
#define PK_AN_SAMPLES_CRITICAL       10

/* Rules that read shares of samples stay silent below this many samples:
 * a share measured from a handful of samples is noise. */
#define PK_AN_MIN_RULE_SAMPLES       20

/* deep-stack: a function repeated this many times in one stack is deep
 * recursion; a stack this many frames deep is a deep call stack. */
#define PK_AN_RECURSION_DEPTH        100
#define PK_AN_STACK_DEPTH            256
/* perfkitd's frame limit (daemon/sampler.h PK_MAX_FRAMES): a stack this
 * deep was probably cut, so depths are reported as "at least". */
#define PK_AN_STACK_LIMIT            1000

/* excessive-allocation with allocation data: a site needs this many
 * allocations, of at most this average size, to count as frequent; a
 * realloc chain growing by at most this many bytes per step is growth
 * by small steps. */
#define PK_AN_ALLOC_MIN_COUNT        10000
#define PK_AN_SMALL_ALLOC_BYTES      256
#define PK_AN_REALLOC_MIN_COUNT      1000
#define PK_AN_REALLOC_SMALL_STEP     64

/* large-allocation: a single allocation at least this large. */
#define PK_AN_LARGE_ALLOC_BYTES      (64ull << 20)

/* leak-suspect: ignore sites with fewer live bytes than this at the end;
 * "rising" means live bytes grew in at least this share of the timeline's
 * steps and ended at least twice as high as at the end of its first
 * quarter. */
#define PK_AN_LEAK_MIN_BYTES         4096
#define PK_AN_RISING_STEPS           0.75

/* cache-unfriendly: only functions with at least this share of the data
 * references (or of CPU samples) are judged. */
#define PK_AN_CACHE_MIN_SHARE        0.05

/* Call paths shown per finding. */
#define PK_AN_MAX_PATHS              3

#endif
