/*
 * query_proc.h - process identity for authgate-query: the users and groups
 * named by query_user and query_socket_group, the pid file, dropping
 * privileges.  (Detaching and the readiness pipe are daemon.h's, shared
 * with authgate-milter; these functions exist separately because their
 * messages must name authgate-query's own configuration keys.)
 * Every function returns 0 or -1 with a sentence in why; none exits.
 */
#ifndef AUTHGATE_QUERY_PROC_H
#define AUTHGATE_QUERY_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* query_user's uid and primary gid (empty name: the current ones), and the
 * socket's group: query_socket_group, or that primary gid when empty. */
int query_proc_ids(const char *user, const char *group, uid_t *uid, gid_t *gid, gid_t *sock_gid,
                   char *why, size_t whylen);

/* Create path (mode 0644, no symlinks followed) holding our pid, locked
 * for as long as *fd stays open; fails when another process holds it.  An
 * empty path does nothing (*fd = -1). */
int query_proc_pidfile(const char *path, int *fd, char *why, size_t whylen);
void query_proc_pidfile_remove(const char *path, int fd);

/* Become user (uid, gid and supplementary groups: the policy group comes
 * from there).  Root only; an empty name, or already that user, does
 * nothing.  Verifies root cannot be regained. */
int query_proc_drop(const char *user, uid_t uid, gid_t gid, char *why, size_t whylen);

#endif
