/*
 * socketcall32: a 32-bit x86 program that makes socket and SysV IPC calls
 * both ways an i386 process can: through the multiplexers socketcall(2) and
 * ipc(2), and through the direct syscalls (Linux >= 4.3 and 5.1). A seccomp
 * profile that denies `socket` or `shmget` must deny both ways.
 *
 * No libc and no headers, so that it builds with any x86_64 gcc (no multilib):
 *   cc -m32 -static -nostdlib -ffreestanding -fno-pic -fno-stack-protector -O2 \
 *      -o socketcall32 socketcall32.c
 *
 * Prints one line per call, "<how> <result>", the result being what the
 * kernel returned (a new fd or id, or -errno), then exits 0. Shared memory
 * segments it makes are removed again.
 */

#define NR_EXIT 1
#define NR_WRITE 4
#define NR_SOCKETCALL 102
#define NR_IPC 117
#define NR_SOCKET 359
#define NR_SOCKETPAIR 360
#define NR_SHMGET 395
#define NR_SHMCTL 396

#define SYS_SOCKET 1     /* socketcall(2) call numbers, linux/net.h */
#define SYS_SOCKETPAIR 8
#define IPC_SHMGET 23    /* ipc(2) call number, linux/ipc.h */

#define AF_UNIX 1
#define AF_INET 2
#define SOCK_STREAM 1
#define IPC_PRIVATE 0
#define IPC_RMID 0

static long sys(long nr, long a, long b, long c, long d)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
			 : "memory");
	return ret;
}

static void say(const char *what, long result)
{
	char buf[64];
	int n = 0, i;
	unsigned long v = result < 0 ? -(unsigned long)result : (unsigned long)result;
	char digits[16];
	int nd = 0;

	while (what[n] && n < 40) {
		buf[n] = what[n];
		n++;
	}
	buf[n++] = ' ';
	if (result < 0)
		buf[n++] = '-';
	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && nd < 15);
	for (i = nd - 1; i >= 0; i--)
		buf[n++] = digits[i];
	buf[n++] = '\n';
	sys(NR_WRITE, 1, (long)buf, n, 0);
}

static void shm(const char *what, long id)
{
	say(what, id);
	if (id >= 0)
		sys(NR_SHMCTL, id, IPC_RMID, 0, 0);
}

__attribute__((force_align_arg_pointer, noreturn)) void _start(void)
{
	long args[4];
	int pair[2];

	args[0] = AF_INET;
	args[1] = SOCK_STREAM;
	args[2] = 0;
	say("socketcall-socket", sys(NR_SOCKETCALL, SYS_SOCKET, (long)args, 0, 0));
	say("socket", sys(NR_SOCKET, AF_INET, SOCK_STREAM, 0, 0));

	args[0] = AF_UNIX;
	args[1] = SOCK_STREAM;
	args[2] = 0;
	args[3] = (long)pair;
	say("socketcall-socketpair", sys(NR_SOCKETCALL, SYS_SOCKETPAIR, (long)args, 0, 0));
	say("socketpair", sys(NR_SOCKETPAIR, AF_UNIX, SOCK_STREAM, 0, (long)pair));

	/* ipc(SHMGET, key, size, shmflg) and shmget(key, size, shmflg); a
	 * segment made is removed at once */
	shm("ipc-shmget", sys(NR_IPC, IPC_SHMGET, IPC_PRIVATE, 4096, 0600));
	shm("shmget", sys(NR_SHMGET, IPC_PRIVATE, 4096, 0600, 0));

	for (;;)
		sys(NR_EXIT, 0, 0, 0, 0);
}
