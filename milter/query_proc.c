/*
 * query_proc.c - users, pid file, privileges (see query_proc.h).
 */
#include "query_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int query_proc_ids(const char *user, const char *group, uid_t *uid, gid_t *gid, gid_t *sock_gid,
                   char *why, size_t whylen)
{
    struct passwd pw, *pres = NULL;
    struct group gr, *gres = NULL;
    char buf[8192];
    int e, rc = -1;

    *uid = getuid();
    *gid = getgid();
    if (user != NULL && user[0] != '\0') {
        e = getpwnam_r(user, &pw, buf, sizeof(buf), &pres);
        if (pres == NULL) {
            snprintf(why, whylen, "query_user %.100s: %s", user,
                     e != 0 ? strerror(e) : "no such user");
            goto out;
        }
        *uid = pw.pw_uid;
        *gid = pw.pw_gid;
    }
    *sock_gid = *gid;
    if (group != NULL && group[0] != '\0') {
        e = getgrnam_r(group, &gr, buf, sizeof(buf), &gres);
        if (gres == NULL) {
            snprintf(why, whylen, "query_socket_group %.100s: %s", group,
                     e != 0 ? strerror(e) : "no such group");
            goto out;
        }
        *sock_gid = gr.gr_gid;
    }
    rc = 0;
out:
    return rc;
}

int query_proc_pidfile(const char *path, int *fd, char *why, size_t whylen)
{
    char buf[32];
    int n, rc = -1;

    *fd = -1;
    if (path == NULL || path[0] == '\0') {
        rc = 0;
        goto out;
    }
    *fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (*fd < 0) {
        snprintf(why, whylen, "query_pidfile %.200s: %s", path, strerror(errno));
        goto out;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(why, whylen, "query_pidfile %.200s: %s", path,
                 errno == EWOULDBLOCK ? "another authgate-query holds it" : strerror(errno));
        goto out;
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || write(*fd, buf, (size_t)n) != n || fchmod(*fd, 0644) != 0) {
        snprintf(why, whylen, "query_pidfile %.200s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

void query_proc_pidfile_remove(const char *path, int fd)
{
    if (fd < 0)
        return;
    /* After dropping privileges this may fail: the lock goes away with the
     * descriptor, so a stale file is harmless. */
    unlink(path);
    close(fd);
}

int query_proc_drop(const char *user, uid_t uid, gid_t gid, char *why, size_t whylen)
{
    int rc = -1;

    if (user == NULL || user[0] == '\0' || (uid == getuid() && uid == geteuid()))
        rc = 0;
    else if (geteuid() != 0)
        snprintf(why, whylen, "cannot switch to query_user %.100s: not running as root", user);
    else if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        snprintf(why, whylen, "switching to query_user %.100s: %s", user, strerror(errno));
    else if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        snprintf(why, whylen, "switching to query_user %.100s: root could be regained", user);
    else
        rc = 0;
    return rc;
}
