/*
 * detach.c - daemonize with a readiness pipe (detach.h).  The parent
 * blocks on the pipe: one octet means ready (exit 0), end of file means
 * the child died during startup (exit 1; the child logged why).
 *
 * Diagnostics: errno values plus one sentence in why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detach.h"

int detach_start(int *ready_fd, char *why, size_t whylen)
{
    int p[2] = {-1, -1};
    int rc = 0;
    pid_t pid;

    *ready_fd = -1;
    if (pipe2(p, O_CLOEXEC) != 0) {
        rc = errno;
        snprintf(why, whylen, "pipe: %s", strerror(rc));
        goto out;
    }
    if ((pid = fork()) < 0) {
        rc = errno;
        snprintf(why, whylen, "fork: %s", strerror(rc));
        goto out;
    }
    if (pid > 0) {
        char c;
        ssize_t n;
        close(p[1]);
        do
            n = read(p[0], &c, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 ? 0 : 1);
    }
    close(p[0]);
    p[0] = -1;
    if (setsid() < 0 || chdir("/") != 0) {
        rc = errno;
        snprintf(why, whylen, "setsid/chdir: %s", strerror(rc));
        goto out;
    }
    *ready_fd = p[1];
    p[1] = -1;
out:
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    return rc;
}

void detach_ready(int ready_fd)
{
    int null;

    if (ready_fd < 0)
        return;
    if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    if (write(ready_fd, "r", 1) != 1) {
        /* the parent is gone: nothing to tell */
    }
    close(ready_fd);
}
