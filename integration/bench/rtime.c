/* rtime: run a command once and print "<wall ns> <peak RSS KiB> <exit code>".
 *
 * The bench's timer (integration/bench/lifecycle.py spawns it): wall time
 * from fork to reaped exit, and ru_maxrss of the child as wait4(2) reports
 * it (its own peak and that of every descendant it waited for, such as a
 * foreground `run`'s container init). A small static C program, because a
 * child forked from Python would start with Python's resident size as its
 * high-water mark. The command's stdout and stdin are /dev/null; its stderr
 * is left as given.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status, null;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: rtime COMMAND [ARG...]\n");
		return 2;
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		dup2(null, 0);
		dup2(null, 1);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) {
		perror("rtime");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld %ld %d\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
	       ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
