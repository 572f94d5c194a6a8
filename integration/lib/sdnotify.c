/* sd_notify(3) without libsystemd, for notify.bats: send the first argument
 * (default "READY=1") as one datagram to $NOTIFY_SOCKET. Built statically by
 * the test and run inside a busybox container. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv) {
	const char *path = getenv("NOTIFY_SOCKET");
	const char *msg = argc > 1 ? argv[1] : "READY=1";
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "sdnotify: no usable NOTIFY_SOCKET\n");
		return 2;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("sdnotify");
		return 1;
	}
	return 0;
}
