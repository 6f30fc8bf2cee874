/*
 * pidfile.c - pid file with an flock held for the life of the process
 * (pidfile.h).  Opened with O_NOFOLLOW so that a symlink planted in the
 * pid directory is not followed; mode set with fchmod, not the umask.
 *
 * Diagnostics: errno values plus one sentence in why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pidfile.h"

pid_t pidfile_read(const char *path)
{
    char buf[32];
    ssize_t n;
    long v = 0;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        goto out;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        goto out;
    buf[n] = '\0';
    v = strtol(buf, NULL, 10);
    if (v < 0)
        v = 0;
out:
    return (pid_t)v;
}

int pidfile_open(pidfile *pf, const char *path, char *why, size_t whylen)
{
    char buf[32];
    int fd = -1;
    int rc = 0;
    int n;

    pf->fd = -1;
    pf->path[0] = '\0';
    if (path == NULL || path[0] == '\0')
        goto out;
    if (strlen(path) >= sizeof(pf->path)) {
        rc = ENAMETOOLONG;
        snprintf(why, whylen, "pid file path too long");
        goto out;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == ENOENT) {
        /* The directory (say /run/authgate after a reboot) is missing:
         * create that one level, 0755 whatever the umask. */
        char dir[sizeof(pf->path)];
        char *slash;
        memcpy(dir, path, strlen(path) + 1);
        if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
            *slash = '\0';
            if (mkdir(dir, 0700) == 0)
                chmod(dir, 0755);
        }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    }
    if (fd < 0) {
        rc = errno;
        snprintf(why, whylen, "pid file %s: %s", path, strerror(rc));
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno;
        if (rc == EWOULDBLOCK)
            snprintf(why, whylen, "pid file %s is locked: already running as pid %ld", path,
                     (long)pidfile_read(path));
        else
            snprintf(why, whylen, "pid file %s: lock: %s", path, strerror(rc));
        goto out;
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (fchmod(fd, 0644) != 0 || ftruncate(fd, 0) != 0 || pwrite(fd, buf, n, 0) != n) {
        rc = errno != 0 ? errno : EIO;
        snprintf(why, whylen, "pid file %s: write: %s", path, strerror(rc));
        goto out;
    }
    memcpy(pf->path, path, strlen(path) + 1);
    pf->fd = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

void pidfile_close(pidfile *pf)
{
    if (pf->fd < 0)
        return;
    if (ftruncate(pf->fd, 0) != 0) {
        /* nothing more to do: the lock below is what matters */
    }
    unlink(pf->path); /* fails after dropping root unless the directory allows it */
    close(pf->fd);
    pf->fd = -1;
}
