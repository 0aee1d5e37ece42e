/*
 * an-syscall.c - syscall-heavy I/O: write_records() writes 8-byte
 * records to /dev/null with one write(2) each, unbuffered.  "perfkit
 * analyze" must report it as syscall-heavy.   an-syscall [SECONDS]
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "an-common.h"

NOIPA static long write_records(int fd, long n)
{
	char rec[8] = "record\n";
	long done = 0;

	for (long i = 0; i < n; i++)
		done += write(fd, rec, sizeof(rec)) == (ssize_t)sizeof(rec);
	return done;
}

int main(int argc, char **argv)
{
	double end = an_cpu_seconds() + an_seconds(argc, argv);
	int fd = open("/dev/null", O_WRONLY);
	long done = 0;

	if (fd < 0)
		return 1;
	while (an_cpu_seconds() < end)
		done += write_records(fd, 10000);
	close(fd);
	printf("an-syscall done %d\n", done > 0);
	return 0;
}
