/*
 * jprobe-shapes.c - tracee for test-jprobe's refusals: functions whose
 * first bytes a 5-byte jump must not displace, next to one it may.
 *   shape_tiny   `ret`: shorter than 5 bytes;
 *   shape_loop   a loop that branches back to its third byte;
 *   shape_plain  patchable; returns 3 * i + 1.
 * Writes "ready", waits for a byte on stdin, calls shape_plain 1000 times
 * and prints "total SUM LOOP" (1499500 10).
 */
#include <stdio.h>
#include <unistd.h>

__asm__(".text\n"
	".globl shape_tiny\n.type shape_tiny,@function\n"
	"shape_tiny:\n\tret\n"
	".size shape_tiny, .-shape_tiny\n"
	".globl shape_loop\n.type shape_loop,@function\n"
	"shape_loop:\n\txor %eax, %eax\n"
	"1:\tadd $1, %eax\n\tcmp $10, %eax\n\tjb 1b\n\tret\n"
	".size shape_loop, .-shape_loop\n"
	".globl shape_plain\n.type shape_plain,@function\n"
	"shape_plain:\n\tpush %rbx\n\tmov %rdi, %rbx\n"
	"\tlea 1(%rbx,%rbx,2), %rax\n\tpop %rbx\n\tret\n"
	".size shape_plain, .-shape_plain\n");

void shape_tiny(void);
long shape_loop(void);
long shape_plain(long i);

int main(void)
{
	long total = 0, loop;
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (write(1, "ready\n", 6) != 6 || read(0, &c, 1) != 1)
		return 3;
	shape_tiny();
	loop = shape_loop();
	for (long i = 0; i < 1000; i++)
		total += shape_plain(i);
	printf("total %ld %ld\n", total, loop);
	return 0;
}
