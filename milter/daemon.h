/*
 * daemon.h - process plumbing for authgate-milter and authgate-query:
 * detaching, the users and groups, the pid file, dropping privileges,
 * core dumps, and (libmilter's socket) the socket's owner and mode.
 *
 * daemon_detach() forks twice and starts a new session; the original
 * process waits until the daemon reports readiness (daemon_ready) or
 * failure (its exit) and returns the status the caller's main should exit
 * with, so the daemon fails visibly when it cannot start.  Messages name
 * the daemon's own configuration keys (daemon_names).  Every function
 * returns 0 or -1 with a sentence in why; none exits.
 */
#ifndef AUTHGATE_DAEMON_H
#define AUTHGATE_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

/* Returns 1 in the original process (*status: exit status), 0 in the
 * daemon (*ready_fd: pass it to daemon_ready), -1 on error. */
int daemon_detach(int *ready_fd, int *status, char *why, size_t whylen);
/* Tell the waiting original process that startup succeeded. */
void daemon_ready(int ready_fd);

/* How messages name the daemon and its configuration keys. */
typedef struct daemon_names {
    const char *prog;    /* "another authgate-query holds it" */
    const char *user;    /* the user's key: "query_user" */
    const char *group;   /* the socket group's key: "query_socket_group" */
    const char *pidfile; /* the pid file as messages call it: "query_pidfile" */
} daemon_names;

/* user's uid and primary gid (empty name: the current ones), and in
 * *sock_gid (unless NULL) the socket's group: group's gid, or that primary
 * gid when group is empty or NULL. */
int daemon_ids(const daemon_names *n, const char *user, const char *group, uid_t *uid, gid_t *gid,
               gid_t *sock_gid, char *why, size_t whylen);

/* Create path (mode 0644, no symlinks followed) holding our pid, locked
 * for as long as *fd stays open; fails when another process holds it.
 * An empty path does nothing (*fd = -1). */
int daemon_pidfile(const daemon_names *n, const char *path, int *fd, char *why, size_t whylen);
/* Remove it (errors ignored: after dropping privileges the directory may
 * not be ours; the lock goes away with fd) and close fd.  fd < 0: nothing. */
void daemon_pidfile_remove(const char *path, int fd);

/* Make room for a UNIX socket ("unix:/path", "local:/path" or "/path";
 * other kinds: nothing to do) before libmilter binds it.  Nothing there:
 * fine.  Anything but a socket: refused.  A socket that answers a
 * connect() (another milter listening): refused.  One that refuses the
 * connection: stale, removed.  One root may not probe (EACCES: root
 * without CAP_DAC_OVERRIDE, the socket of milter_user): removed when owned
 * says the caller holds its pid file lock (no other instance runs),
 * refused otherwise. */
int daemon_socket_clear(const char *conn, int owned, char *why, size_t whylen);

/* For a UNIX socket: chmod it to mode, then chown it to uid:gid (when
 * root).  chmod first, while root owns the file: no CAP_FOWNER needed.
 * Other socket kinds: nothing. */
int daemon_socket_perms(const char *conn, mode_t mode, uid_t uid, gid_t gid, char *why,
                        size_t whylen);

/* Remove our UNIX socket (libmilter's).  Returns 0 (removed or gone) or
 * the errno of the failed unlink: after dropping privileges the
 * directory may not be ours. */
int daemon_socket_remove(const char *conn);

/* Become user (uid and gid from daemon_ids, and user's supplementary
 * groups).  Root only; an empty name, or already that user, does nothing.
 * Verifies root cannot be regained. */
int daemon_drop(const daemon_names *n, const char *user, uid_t uid, gid_t gid, char *why,
                size_t whylen);

/* No core dumps: RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 (which also keeps
 * other processes of the same user out of /proc/PID/mem and ptrace).  Call
 * at start and again after daemon_drop(): a uid change resets the
 * dumpable flag.  0, or -1 with why. */
int daemon_no_core(char *why, size_t whylen);

#endif
