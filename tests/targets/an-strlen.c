/*
 * an-strlen.c - string scanning: upcase_text() calls strlen() in its
 * loop condition and writes to the string in the body, so the compiler
 * cannot hoist the call: O(n^2) scanning of a 4 KiB string.  "perfkit
 * analyze" must report string scanning in upcase_text.   an-strlen [SECONDS]
 */
#include <stdio.h>
#include <string.h>

#include "an-common.h"

static char text[4096];

NOIPA static void upcase_text(char *s)
{
	for (size_t i = 0; i < strlen(s); i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 'a' + 'A');
		else if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

int main(int argc, char **argv)
{
	double end = an_cpu_seconds() + an_seconds(argc, argv);
	long rounds = 0;

	memset(text, 'a', sizeof(text) - 1);
	while (an_cpu_seconds() < end) {
		upcase_text(text);
		rounds++;
	}
	printf("an-strlen done %d %c\n", rounds > 0, text[0]);
	return 0;
}
