/*
 * query_listen.c - the listening UNIX socket (see query_listen.h).
 */
#include "query_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_addr(const char *path, struct sockaddr_un *sa, char *why, size_t whylen)
{
    int rc = -1;

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (path[0] != '/' || strlen(path) >= sizeof(sa->sun_path)) {
        snprintf(why, whylen, "query_socket %.200s: must be an absolute path under %zu octets",
                 path, sizeof(sa->sun_path));
    } else {
        memcpy(sa->sun_path, path, strlen(path));
        rc = 0;
    }
    return rc;
}

/* Make room at path: 0 when it is free (a stale socket removed), -1. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, char *why, size_t whylen)
{
    struct stat st;
    int fd = -1, rc = -1;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            rc = 0;
        else
            snprintf(why, whylen, "query_socket %.200s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(why, whylen, "query_socket %.200s exists and is not a socket", path);
        goto out;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, whylen, "socket: %s", strerror(errno));
        goto out;
    }
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
        snprintf(why, whylen, "query_socket %.200s: another server answers on it", path);
    } else if (errno != ECONNREFUSED) {
        snprintf(why, whylen, "query_socket %.200s: %s", path, strerror(errno));
    } else if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(why, whylen, "removing the stale socket %.200s: %s", path, strerror(errno));
    } else {
        rc = 0;
    }
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

int query_listen_open(const char *path, uid_t uid, gid_t gid, mode_t mode, query_listener *l,
                      char *why, size_t whylen)
{
    struct sockaddr_un sa;
    struct stat st;
    mode_t old;
    int rc = -1;

    memset(l, 0, sizeof(*l));
    l->fd = -1;
    if (fill_addr(path, &sa, why, whylen) != 0 || clear_stale(path, &sa, why, whylen) != 0)
        goto out;
    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        snprintf(why, whylen, "socket: %s", strerror(errno));
        goto out;
    }
    old = umask(0177);
    if (bind(l->fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        umask(old);
        snprintf(why, whylen, "bind %.200s: %s", path, strerror(errno));
        goto out;
    }
    umask(old);
    snprintf(l->path, sizeof(l->path), "%s", path);
    if (lstat(path, &st) != 0) {
        snprintf(why, whylen, "stat %.200s: %s", path, strerror(errno));
        goto out;
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    if (geteuid() == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) && lchown(path, uid, gid) != 0) {
        snprintf(why, whylen, "chown %.200s: %s", path, strerror(errno));
        goto out;
    }
    if (chmod(path, mode) != 0) {
        snprintf(why, whylen, "chmod %.200s: %s", path, strerror(errno));
        goto out;
    }
    if (listen(l->fd, SOMAXCONN) != 0) {
        snprintf(why, whylen, "listen %.200s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        query_listen_close(l);
    return rc;
}

void query_listen_close(query_listener *l)
{
    struct stat st;

    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->path[0] != '\0' && lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_dev == l->dev && st.st_ino == l->ino)
        unlink(l->path);
    l->path[0] = '\0';
}
