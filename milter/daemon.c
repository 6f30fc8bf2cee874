/*
 * daemon.c - detaching, users, pid file, privileges, core dumps, socket
 * permissions (see daemon.h).
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int daemon_detach(int *ready_fd, int *status, char *why, size_t whylen)
{
    int p[2], fd;
    pid_t pid;
    char c;
    ssize_t n;

    *ready_fd = -1;
    *status = 1;
    if (pipe(p) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid > 0) {
        /* The original process: wait for the daemon's word. */
        close(p[1]);
        do
            n = read(p[0], &c, 1);
        while (n < 0 && errno == EINTR);
        close(p[0]);
        waitpid(pid, NULL, 0); /* the intermediate child exits at once */
        *status = n == 1 && c == 'R' ? 0 : 1;
        return 1;
    }
    close(p[0]);
    if (setsid() < 0)
        _exit(1);
    pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid > 0)
        _exit(0);
    if (chdir("/") != 0)
        _exit(1);
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    *ready_fd = p[1];
    return 0;
}

void daemon_ready(int ready_fd)
{
    if (ready_fd >= 0) {
        if (write(ready_fd, "R", 1) != 1) {
            /* the parent is gone: nothing to tell */
        }
        close(ready_fd);
    }
}

int daemon_ids(const daemon_names *n, const char *user, const char *group, uid_t *uid, gid_t *gid,
               gid_t *sock_gid, char *why, size_t whylen)
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
            snprintf(why, whylen, "%s %.100s: %s", n->user, user,
                     e != 0 ? strerror(e) : "no such user");
            goto out;
        }
        *uid = pw.pw_uid;
        *gid = pw.pw_gid;
    }
    if (sock_gid != NULL)
        *sock_gid = *gid;
    if (sock_gid != NULL && group != NULL && group[0] != '\0') {
        e = getgrnam_r(group, &gr, buf, sizeof(buf), &gres);
        if (gres == NULL) {
            snprintf(why, whylen, "%s %.100s: %s", n->group, group,
                     e != 0 ? strerror(e) : "no such group");
            goto out;
        }
        *sock_gid = gr.gr_gid;
    }
    rc = 0;
out:
    return rc;
}

int daemon_pidfile(const daemon_names *n, const char *path, int *fd, char *why, size_t whylen)
{
    char buf[32];
    int len, rc = -1;

    *fd = -1;
    if (path == NULL || path[0] == '\0') {
        rc = 0;
        goto out;
    }
    *fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (*fd < 0) {
        snprintf(why, whylen, "%s %.200s: %s", n->pidfile, path, strerror(errno));
        goto out;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            snprintf(why, whylen, "%s %.200s: another %s holds it", n->pidfile, path, n->prog);
        else
            snprintf(why, whylen, "%s %.200s: %s", n->pidfile, path, strerror(errno));
        goto out;
    }
    len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || write(*fd, buf, (size_t)len) != len || fchmod(*fd, 0644) != 0) {
        snprintf(why, whylen, "%s %.200s: %s", n->pidfile, path, strerror(errno));
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

void daemon_pidfile_remove(const char *path, int fd)
{
    if (fd < 0)
        return;
    /* After dropping privileges this may fail: the lock still goes away
     * with the descriptor, so a stale file is harmless. */
    unlink(path);
    close(fd);
}

static const char *socket_path(const char *conn)
{
    if (strncmp(conn, "unix:", 5) == 0)
        return conn + 5;
    if (strncmp(conn, "local:", 6) == 0)
        return conn + 6;
    if (conn[0] == '/')
        return conn;
    return NULL;
}

int daemon_socket_clear(const char *conn, int owned, char *why, size_t whylen)
{
    const char *path = socket_path(conn);
    struct sockaddr_un sa;
    struct stat st;
    int fd = -1, rc = -1;

    if (path == NULL) {
        rc = 0;
        goto out;
    }
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            rc = 0;
        else
            snprintf(why, whylen, "milter_socket %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(why, whylen, "milter_socket %s exists and is not a socket: not touching it", path);
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(why, whylen, "milter_socket %s: path too long", path);
        goto out;
    }
    memcpy(sa.sun_path, path, strlen(path));
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(why, whylen, "socket: %s", strerror(errno));
        goto out;
    }
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0)
        snprintf(why, whylen, "milter_socket %s: another milter answers on it", path);
    else if (errno != ECONNREFUSED && !(owned && (errno == EACCES || errno == EPERM)))
        snprintf(why, whylen, "milter_socket %s: cannot probe it: %s", path, strerror(errno));
    else if (unlink(path) != 0 && errno != ENOENT)
        snprintf(why, whylen, "removing the stale socket %s: %s", path, strerror(errno));
    else
        rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

int daemon_socket_perms(const char *conn, mode_t mode, uid_t uid, gid_t gid, char *why,
                        size_t whylen)
{
    const char *path = socket_path(conn);

    if (path == NULL)
        return 0;
    if (chmod(path, mode) != 0) {
        snprintf(why, whylen, "chmod %s: %s", path, strerror(errno));
        return -1;
    }
    if (geteuid() == 0 && lchown(path, uid, gid) != 0) {
        snprintf(why, whylen, "chown %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int daemon_socket_remove(const char *conn)
{
    const char *path = socket_path(conn);
    struct stat st;
    int rc = 0;

    if (path != NULL && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) != 0)
        rc = errno;
    return rc;
}

int daemon_drop(const daemon_names *n, const char *user, uid_t uid, gid_t gid, char *why,
                size_t whylen)
{
    int rc = -1;

    if (user == NULL || user[0] == '\0' || (uid == getuid() && uid == geteuid()))
        rc = 0;
    else if (geteuid() != 0)
        snprintf(why, whylen, "cannot switch to %s %.100s: not running as root", n->user, user);
    else if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        snprintf(why, whylen, "switching to %s %.100s: %s", n->user, user, strerror(errno));
    else if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        snprintf(why, whylen, "switching to %s %.100s: root could be regained", n->user, user);
    else
        rc = 0;
    return rc;
}

int daemon_no_core(char *why, size_t whylen)
{
    const struct rlimit none = {0, 0};

    if (setrlimit(RLIMIT_CORE, &none) != 0) {
        snprintf(why, whylen, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        snprintf(why, whylen, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
        return -1;
    }
    return 0;
}
