/*
 * pidfile.h - a locked pid file: the lock (flock) held for the daemon's
 * life says it runs; a file whose lock is free is stale and reused.
 */
#ifndef AUTHD_PIDFILE_H
#define AUTHD_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct pidfile {
    int fd; /* -1: none */
    char path[4096];
} pidfile;

/* Create or reuse path (mode 0644 whatever the umask; a missing last
 * directory is created 0755), take the lock and
 * write the current pid.  EWOULDBLOCK with why naming the running pid when
 * another process holds it.  An empty path is no pid file (0, pf->fd -1). */
int pidfile_open(pidfile *pf, const char *path, char *why, size_t whylen);

/* Empty the file (works after dropping root: the descriptor stays
 * writable), try to remove it, release the lock.  Safe on a closed one. */
void pidfile_close(pidfile *pf);

/* The pid recorded in path, or 0 (tests, status). */
pid_t pidfile_read(const char *path);

#endif /* AUTHD_PIDFILE_H */
