/*
 * analyze-rules.c - the registry of "perfkit analyze" rules.  Each rule
 * lives in its own file in src/rules/; adding one is a new file there,
 * one extern line and one row here, and nothing else.
 */
#include "src/analyze.h"

extern const struct pk_rule pk_rule_slow_function;
extern const struct pk_rule pk_rule_hot_callee;
extern const struct pk_rule pk_rule_excessive_allocation;
extern const struct pk_rule pk_rule_large_allocation;
extern const struct pk_rule pk_rule_leak_suspect;
extern const struct pk_rule pk_rule_allocator_overhead;
extern const struct pk_rule pk_rule_deep_stack;
extern const struct pk_rule pk_rule_memory_copying;
extern const struct pk_rule pk_rule_string_scanning;
extern const struct pk_rule pk_rule_lock_contention;
extern const struct pk_rule pk_rule_syscall_heavy;
extern const struct pk_rule pk_rule_cache_unfriendly;
extern const struct pk_rule pk_rule_profile_quality;

const struct pk_rule *const pk_rules[] = {
	&pk_rule_slow_function,
	&pk_rule_hot_callee,
	&pk_rule_excessive_allocation,
	&pk_rule_large_allocation,
	&pk_rule_leak_suspect,
	&pk_rule_allocator_overhead,
	&pk_rule_deep_stack,
	&pk_rule_memory_copying,
	&pk_rule_string_scanning,
	&pk_rule_lock_contention,
	&pk_rule_syscall_heavy,
	&pk_rule_cache_unfriendly,
	&pk_rule_profile_quality,
};

const size_t pk_n_rules = sizeof(pk_rules) / sizeof(pk_rules[0]);
