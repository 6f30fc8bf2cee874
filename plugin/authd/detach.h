/*
 * detach.h - going into the background with a readiness handshake: the
 * command that started the daemon exits 0 only once the daemon is
 * listening, and 1 if it failed to start.
 */
#ifndef AUTHD_DETACH_H
#define AUTHD_DETACH_H

#include <stddef.h>

/* Fork; the parent waits for detach_ready() in the child and then exits 0
 * (or exits 1 if the child exits first).  Returns only in the child, which
 * is a session leader with its working directory at "/", with *ready_fd to
 * pass to detach_ready().  Returns an errno value with why on failure (in
 * the original process). */
int detach_start(int *ready_fd, char *why, size_t whylen);

/* Tell the waiting parent that startup succeeded, and point standard
 * input, output and error at /dev/null.  ready_fd < 0 is a no-op. */
void detach_ready(int ready_fd);

#endif /* AUTHD_DETACH_H */
