/*
 * sdnotify.c - sd_notify(3)'s protocol without libsystemd (sdnotify.h).
 *
 * Interface: sdnotify_parse, sdnotify_init, sdnotify_send,
 * sdnotify_interval_ms, sdnotify_close.
 *
 * Diagnostics: parse and init fill a caller buffer; send returns errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdnotify.h"

/* A decimal number in [1, max]; -1 if s is anything else. */
static long long sdnotify_number(const char *s, long long max)
{
    long long v = 0;

    if (s == NULL || *s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v >= 1 ? v : -1;
}

int sdnotify_parse(const char *socket, const char *usec, const char *pid, pid_t self, sdnotify *n,
                   char *why, size_t whylen)
{
    size_t len;
    long long us = 0, p;
    int rc = -1;

    memset(n, 0, sizeof(*n));
    n->fd = -1;
    if (socket != NULL && socket[0] != '\0') {
        len = strlen(socket);
        if ((socket[0] != '/' && socket[0] != '@') || len >= sizeof(n->sa.sun_path)) {
            snprintf(why, whylen, "NOTIFY_SOCKET: not an absolute path or @name of < %zu octets",
                     sizeof(n->sa.sun_path));
            goto out;
        }
        n->sa.sun_family = AF_UNIX;
        memcpy(n->sa.sun_path, socket, len);
        if (socket[0] == '@')
            n->sa.sun_path[0] = '\0'; /* abstract namespace: not NUL-terminated */
        n->salen =
            (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (socket[0] == '@' ? 0 : 1));
    }
    if (usec != NULL && usec[0] != '\0') {
        us = sdnotify_number(usec, 3600LL * 1000000);
        if (us < 0) {
            snprintf(why, whylen, "WATCHDOG_USEC: not a number of microseconds up to an hour");
            goto out;
        }
        if (pid != NULL && pid[0] != '\0') {
            p = sdnotify_number(pid, 0x7fffffff);
            if (p < 0) {
                snprintf(why, whylen, "WATCHDOG_PID: not a process id");
                goto out;
            }
            if ((pid_t)p != self)
                us = 0; /* meant for another process */
        }
        if (n->salen == 0)
            us = 0; /* nowhere to send the keep-alive */
        n->watchdog_ms = (us + 999) / 1000;
    }
    rc = 0;
out:
    if (rc != 0) {
        memset(n, 0, sizeof(*n));
        n->fd = -1;
    }
    return rc;
}

int sdnotify_init(sdnotify *n, char *why, size_t whylen)
{
    int rc = sdnotify_parse(getenv("NOTIFY_SOCKET"), getenv("WATCHDOG_USEC"),
                            getenv("WATCHDOG_PID"), getpid(), n, why, whylen);

    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    if (rc != 0 || n->salen == 0)
        return rc;
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n->fd < 0) {
        snprintf(why, whylen, "NOTIFY_SOCKET: socket: %s", strerror(errno));
        n->salen = 0;
        n->watchdog_ms = 0;
        return -1;
    }
    return 0;
}

int sdnotify_send(const sdnotify *n, const char *msg)
{
    ssize_t w;

    if (n == NULL || n->fd < 0)
        return 0;
    do
        w = sendto(n->fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&n->sa,
                   n->salen);
    while (w < 0 && errno == EINTR);
    return w < 0 ? errno : 0;
}

int64_t sdnotify_interval_ms(const sdnotify *n)
{
    return n != NULL && n->watchdog_ms > 0 ? (n->watchdog_ms + 1) / 2 : 0;
}

void sdnotify_close(sdnotify *n)
{
    if (n != NULL && n->fd >= 0)
        close(n->fd);
    if (n != NULL)
        n->fd = -1;
}
