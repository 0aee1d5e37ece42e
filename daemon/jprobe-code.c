/*
 * jprobe-code.c - the code the jump backend writes into the target: a
 * detour per probed function (a fixed template, assembled here into
 * perfkitd's read-only data and copied into the target with its data
 * slots filled in) followed by the relocated copy of the instructions the
 * 5-byte jump displaced, and the branch scan that decides whether those
 * bytes may be displaced at all.
 *
 * The template (see jprobe.h for why it CALLs the original):
 *   entry (rsp = E, 8 mod 16; [E] = the caller's return address):
 *     frame of 88 bytes: rdi rsi rdx rcx r8 r9 rax, entry tsc, result
 *     rax and rdx, and whether an entry record is being written;
 *     PK_JPROBE_RECORD_ENTRY: the record is written now, by the
 *     recording part below (80(%rsp) = 1 sends it back to 25:, which
 *     reloads the arguments and takes the entry trap when
 *     PK_JPROBE_TRAP_SLOW found no room);
 *     PK_JPROBE_TRAP_ENTRY: r11 = the return address (free at a
 *     function's entry: no argument, scratch in the ABI), int3: perfkitd
 *     reads the call from the stopped thread (rsp + 88 = E) and resumes
 *     it after the int3;
 *     rdtsc only for PK_JPROBE_DURATION probes (about 10 ns each here),
 *     then reload rdx and rax; call the copy (rsp 16-aligned there);
 *     PK_JPROBE_ENTRY_ONLY (with RECORD_ENTRY): drop the frame and jump
 *     to the copy instead, so that the function runs with the stack as
 *     its caller left it (an exception may leave it; r10 is clobbered,
 *     the static chain register, unused by C and C++);
 *   after the return (caller-saved registers are ours again, except rax
 *   and rdx, the return registers, saved):
 *     PK_JPROBE_TRAP_ENTRY: nothing more, return as below;
 *     no ring (its pointer zeroed by a final detach): skip recording;
 *     reserve a ring slot: pos = head, full when pos - tail (the
 *     consumer's, in a line of its own) > mask -> lock inc drops, skip
 *     the record (PK_JPROBE_TRAP_SLOW: pause loops until perfkitd frees
 *     room, PK_JRING_SPIN of them at most, then no record and the trap);
 *     else claim pos with lock cmpxchg on head (retry on a race); slot =
 *     pos & mask.  perfkitd never writes a slot: the record's lines stay
 *     with the producers;
 *     fill the record's first line (struct pk_jrec; its time: rdtsc,
 *     or the clock perfkitd publishes for PK_JPROBE_COARSE_TIME), and
 *     the slot's extension (struct pk_jext)
 *     for a probe that records more (PK_JPROBE_OUT_ARG0, _DURATION,
 *     _ARG2); walk the stack through the site table into the chain
 *     after the first line, else copy the stack slice with rep movsb
 *     into the extension, with the callee-saved registers (length
 *     clamped, see jprobe.h; none for PK_JPROBE_NO_STACK); pos is kept
 *     in the red zone meanwhile (nothing is called); then publish seq =
 *     pos + 1 (x86 stores are not reordered with older stores);
 *     PK_JPROBE_TRAP_RETURN: r10 = the record's address (0: none, the
 *     ring was full or gone), rdi rsi rdx = the arguments, rax = the
 *     result, r11 = the return address, int3 (rsp + 88 = E): perfkitd
 *     reads the record where it is, stack slice included, and frees its
 *     slot (pk_jprobes_trap_release);
 *     return the saved rax and rdx.
 * The ring header offsets (PK_JRING_*) and record offsets are literal
 * numbers in the template; jprobe-int.h defines the same numbers and a
 * static assertion below ties the record layout to them.
 */
#include "daemon/jprobe-int.h"

#include <stddef.h>
#include <string.h>

#include "daemon/probe-insn.h"

_Static_assert(offsetof(struct pk_jrec, probe) == 8 && offsetof(struct pk_jrec, kind) == 10 &&
	       offsetof(struct pk_jrec, tid) == 12 && offsetof(struct pk_jrec, t0) == 16 &&
	       offsetof(struct pk_jrec, a0) == 24 && offsetof(struct pk_jrec, ret) == 40 &&
	       offsetof(struct pk_jrec, rsp) == 48 && offsetof(struct pk_jrec, ret_addr) == 56 &&
	       sizeof(struct pk_jrec) == 64 && PK_JREC_CHAIN_AT == 56, "record layout");
_Static_assert(offsetof(struct pk_jext, t1) == 16 && offsetof(struct pk_jext, tcb) == 24 &&
	       offsetof(struct pk_jext, slice_len) == 32 && offsetof(struct pk_jext, rbx) == 40 &&
	       offsetof(struct pk_jext, r15) == 80 && sizeof(struct pk_jext) == PK_JEXT_SLICE,
	       "extension layout");
_Static_assert(PK_JRING_MEMO == 264 && PK_JRING_MEMOMASK == 272 && sizeof(struct pk_jmemo) == PK_JMEMO_SIZE &&
	       PK_JMEMO_SIZE == 1u << 9 && offsetof(struct pk_jmemo, ra) == 8 &&
	       offsetof(struct pk_jmemo, hash) == 16 && offsetof(struct pk_jmemo, probe) == 24 &&
	       offsetof(struct pk_jmemo, kind) == 32 && offsetof(struct pk_jmemo, last) == 40 &&
	       offsetof(struct pk_jmemo, npairs) == 48 && offsetof(struct pk_jmemo, pair) == 64 &&
	       PK_JMEMO_PAIRS == 28,
	       "walk memo layout");
_Static_assert(PK_JRING_EXTOFF == 216 && PK_JRING_EXTSZ == 224 && PK_JRING_SPIN == 232 &&
	       PK_JRING_CLOCK == 256 &&
	       PK_JRING_NCOUNT == 472 && PK_JRING_RANGES + 16 * PK_JRING_MAXRANGES <= PK_JRING_SLOTS,
	       "ring header");

/* The template's stack walk, one frame (rax = its return address, rsi =
 * the stack pointer after it, rdx = the frame pointer, r8 = the end of
 * the stack, r9 = the record, whose rsp field is the entry's, r11 = the
 * ring): rcx = its site table entry (4 probes from the address's hash),
 * on to label hit, or to miss when the table lacks it.  Every frame waits
 * for this hash, so it is the shortest that spreads return addresses: the
 * address xor itself 12 bits down, masked to a byte offset (the mask is
 * the entries' count - 1, times 16), plus the table's address in the
 * target (pk_jsite_index) ... */
#define SITE_LOOKUP(hit, miss)                                                                   \
	"mov %rax, %rcx\n"                                                                      \
	"shr $12, %rcx\n"                                                                       \
	"xor %rax, %rcx\n"                                                                      \
	"and 192(%r11), %rcx\n"                                                                 \
	"add 184(%r11), %rcx\n"                                                                 \
	"cmp %rax, (%rcx)\n"                                                                    \
	"je " hit "\n"                                                                          \
	"add $16, %rcx\n"                                                                       \
	"cmp %rax, (%rcx)\n"                                                                    \
	"je " hit "\n"                                                                          \
	"add $16, %rcx\n"                                                                       \
	"cmp %rax, (%rcx)\n"                                                                    \
	"je " hit "\n"                                                                          \
	"add $16, %rcx\n"                                                                       \
	"cmp %rax, (%rcx)\n"                                                                    \
	"jne " miss "\n"
/* ... and the step by its rule to the caller's frame: the CFA (sp or
 * rbp, plus the offset; above the entry's sp and within the stack, else
 * to bad), rbp reloaded where the rule saved it, rsi = the CFA, rax =
 * the next return address (label: a local one, free in the template) */
#define FRAME_STEP(bad, label)                                                                   \
	"mov %rsi, %rax\n"                                                                      \
	"cmpb $0, 14(%rcx)\n"                                                                   \
	"cmovne %rdx, %rax\n"                                                                   \
	"movslq 8(%rcx), %rsi\n"                                                                \
	"add %rsi, %rax\n"                                                                      \
	"cmp 48(%r9), %rax\n"                                                                   \
	"jbe " bad "\n"                                                                         \
	"cmp %r8, %rax\n"                                                                       \
	"ja " bad "\n"                                                                          \
	"movswq 12(%rcx), %rsi\n"                                                               \
	"test %rsi, %rsi\n"                                                                     \
	"jz " label "f\n"                                                                       \
	"mov (%rax,%rsi), %rdx\n"                                                               \
	label ": mov %rax, %rsi\n"                                                              \
	"mov -8(%rsi), %rax\n"

__asm__(
	".pushsection .rodata\n"
	".balign 16\n"
	"pk_jdetour_begin:\n"
	"sub $88, %rsp\n"
	"pk_jd_framed:\n"
	"mov %rdi, 0(%rsp)\n"
	"mov %rsi, 8(%rsp)\n"
	"mov %rdx, 16(%rsp)\n"
	"mov %rcx, 24(%rsp)\n"
	"mov %r8, 32(%rsp)\n"
	"mov %r9, 40(%rsp)\n"
	"mov %rax, 48(%rsp)\n"
	"movq $0, 56(%rsp)\n"
	"movq $0, 64(%rsp)\n"
	"movq $0, 80(%rsp)\n"
	"testb $128, pk_jd_flags(%rip)\n" /* PK_JPROBE_RECORD_ENTRY: */
	"jz 24f\n"
	"movq $1, 80(%rsp)\n" /* the record now, then back (25:) */
	"jmp 17f\n"
	"24: testb $16, pk_jd_flags(%rip)\n" /* PK_JPROBE_TRAP_ENTRY */
	"jz 16f\n"
	"21: mov 88(%rsp), %r11\n"
	"pk_jd_trap_entry:\n"
	"int3\n"
	"16: testb $4, pk_jd_flags(%rip)\n" /* PK_JPROBE_DURATION */
	"jz 20f\n"
	"rdtsc\n"
	"shl $32, %rdx\n"
	"or %rdx, %rax\n"
	"mov %rax, 56(%rsp)\n"
	"mov 16(%rsp), %rdx\n"
	"mov 48(%rsp), %rax\n"
	"20: testl $256, pk_jd_flags(%rip)\n" /* PK_JPROBE_ENTRY_ONLY: */
	"jnz 26f\n" /* no frame left while the function runs */
	"call *pk_jd_copy(%rip)\n"
	"mov %rax, 64(%rsp)\n"
	"mov %rdx, 72(%rsp)\n"
	"testb $128, pk_jd_flags(%rip)\n" /* PK_JPROBE_RECORD_ENTRY: done */
	"jnz 9f\n"
	"testb $8, pk_jd_flags(%rip)\n" /* PK_JPROBE_TRAP_RETURN: record, int3 */
	"jnz 17f\n"
	"testb $16, pk_jd_flags(%rip)\n" /* PK_JPROBE_TRAP_ENTRY: trapped already */
	"jnz 9f\n"
	/* the recording part starts at the ring pointer's load: a thread
	 * that loaded it still writes, even if it is zeroed meanwhile */
	"17:\n"
	"pk_jd_loaded:\n"
	"mov pk_jd_ring(%rip), %r11\n"
	"test %r11, %r11\n"
	"jz 7f\n"
	/* a call nested in a probed function (its return address in one
	 * of the ranges: malloc reached by realloc's tail jump) is only counted:
	 * r10 = 1, as if recorded, so that no trap follows */
	"mov 448(%r11), %ecx\n"
	"test %ecx, %ecx\n"
	"jz 41f\n"
	"mov 88(%rsp), %rax\n"
	"cmp 456(%r11), %rax\n" /* below every range, or above: no loop */
	"jb 41f\n"
	"cmp 464(%r11), %rax\n"
	"jae 41f\n"
	"lea 512(%r11), %rdx\n"
	"40: cmp (%rdx), %rax\n"
	"jb 42f\n"
	"cmp 8(%rdx), %rax\n"
	"jb 43f\n"
	"42: add $16, %rdx\n"
	"dec %ecx\n"
	"jnz 40b\n"
	"jmp 41f\n"
	/* ... in a range after the first PK_JRING_NCOUNT, an entry-only
	 * function's (operator new: perfkitd gives the call new's stack):
	 * recorded without a stack (exact mode; the lossy one may lose new's
	 * record, and this call then needs its own) */
	"43: mov 448(%r11), %r8d\n"
	"sub %ecx, %r8d\n"
	"cmp 472(%r11), %r8\n"
	"jb 48f\n"
	"testb $64, pk_jd_flags(%rip)\n" /* PK_JPROBE_TRAP_SLOW */
	"jz 41f\n"
	"xor %r10d, %r10d\n"
	"jmp 15f\n"
	"48: lock incq 384(%r11)\n"
	"mov $1, %r10d\n"
	"jmp 8f\n"
	"41:\n"
	/* r10 = the slice's length: the configured one, clamped to the
	 * end of the thread's stack (jprobe.h); PK_JPROBE_TRAP_SLOW: a
	 * stack reaching further takes the trap, without a record */
	"xor %r10d, %r10d\n"
	"testb $32, pk_jd_flags(%rip)\n" /* PK_JPROBE_NO_STACK */
	"jnz 15f\n"
	"lea 88(%rsp), %rsi\n"
	"mov 152(%r11), %r10\n"
	"mov 168(%r11), %rdx\n"
	"cmp 160(%r11), %rsi\n"
	"jb 10f\n"
	"cmp %rdx, %rsi\n"
	"jae 10f\n"
	"sub %rsi, %rdx\n"
	"jmp 12f\n"
	"10: mov %fs:0, %rdx\n"
	"cmp %rsi, %rdx\n"
	"jbe 11f\n"
	"sub %rsi, %rdx\n"
	"cmp $0x4000000, %rdx\n"
	"jb 12f\n"
	"11: mov %rsi, %rdx\n"
	"neg %rdx\n"
	"and $4095, %edx\n"
	"jnz 12f\n"
	"mov $4096, %edx\n"
	"12: mov %rdx, %r9\n" /* the distance to the stack's end: the walk's bound */
	"cmp %rdx, %r10\n"
	"jb 18f\n"
	"mov %rdx, %r10\n"
	"jmp 15f\n"
	"18: testb $64, pk_jd_flags(%rip)\n" /* PK_JPROBE_TRAP_SLOW: deep */
	"jz 15f\n"
	"cmpq $0, 184(%r11)\n" /* no site table: no record, the trap */
	"je 7f\n"
	"mov $-1, %r10\n" /* a chain, or a void record and the trap */
	"15: mov 0(%r11), %rax\n"
	"1: mov %rax, %rcx\n"
	"sub 320(%r11), %rcx\n" /* pos - the consumer's tail */
	"cmp 128(%r11), %rcx\n"
	"ja 44f\n" /* a ring's worth ahead: full, unless ... */
	"lea 1(%rax), %rcx\n"
	"lock cmpxchg %rcx, 0(%r11)\n"
	"jne 1b\n" /* rax = the head another producer moved on */
	"mov %rax, %rdi\n"
	"and 128(%r11), %rdi\n"
	"imul 136(%r11), %rdi\n"
	"lea 4096(%r11,%rdi), %rdi\n"
	"jmp 3f\n"
	/* ... the head moved on after rax was read: then the tail read
	 * since may be past rax (the records in between taken already) */
	"44: mov 0(%r11), %rcx\n"
	"cmp %rcx, %rax\n"
	"je 4f\n"
	"mov %rcx, %rax\n"
	"jmp 1b\n"
	"4: testb $64, pk_jd_flags(%rip)\n" /* PK_JPROBE_TRAP_SLOW: no drop */
	"jnz 45f\n"
	"lock incq 64(%r11)\n"
	"jmp 7f\n"
	/* PK_JPROBE_TRAP_SLOW: perfkitd frees room a batch at a time; wait
	 * for it so long (pause loops, PK_JRING_SPIN, which the final
	 * detach zeroes: a waiting thread leaves at once), then take the
	 * trap */
	"45: mov 232(%r11), %ecx\n"
	"46: test %ecx, %ecx\n"
	"jz 7f\n"
	"cmpl $0, 232(%r11)\n" /* zeroed: perfkitd is leaving */
	"je 7f\n"
	"pause\n"
	"dec %ecx\n"
	"mov %rax, %rdx\n"
	"sub 320(%r11), %rdx\n"
	"cmp 128(%r11), %rdx\n"
	"ja 46b\n"
	"jmp 1b\n"
	/* the record's first line (struct pk_jrec): everything a call with
	 * a walked stack needs; pos at -8(%rsp) (the red zone: nothing is
	 * called from here on), the kind at -22(%rsp) (16 bits, each change
	 * a 16-bit store the next load can take from the store buffer)
	 * until it is written out just before the record is published.  No
	 * read-modify-write of the record's line: perfkitd may read a slot
	 * (its sequence number, a prefetch) while it is being written, and
	 * a load would then wait for the line to come back; plain stores
	 * wait in the store buffer while the walk goes on */
	"3: mov %rax, -8(%rsp)\n"
	"movw $0, -22(%rsp)\n" /* the kind: written out at publishing */
	"mov 144(%r11), %rcx\n"
	"test %rcx, %rcx\n"
	"jz 5f\n"
	"mov %fs:(%rcx), %ecx\n"
	"5: mov %ecx, 12(%rdi)\n"
	"testl $1024, pk_jd_flags(%rip)\n" /* PK_JPROBE_COARSE_TIME: */
	"jz 60f\n"
	"mov 256(%r11), %rax\n" /* perfkitd's clock, unless none yet */
	"test %rax, %rax\n"
	"jnz 61f\n"
	"60: rdtsc\n"
	"shl $32, %rdx\n"
	"or %rdx, %rax\n"
	"61:\n"
	"mov 56(%rsp), %rcx\n"
	"test %rcx, %rcx\n"
	"cmovz %rax, %rcx\n" /* no entry time: the return's */
	"mov %rcx, 16(%rdi)\n"
	"mov 0(%rsp), %rcx\n"
	"mov %rcx, 24(%rdi)\n"
	"mov 8(%rsp), %rcx\n"
	"mov %rcx, 32(%rdi)\n"
	"mov 64(%rsp), %rcx\n"
	"mov %rcx, 40(%rdi)\n"
	"lea 88(%rsp), %rsi\n"
	"mov %rsi, 48(%rdi)\n"
	"mov (%rsi), %rcx\n"
	"mov %rcx, 56(%rdi)\n" /* the return address: the chain's first */
	/* PK_JPROBE_OUT_ARG0, PK_JPROBE_DURATION, PK_JPROBE_ARG2: the slot's
	 * extension (struct pk_jext, in an area of its own) takes the rest */
	"testl $517, pk_jd_flags(%rip)\n"
	"jz 50f\n"
	"mov -8(%rsp), %r8\n"
	"and 128(%r11), %r8\n"
	"imul 224(%r11), %r8\n"
	"add 216(%r11), %r8\n"
	"add %r11, %r8\n"
	"mov 16(%rsp), %rcx\n"
	"mov %rcx, 0(%r8)\n"
	"xor %ecx, %ecx\n"
	"testb $1, pk_jd_flags(%rip)\n"
	"jz 6f\n"
	"cmpq $0, 64(%rsp)\n"
	"jne 6f\n"
	"mov 0(%rsp), %rcx\n"
	"mov (%rcx), %rcx\n"
	"6: mov %rcx, 8(%r8)\n"
	"mov %rax, 16(%r8)\n"
	"mov %fs:0, %rcx\n"
	"mov %rcx, 24(%r8)\n"
	"orw $0x800, -22(%rsp)\n" /* PK_JREC_EXT */
	"50: mov %r10, -16(%rsp)\n" /* the slice's length (-1: deep, 0: none) */
	"lea (%rsi,%r9), %r8\n" /* the stack's end (rsi = E) */
	"mov %rdi, %r9\n" /* r9 = the record */
	"test %r10, %r10\n" /* PK_JPROBE_NO_STACK */
	"jz 30f\n"
	"cmpq $0, 184(%r11)\n" /* no site table */
	"je 30f\n"
	/* a chain perfkitd has (it wrote its hash into the ring's table of
	 * known chains after taking it): the walk once without a store,
	 * hashing the return addresses, then the hash in the record
	 * instead of the chain (PK_JREC_KNOWN) when the table has it, so
	 * that the record is one line; else, or at any frame the walk
	 * below would not take, that walk */
	"cmpq $0, 240(%r11)\n" /* no table of known chains */
	"je 80f\n"
	"testb $24, pk_jd_flags(%rip)\n" /* trap probes: records read in place */
	"jnz 80f\n"
	/* the walk memo (jprobe-int.h): an entry for this E (rsi), return
	 * address and probe whose words all hold what they held, within
	 * this thread's stack (r8), gives the chain's hash and kind */
	"cmpq $0, 264(%r11)\n"
	"je 89f\n"
	"mov (%rsi), %rax\n"
	"mov %rsi, %rcx\n"
	"shr $4, %rcx\n"
	"xor %rax, %rcx\n"
	"mov %rcx, %rdx\n"
	"shr $12, %rdx\n"
	"xor %rdx, %rcx\n"
	"shl $9, %rcx\n" /* PK_JMEMO_SIZE */
	"and 272(%r11), %rcx\n"
	"add 264(%r11), %rcx\n"
	"cmp %rsi, (%rcx)\n" /* tag */
	"jne 89f\n"
	"cmp %rax, 8(%rcx)\n" /* ra */
	"jne 89f\n"
	"movzwl pk_jd_id(%rip), %edx\n"
	"cmp %rdx, 24(%rcx)\n" /* probe */
	"jne 89f\n"
	"mov %r8, %rdx\n" /* the farthest word within this thread's stack */
	"sub %rsi, %rdx\n"
	"sub $8, %rdx\n"
	"jb 89f\n"
	"cmp %rdx, 40(%rcx)\n"
	"ja 89f\n"
	"mov 48(%rcx), %edx\n" /* npairs */
	"cmp $28, %edx\n" /* PK_JMEMO_PAIRS: the ring is the target's memory too */
	"ja 89f\n"
	"lea 64(%rcx), %rdi\n"
	"90: test %edx, %edx\n"
	"jz 91f\n"
	"mov (%rdi), %r10\n"
	"cmp 40(%rcx), %r10\n" /* not past the farthest (unsigned: not before E) */
	"ja 89f\n"
	"mov 8(%rdi), %rax\n"
	"cmp %rax, (%rsi,%r10)\n"
	"jne 89f\n"
	"add $16, %rdi\n"
	"dec %edx\n"
	"jmp 90b\n"
	"91: mov 16(%rcx), %r10\n" /* the hash where the chain would start */
	"mov %r10, 56(%r9)\n"
	"mov 32(%rcx), %eax\n" /* the kind */
	"or %ax, -22(%rsp)\n"
	"jmp 39f\n"
	"89: xor %edi, %edi\n" /* bytes of chain */
	"movzwl pk_jd_id(%rip), %r10d\n" /* h = the probe + 1, then per return address */
	"inc %r10\n"
	"lea 8(%rsi), %rsi\n"
	"mov -8(%rsi), %rax\n"
	"mov %rbp, %rdx\n"
	"81: test %rax, %rax\n"
	"jz 85f\n"
	"cmp 200(%r11), %rdi\n"
	"jae 86f\n"
	SITE_LOOKUP("82f", "80f")
	"82: xor %rax, %r10\n"
	"imul pk_jd_hmul(%rip), %r10\n"
	"add $8, %rdi\n"
	"cmpb $2, 15(%rcx)\n"
	"je 85f\n"
	"cmpb $1, 15(%rcx)\n"
	"jne 80f\n"
	FRAME_STEP("80f", "84")
	"jmp 81b\n"
	"85: mov $0xc000, %ecx\n" /* PK_JREC_CHAIN | PK_JREC_COMPLETE */
	"jmp 87f\n"
	"86: cmpq $0, 208(%r11)\n" /* out of room: truncated, or the walk below */
	"je 80f\n"
	"mov $0x8000, %ecx\n"
	"87: shr $3, %edi\n" /* the count, with the kind's bits, closes the hash */
	"or %edi, %ecx\n"
	"xor %rcx, %r10\n"
	"mov %r10, %rax\n"
	"shr $32, %rax\n"
	"xor %rax, %r10\n"
	"imul pk_jd_hmul(%rip), %r10\n"
	"mov %r10, %rax\n"
	"shr $29, %rax\n"
	"xor %rax, %r10\n"
	"or $1, %r10\n"
	"mov %r10, %rax\n"
	"and 248(%r11), %rax\n"
	"shl $3, %rax\n"
	"add 240(%r11), %rax\n"
	"cmp %r10, (%r11,%rax)\n"
	"jne 80f\n"
	"mov %r10, 56(%r9)\n" /* the hash where the chain would start */
	"or $0x400, %ecx\n" /* PK_JREC_KNOWN */
	"or %cx, -22(%rsp)\n"
	"jmp 39f\n"
	"80: lea 88(%rsp), %rsi\n" /* E again */
	/* the walk: ra = [E], sp = E + 8, rbp as at entry; per return
	 * address, its site's rule from the table (4 probes from its hash);
	 * the chain starts at the record's return address */
	"lea 56(%r9), %rdi\n"
	"mov 200(%r11), %r10\n"
	"lea 56(%r9,%r10), %r10\n" /* the end of the chain's room */
	"lea 8(%rsi), %rsi\n"
	"mov -8(%rsi), %rax\n"
	"mov %rbp, %rdx\n"
	"31: test %rax, %rax\n" /* a zero return address: the end */
	"jz 35f\n"
	"cmp %r10, %rdi\n"
	"jae 36f\n"
	SITE_LOOKUP("32f", "30f") /* an unknown site: the slice */
	"32: mov %rax, (%rdi)\n"
	"add $8, %rdi\n"
	"cmpb $2, 15(%rcx)\n" /* the outermost frame */
	"je 35f\n"
	"cmpb $1, 15(%rcx)\n"
	"jne 30f\n"
	FRAME_STEP("30f", "34")
	"jmp 31b\n"
	"35: mov $0xc000, %ecx\n" /* PK_JREC_CHAIN | PK_JREC_COMPLETE */
	"jmp 37f\n"
	"36: cmpq $0, 208(%r11)\n" /* the depth limit: truncated, or the slice */
	"je 30f\n"
	"mov $0x8000, %ecx\n" /* PK_JREC_CHAIN */
	"37: lea -56(%rdi), %rax\n"
	"sub %r9, %rax\n"
	"shr $3, %eax\n"
	"or %eax, %ecx\n"
	"or %cx, -22(%rsp)\n"
	"jmp 39f\n"
	"30: mov -16(%rsp), %rcx\n" /* no chain: the slice, or (deep) none */
	"cmp $-1, %rcx\n"
	"je 38f\n"
	"test %rcx, %rcx\n" /* none (a free's): rep movsb costs even for 0 */
	"jz 39f\n"
	/* the slice, with the callee-saved registers (untouched by the
	 * detour: as at entry), in the slot's extension */
	"mov -8(%rsp), %rdi\n"
	"and 128(%r11), %rdi\n"
	"imul 224(%r11), %rdi\n"
	"add 216(%r11), %rdi\n"
	"add %r11, %rdi\n"
	"mov %ecx, 32(%rdi)\n"
	"mov %rbx, 40(%rdi)\n"
	"mov %rbp, 48(%rdi)\n"
	"mov %r12, 56(%rdi)\n"
	"mov %r13, 64(%rdi)\n"
	"mov %r14, 72(%rdi)\n"
	"mov %r15, 80(%rdi)\n"
	"orw $0x1000, -22(%rsp)\n" /* PK_JREC_SLICE */
	"lea 96(%rdi), %rdi\n"
	"lea 88(%rsp), %rsi\n"
	"rep movsb\n"
	"39: movzwl -22(%rsp), %ecx\n" /* probe and kind: one plain store */
	"shl $16, %ecx\n"
	"or pk_jd_id(%rip), %ecx\n"
	"mov %ecx, 8(%r9)\n"
	"mov -8(%rsp), %rcx\n"
	"lea 1(%rcx), %rcx\n"
	"mov %rcx, (%r9)\n" /* published: seq = pos + 1 */
	"mov %r9, %r10\n"
	"jmp 8f\n"
	"38:\n" /* PK_JREC_VOID, then the trap */
	"mov pk_jd_id(%rip), %ecx\n"
	"or $0x20000000, %ecx\n"
	"mov %ecx, 8(%r9)\n"
	"mov -8(%rsp), %rcx\n"
	"lea 1(%rcx), %rcx\n"
	"mov %rcx, (%r9)\n"
	"7: xor %r10d, %r10d\n" /* no record */
	"pk_jd_done:\n"
	"8: cmpq $0, 80(%rsp)\n" /* recorded at the entry: on to the call */
	"jne 25f\n"
	"testb $8, pk_jd_flags(%rip)\n" /* PK_JPROBE_TRAP_RETURN */
	"jnz 19f\n"
	"testb $64, pk_jd_flags(%rip)\n" /* PK_JPROBE_TRAP_SLOW: */
	"jz 9f\n"
	"test %r10, %r10\n" /* a record written: no trap */
	"jnz 9f\n"
	"19: mov 0(%rsp), %rdi\n"
	"mov 8(%rsp), %rsi\n"
	"mov 16(%rsp), %rdx\n"
	"mov 64(%rsp), %rax\n"
	"mov 88(%rsp), %r11\n"
	"pk_jd_trap_return:\n"
	"int3\n"
	"jmp 9f\n"
	/* after an entry record: the arguments back, then the entry trap
	 * (PK_JPROBE_TRAP_SLOW without a record) or straight on */
	"25: movq $0, 80(%rsp)\n"
	"mov 0(%rsp), %rdi\n"
	"mov 8(%rsp), %rsi\n"
	"mov 16(%rsp), %rdx\n"
	"mov 24(%rsp), %rcx\n"
	"mov 32(%rsp), %r8\n"
	"mov 40(%rsp), %r9\n"
	"mov 48(%rsp), %rax\n"
	"test %r10, %r10\n"
	"jnz 16b\n"
	"testb $64, pk_jd_flags(%rip)\n"
	"jnz 21b\n"
	"jmp 16b\n"
	"9: mov 72(%rsp), %rdx\n"
	"mov 64(%rsp), %rax\n"
	"pk_jd_unframe:\n"
	"add $88, %rsp\n"
	"pk_jd_ret:\n"
	"ret\n"
	"26: add $88, %rsp\n"
	"jmp *pk_jd_copy(%rip)\n"
	".balign 8\n"
	"pk_jd_copy: .quad 0\n"
	"pk_jd_ring: .quad 0\n"
	"pk_jd_id: .long 0\n"
	"pk_jd_flags: .long 0\n"
	"pk_jd_hmul: .quad 0x9e3779b97f4a7c15\n" /* PK_JCHAIN_MUL */
	"pk_jdetour_end:\n"
	".popsection\n");

extern const uint8_t pk_jdetour_begin[], pk_jdetour_end[];
extern const uint8_t pk_jd_copy[], pk_jd_ring[], pk_jd_id[], pk_jd_flags[];
extern const uint8_t pk_jd_loaded[], pk_jd_done[];
extern const uint8_t pk_jd_framed[], pk_jd_unframe[], pk_jd_ret[];
extern const uint8_t pk_jd_trap_entry[], pk_jd_trap_return[];

size_t pk_jdetour_trap_offset(int at_return)
{
	return (size_t)((at_return ? pk_jd_trap_return : pk_jd_trap_entry) - pk_jdetour_begin);
}

size_t pk_jdetour_size(void)
{
	return (size_t)(pk_jdetour_end - pk_jdetour_begin);
}

size_t pk_jdetour_ring_slot(void)
{
	return (size_t)(pk_jd_ring - pk_jdetour_begin);
}

int pk_jdetour_recording(uint64_t detour, uint64_t rip)
{
	return rip >= detour + (uint64_t)(pk_jd_loaded - pk_jdetour_begin) &&
	       rip < detour + (uint64_t)(pk_jd_done - pk_jdetour_begin);
}

int pk_jdetour_frame(uint64_t detour, uint64_t pc, uint64_t sp, uint64_t *ret_slot)
{
	uint64_t off = pc - detour;

	if (pc < detour || off > (uint64_t)(pk_jd_ret - pk_jdetour_begin))
		return 0;
	if (off == 0 || off == (uint64_t)(pk_jd_ret - pk_jdetour_begin))
		*ret_slot = sp;
	else if (off >= (uint64_t)(pk_jd_framed - pk_jdetour_begin) &&
		 off <= (uint64_t)(pk_jd_unframe - pk_jdetour_begin))
		*ret_slot = sp + 88;
	else
		return 0;
	return 1;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static int fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* jmp *0(%rip); .quad target: 14 bytes, any distance */
static size_t emit_abs_jmp(uint8_t *out, uint64_t target)
{
	out[0] = 0xff;
	out[1] = 0x25;
	put32(out + 2, 0);
	put64(out + 6, target);
	return 14;
}

/* Conditional jump at code (no prefixes): its condition nibble and target,
 * or -1. */
static int decode_jcc(const uint8_t *code, size_t avail, uint64_t at, unsigned *cc,
		      uint64_t *target, unsigned *len)
{
	if (avail >= 2 && code[0] >= 0x70 && code[0] <= 0x7f) {
		*cc = code[0] & 15u;
		*len = 2;
		*target = at + 2 + (uint64_t)(int64_t)(int8_t)code[1];
		return 0;
	}
	if (avail >= 6 && code[0] == 0x0f && code[1] >= 0x80 && code[1] <= 0x8f) {
		int32_t rel;

		memcpy(&rel, code + 2, 4);
		*cc = code[1] & 15u;
		*len = 6;
		*target = at + 6 + (uint64_t)(int64_t)rel;
		return 0;
	}
	return -1;
}

/*
 * Relocate the instructions covering the first 5 bytes of pr (pr->orig at
 * pr->addr) to address `at`, into out.  Returns bytes written or -1.
 */
static int relocate(struct pk_jprobe *pr, uint64_t at, uint8_t *out, const char **why)
{
	size_t off = 0, o = 0;
	int ended = 0;

	while (off < 5) {
		const uint8_t *c = pr->orig + off;
		uint64_t pc = pr->addr + off, target;
		struct pk_insn in;
		unsigned cc, jlen;

		if (decode_jcc(c, PK_JPATCH_MAX - off, pc, &cc, &target, &jlen) == 0) {
			int64_t rel = (int64_t)(target - (at + o + 6));

			if (!fits32(rel)) {
				*why = "a conditional jump in the first 5 bytes cannot reach its target from the detour page";
				return -1;
			}
			out[o] = 0x0f;
			out[o + 1] = (uint8_t)(0x80 | cc);
			put32(out + o + 2, (uint32_t)(int32_t)rel);
			o += 6;
			off += jlen;
			continue;
		}
		if (pk_insn_decode(c, PK_JPATCH_MAX - off, &in) < 0) {
			*why = "an instruction in the first 5 bytes is not decodable";
			return -1;
		}
		if (in.cls == PK_INSN_UNSAFE) {
			*why = "the function is shorter than 5 bytes before a return or an unrelocatable instruction";
			return -1;
		}
		if (in.cls == PK_INSN_JMP_REL) {
			o += emit_abs_jmp(out + o, pc + in.len + (uint64_t)in.rel);
			off += in.len;
			ended = 1;
			break;
		}
		if (in.cls == PK_INSN_CALL_REL) {
			int64_t rel = (int64_t)(pc + in.len + (uint64_t)in.rel - (at + o + 5));

			if (!fits32(rel)) {
				*why = "a call in the first 5 bytes cannot reach its target from the detour page";
				return -1;
			}
			out[o] = 0xe8;
			put32(out + o + 1, (uint32_t)(int32_t)rel);
			o += 5;
			off += in.len;
			continue;
		}
		memcpy(out + o, c, in.len);
		if (in.rip_relative) {
			int32_t disp;
			int64_t nd;

			memcpy(&disp, c + in.disp_offset, 4);
			nd = (int64_t)(pc + in.len + (uint64_t)(int64_t)disp - (at + o + in.len));
			if (!fits32(nd)) {
				*why = "a RIP-relative operand in the first 5 bytes cannot be reached from the detour page";
				return -1;
			}
			put32(out + o + in.disp_offset, (uint32_t)(int32_t)nd);
		}
		o += in.len;
		off += in.len;
	}
	if (off > PK_JPATCH_MAX) {
		*why = "the displaced instructions are too long";
		return -1;
	}
	pr->patch_len = (unsigned)off;
	if (pr->size && off > pr->size) {
		*why = "the function is shorter than 5 bytes";
		return -1;
	}
	if (!ended)
		o += emit_abs_jmp(out + o, pr->addr + off);
	return (int)o;
}

int pk_jdetour_build(struct pk_jprobe *pr, int id, uint64_t at, uint64_t ring,
		     uint8_t *buf, const char **why)
{
	size_t t = pk_jdetour_size();
	int r;

	memcpy(buf, pk_jdetour_begin, t);
	r = relocate(pr, at + t, buf + t, why);
	if (r < 0)
		return -1;
	put64(buf + (pk_jd_copy - pk_jdetour_begin), at + t);
	put64(buf + (pk_jd_ring - pk_jdetour_begin), ring);
	put32(buf + (pk_jd_id - pk_jdetour_begin), (uint32_t)id);
	put32(buf + (pk_jd_flags - pk_jdetour_begin), pr->flags);
	return (int)t + r;
}

int pk_jbranch_into(const uint8_t *code, size_t len, uint64_t addr, unsigned patch_len)
{
	for (size_t k = 0; k < len; k++) {
		uint64_t pc = addr + k, target = 0;
		int have = 0;

		if (code[k] == 0xeb || (code[k] >= 0x70 && code[k] <= 0x7f) ||
		    (code[k] >= 0xe0 && code[k] <= 0xe3)) {
			if (k + 2 <= len) {
				target = pc + 2 + (uint64_t)(int64_t)(int8_t)code[k + 1];
				have = 1;
			}
		} else if (code[k] == 0xe8 || code[k] == 0xe9) {
			if (k + 5 <= len) {
				int32_t rel;

				memcpy(&rel, code + k + 1, 4);
				target = pc + 5 + (uint64_t)(int64_t)rel;
				have = 1;
			}
		} else if (code[k] == 0x0f && k + 1 < len && code[k + 1] >= 0x80 &&
			   code[k + 1] <= 0x8f) {
			if (k + 6 <= len) {
				int32_t rel;

				memcpy(&rel, code + k + 2, 4);
				target = pc + 6 + (uint64_t)(int64_t)rel;
				have = 1;
			}
		}
		/* the displaced instructions themselves are not branches
		 * into the patch unless they target it */
		if (have && target > addr && target < addr + patch_len)
			return 1;
	}
	return 0;
}
