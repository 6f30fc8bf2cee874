/*
 * query_listen.h - authgate-query's UNIX listening socket.
 *
 * query_listen_open() binds path with a private umask, then sets its owner
 * (when root) and mode, and listens.  Whatever already sits at path is
 * examined first: a socket nobody accepts on (left by a crashed or killed
 * server, or by one that dropped privileges and could not unlink it) is
 * replaced; a socket a live server answers on, or anything that is not a
 * socket, is an error naming the path.  query_listen_remove() unlinks the
 * socket only if it is still the one this process created (same device
 * and inode).  Every function returns 0 or -1 with a sentence in why.
 */
#ifndef AUTHGATE_QUERY_LISTEN_H
#define AUTHGATE_QUERY_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

typedef struct query_listener {
    int fd;
    char path[108]; /* sun_path */
    dev_t dev;
    ino_t ino;
} query_listener;

/* uid/gid: owner to set when running as root ((uid_t)-1 / (gid_t)-1:
 * leave as created). */
int query_listen_open(const char *path, uid_t uid, gid_t gid, mode_t mode, query_listener *l,
                      char *why, size_t whylen);
/* Close the descriptor (if open) and unlink the socket if it is still ours
 * (errors ignored: after dropping privileges the directory may not be
 * writable any more; the next start replaces the stale socket). */
void query_listen_close(query_listener *l);

#endif
