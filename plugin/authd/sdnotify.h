/*
 * sdnotify.h - the service manager's notification socket, the protocol of
 * sd_notify(3) spoken directly (no libsystemd): readiness, stopping, and
 * the watchdog keep-alive that lets systemd (WatchdogSec=) kill and
 * restart a hung daemon.  libsasl2's saslauthd client has no timeout: a
 * hung authgate-authd would block every smtpd in AUTH for as long as it
 * hangs; once the service manager kills it, the kernel closes its
 * sockets and every waiting client reads end-of-file, a temporary failure
 * (Postfix 454).
 *
 * Environment (as systemd sets it for Type=notify and WatchdogSec=):
 *   NOTIFY_SOCKET   path of a datagram socket ('@' first: abstract name)
 *   WATCHDOG_USEC   keep-alive deadline in microseconds
 *   WATCHDOG_PID    the process the watchdog is meant for (if set, ours
 *                   only when it is our pid when sdnotify_init runs: call
 *                   it before going into the background, so that under
 *                   Type=forking the daemon keeps the watchdog systemd
 *                   set for the process it started; systemd then takes
 *                   the keep-alives from the pid in PIDFile=)
 */
#ifndef AUTHD_SDNOTIFY_H
#define AUTHD_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

typedef struct sdnotify {
    int fd; /* -1: no notification socket */
    struct sockaddr_un sa;
    socklen_t salen;
    int64_t watchdog_ms; /* 0: no watchdog */
} sdnotify;

/* Parse the three values (each may be NULL = unset) for a process whose
 * pid is self.  Fills n (fd stays -1).  Returns 0, or -1 with a sentence
 * in why for a malformed value (then n has no socket and no watchdog). */
int sdnotify_parse(const char *socket, const char *usec, const char *pid, pid_t self, sdnotify *n,
                   char *why, size_t whylen);

/* Read the environment (and remove the three variables from it), open the
 * socket.  0, or -1 with why (n is then inactive). */
int sdnotify_init(sdnotify *n, char *why, size_t whylen);

/* Send one message ("READY=1", "WATCHDOG=1", "STOPPING=1").  0, or an
 * errno value; a no-op returning 0 without a socket. */
int sdnotify_send(const sdnotify *n, const char *msg);

/* How often to send the keep-alive: half the deadline (0: never). */
int64_t sdnotify_interval_ms(const sdnotify *n);

void sdnotify_close(sdnotify *n);

#endif /* AUTHD_SDNOTIFY_H */
