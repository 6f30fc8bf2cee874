/*
 * listener.c - create and remove the daemon's UNIX socket (listener.h).
 *
 * Order of operations, chosen so that the socket is never reachable with
 * a wider mode or another group than configured: umask 0777 around bind()
 * (file mode 0000), check with lstat that the path is still our socket,
 * chmod to the configured mode, fchownat(AT_SYMLINK_NOFOLLOW) to owner and
 * group, and only then listen() -- until then a connect() is refused
 * whatever the mode says.  chmod comes before the chown so that it
 * changes a file root still owns: the daemon needs no CAP_FOWNER (nor for
 * the directory it may create: chmod, then chown).
 *
 * What is already at the path: anything but a socket is refused.  A socket
 * that answers a connect() belongs to a live daemon and is refused; one
 * that refuses the connection is stale and removed.  The probe cannot
 * tell when root lacks CAP_DAC_OVERRIDE and the socket belongs to the
 * daemon's own user (EACCES): then the socket is removed only when the
 * caller holds its pid file lock (opts->owned), which proves that no other
 * instance runs -- the socket was left by an earlier run that could not
 * unlink it after dropping root.
 *
 * Diagnostics: every failure returns an errno value and writes one
 * sentence naming the path into why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"

/* dirname into a buffer: "/a/b/c" -> "/a/b", "/c" -> "/". */
static int parent_dir(const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    if (slash == NULL)
        return EINVAL;
    n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= outsz)
        return ENAMETOOLONG;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

/* Create the missing ancestors of dir (not dir itself), mode 0755 whatever
 * the umask, like install -d. */
static int make_parents(const char *dir, char *why, size_t whylen)
{
    char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int rc = 0;
    size_t len = strlen(dir);

    memcpy(buf, dir, len + 1);
    for (size_t i = 1; i < len; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0700) == 0) {
            if (chmod(buf, 0755) != 0) {
                rc = errno;
                snprintf(why, whylen, "cannot set mode of %s: %s", buf, strerror(rc));
                goto out;
            }
        } else if (errno != EEXIST) {
            rc = errno;
            snprintf(why, whylen, "cannot create directory %s: %s", buf, strerror(rc));
            goto out;
        }
        buf[i] = '/';
    }
out:
    return rc;
}

static int prepare_dir(const listener_opts *o, char *why, size_t whylen)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct stat st;
    int rc;

    if ((rc = parent_dir(o->path, dir, sizeof(dir))) != 0) {
        snprintf(why, whylen, "socket path %s: no directory part", o->path);
        goto out;
    }
    if (stat(dir, &st) != 0) {
        rc = errno;
        if (rc != ENOENT) {
            snprintf(why, whylen, "socket directory %s: %s", dir, strerror(rc));
            goto out;
        }
        if ((rc = make_parents(dir, why, whylen)) != 0)
            goto out;
        if (mkdir(dir, 0700) != 0) {
            rc = errno;
            snprintf(why, whylen, "cannot create socket directory %s: %s", dir, strerror(rc));
            goto out;
        }
        if (chmod(dir, LISTENER_DIR_MODE) != 0 || chown(dir, o->uid, o->gid) != 0) {
            rc = errno;
            snprintf(why, whylen, "cannot set owner and mode of socket directory %s: %s", dir,
                     strerror(rc));
            goto out;
        }
        rc = 0;
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = ENOTDIR;
        snprintf(why, whylen, "socket directory %s is not a directory", dir);
        goto out;
    }
    if (st.st_mode & S_IWOTH) {
        rc = EPERM;
        snprintf(why, whylen,
                 "socket directory %s is writable by others (mode %04o): use a directory of "
                 "its own",
                 dir, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    rc = 0;
out:
    return rc;
}

static void fill_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, strlen(path) + 1);
}

/* Remove a stale socket at path; refuse anything else.  owned: the caller
 * holds its pid file lock (see the header). */
static int clear_path(const char *path, int owned, char *why, size_t whylen)
{
    struct stat st;
    struct sockaddr_un sa;
    int s = -1;
    int rc = 0;

    if (lstat(path, &st) != 0) {
        rc = errno == ENOENT ? 0 : errno;
        if (rc != 0)
            snprintf(why, whylen, "%s: %s", path, strerror(rc));
        goto out;
    }
    if (!S_ISSOCK(st.st_mode)) {
        rc = EEXIST;
        snprintf(why, whylen, "%s exists and is not a socket: not touching it", path);
        goto out;
    }
    if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        rc = errno;
        snprintf(why, whylen, "socket: %s", strerror(rc));
        goto out;
    }
    fill_addr(&sa, path);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        rc = EADDRINUSE;
        snprintf(why, whylen, "%s is in use: another daemon is listening on it", path);
        goto out;
    }
    if (errno != ECONNREFUSED && !(owned && (errno == EACCES || errno == EPERM))) {
        rc = errno;
        snprintf(why, whylen, "cannot probe existing socket %s: %s", path, strerror(rc));
        goto out;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        rc = errno;
        snprintf(why, whylen, "cannot remove stale socket %s: %s", path, strerror(rc));
        goto out;
    }
out:
    if (s >= 0)
        close(s);
    return rc;
}

int listener_open(const listener_opts *o, int *fd, listener_id *id, char *why, size_t whylen)
{
    struct sockaddr_un sa;
    struct stat st;
    int s = -1;
    int bound = 0;
    int rc;

    *fd = -1;
    if (o->path == NULL || o->path[0] != '/' || strlen(o->path) >= sizeof(sa.sun_path)) {
        rc = ENAMETOOLONG;
        snprintf(why, whylen, "socket path must be absolute and shorter than %zu octets: %s",
                 sizeof(sa.sun_path), o->path != NULL ? o->path : "(none)");
        goto out;
    }
    if ((rc = prepare_dir(o, why, whylen)) != 0 ||
        (rc = clear_path(o->path, o->owned, why, whylen)) != 0)
        goto out;
    if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
        rc = errno;
        snprintf(why, whylen, "socket: %s", strerror(rc));
        goto out;
    }
    fill_addr(&sa, o->path);
    {
        mode_t old = umask(0777);
        rc = bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
        umask(old);
    }
    if (rc != 0) {
        snprintf(why, whylen, "cannot bind %s: %s", o->path, strerror(rc));
        goto out;
    }
    bound = 1;
    if (lstat(o->path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        rc = EEXIST;
        snprintf(why, whylen, "%s changed under us after bind", o->path);
        bound = 0; /* not ours any more: leave it */
        goto out;
    }
    if (chmod(o->path, o->mode & 07777) != 0) {
        rc = errno;
        snprintf(why, whylen, "cannot set mode %04o on %s: %s", o->mode, o->path, strerror(rc));
        goto out;
    }
    if (fchownat(AT_FDCWD, o->path, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) != 0) {
        rc = errno;
        snprintf(why, whylen, "cannot set owner/group of %s to %ld:%ld: %s", o->path,
                 (long)(int)o->uid, (long)(int)o->gid, strerror(rc));
        goto out;
    }
    if (listen(s, o->backlog > 0 ? o->backlog : SOMAXCONN) != 0) {
        rc = errno;
        snprintf(why, whylen, "listen on %s: %s", o->path, strerror(rc));
        goto out;
    }
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    *fd = s;
    s = -1;
    rc = 0;
out:
    if (s >= 0) {
        close(s);
        if (bound)
            unlink(o->path);
    }
    return rc;
}

int listener_unlink(const char *path, const listener_id *id)
{
    struct stat st;
    int rc = 0;

    if (lstat(path, &st) != 0) {
        rc = errno;
        goto out;
    }
    if (st.st_dev != id->dev || st.st_ino != id->ino) {
        rc = ESTALE; /* replaced by someone else: leave it */
        goto out;
    }
    if (unlink(path) != 0)
        rc = errno;
out:
    return rc;
}
