/*
 * listener.h - the daemon's UNIX stream socket: created with an explicit
 * owner, group and mode whatever the umask, stale sockets replaced, live
 * ones refused, its directory created when missing.
 */
#ifndef AUTHD_LISTENER_H
#define AUTHD_LISTENER_H

#include <stddef.h>
#include <sys/types.h>

/* Mode of a directory listener_open() creates (owner uid, group gid). */
#define LISTENER_DIR_MODE 0750

typedef struct listener_opts {
    const char *path; /* absolute, shorter than sun_path */
    unsigned mode;    /* socket file mode, e.g. 0660 */
    uid_t uid;        /* owner of the socket (and of a created directory); -1: keep */
    gid_t gid;        /* group of the socket (and of a created directory); -1: keep */
    int backlog;      /* listen(2) backlog; 0: SOMAXCONN */
    int owned;        /* the caller holds its pid file lock: no other instance runs */
} listener_opts;

/* Identity of the socket file this process created. */
typedef struct listener_id {
    dev_t dev;
    ino_t ino;
} listener_id;

/* Create the socket.  The directory of path is created (mode
 * LISTENER_DIR_MODE, owner uid, group gid) if missing, its missing
 * ancestors with mode 0755 and the caller's ownership; an existing
 * directory must not be writable by others.  An existing file at path must
 * be a socket nobody listens on (it is then removed); anything else is
 * refused.  With opts->owned, a socket the probe may not connect to
 * (EACCES: root without CAP_DAC_OVERRIDE, a socket of the daemon's user)
 * is removed too: the pid file lock says no other instance runs.  The
 * socket is bound with mode 0000 (umask forced, so call this before
 * starting threads), chmodded to opts->mode, then chowned (chmod first:
 * root still owns it, no CAP_FOWNER needed), then listened on.  *fd is non-blocking and
 * close-on-exec.  Returns 0, or an errno value with a sentence in why. */
int listener_open(const listener_opts *opts, int *fd, listener_id *id, char *why, size_t whylen);

/* Remove the socket file at path if it is still the one listener_open()
 * created.  Returns 0, or an errno value (the caller may log it). */
int listener_unlink(const char *path, const listener_id *id);

#endif /* AUTHD_LISTENER_H */
