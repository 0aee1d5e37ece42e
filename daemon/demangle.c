/*
 * demangle.c - C++ names through libstdc++'s __cxa_demangle.
 *
 * The demangler is declared here rather than through <cxxabi.h>, which is a
 * C++ header; its ABI is fixed by the Itanium C++ ABI that GCC and Clang
 * both follow on Linux.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/demangle.h"
#include "util.h"

extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *pk_demangle(const char *name)
{
	const char *at;
	char *base, *plain, *out;
	int status = 0;

	/* Itanium mangled names start with _Z (the rare __Z comes from
	 * macOS-style toolchains and is not seen on Linux). */
	if (name == NULL || strncmp(name, "_Z", 2) != 0)
		return NULL;

	at = strchr(name, '@');
	if (at == NULL)
		return __cxa_demangle(name, NULL, NULL, &status);

	/* "name@VERSION": demangle the name, keep the version as it is. */
	base = pk_xmalloc((size_t)(at - name) + 1);
	memcpy(base, name, (size_t)(at - name));
	base[at - name] = '\0';
	plain = __cxa_demangle(base, NULL, NULL, &status);
	free(base);
	if (plain == NULL)
		return NULL;
	out = pk_xasprintf("%s%s", plain, at);
	free(plain);
	return out;
}
