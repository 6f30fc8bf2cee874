/*
 * test_listener.c - unit tests for listener.c on real sockets in a scratch
 * directory: the socket gets exactly the configured mode whatever the
 * umask, the configured group, a missing directory is created 0750, a
 * stale socket is replaced, a live socket, a regular file and a directory
 * writable by others are refused, and only our own socket is unlinked.
 * As root with only the systemd unit's capabilities (no CAP_DAC_OVERRIDE,
 * no CAP_FOWNER: the socket is chmodded before it is chowned), a
 * stale socket of another user cannot be probed: refused, unless the
 * caller holds its pid file lock (opts.owned), then replaced; a live one
 * root can reach is refused either way.  The group is nogroup (65534) as
 * root, else the caller's own group.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include <cmocka.h>

#include "listener.h"

struct scratch {
    char dir[64];
    char path[128];
    gid_t gid;
};

static int setup(void **state)
{
    struct scratch *s = calloc(1, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/authd-listener.XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    snprintf(s->path, sizeof(s->path), "%s/run/authd/authd.sock", s->dir);
    s->gid = geteuid() == 0 ? 65534 : getegid();
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct scratch *s = *state;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    if (system(cmd) != 0)
        return -1;
    free(s);
    return 0;
}

static int do_open(struct scratch *s, unsigned mode, int *fd, listener_id *id, char *why)
{
    listener_opts o = {.path = s->path, .mode = mode, .uid = (uid_t)-1, .gid = s->gid};
    return listener_open(&o, fd, id, why, 256);
}

static void test_mode_whatever_umask(void **state)
{
    struct scratch *s = *state;
    static const struct {
        mode_t umask;
        unsigned mode;
    } cases[] = {{0, 0660}, {0077, 0660}, {0777, 0666}, {0022, 0600}, {0002, 0620}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[256] = "";
        int fd;
        listener_id id;
        struct stat st;
        mode_t old = umask(cases[i].umask);
        int rc = do_open(s, cases[i].mode, &fd, &id, why);
        umask(old);
        if (rc != 0)
            fail_msg("umask %04o mode %04o: got error %d (%s), want success", cases[i].umask,
                     cases[i].mode, rc, why);
        assert_int_equal(lstat(s->path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        if ((st.st_mode & 07777) != cases[i].mode)
            fail_msg("umask %04o: mode got %04o, want %04o", cases[i].umask, st.st_mode & 07777,
                     cases[i].mode);
        if (st.st_gid != s->gid)
            fail_msg("group got %u, want %u", (unsigned)st.st_gid, (unsigned)s->gid);
        assert_int_equal(listener_unlink(s->path, &id), 0);
        close(fd);
    }
}

static void test_dir_created(void **state)
{
    struct scratch *s = *state;
    char why[256] = "", dir[128];
    int fd;
    listener_id id;
    struct stat st;
    mode_t old = umask(0);
    int rc = do_open(s, 0660, &fd, &id, why);
    umask(old);
    if (rc != 0)
        fail_msg("open: got %d (%s), want 0", rc, why);
    snprintf(dir, sizeof(dir), "%s/run", s->dir);
    assert_int_equal(stat(dir, &st), 0);
    if ((st.st_mode & 07777) != 0755)
        fail_msg("parent directory mode got %04o, want 0755", st.st_mode & 07777);
    snprintf(dir, sizeof(dir), "%s/run/authd", s->dir);
    assert_int_equal(stat(dir, &st), 0);
    if ((st.st_mode & 07777) != LISTENER_DIR_MODE)
        fail_msg("directory mode got %04o, want %04o", st.st_mode & 07777, LISTENER_DIR_MODE);
    if (st.st_gid != s->gid)
        fail_msg("directory group got %u, want %u", (unsigned)st.st_gid, (unsigned)s->gid);
    /* The socket accepts connections. */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        fail_msg("connect: %s", strerror(errno));
    close(c);
    listener_unlink(s->path, &id);
    close(fd);
}

static void test_stale_replaced_live_refused(void **state)
{
    struct scratch *s = *state;
    char why[256] = "";
    int fd, fd2 = -1;
    listener_id id, id2;

    /* A stale socket: bound, never listened on, closed. */
    assert_int_equal(do_open(s, 0660, &fd, &id, why), 0);
    close(fd); /* the file stays behind, nobody listens */
    int rc = do_open(s, 0660, &fd, &id2, why);
    if (rc != 0)
        fail_msg("stale socket: got %d (%s), want 0", rc, why);
    /* A live one is refused and left alone. */
    rc = do_open(s, 0660, &fd2, &id, why);
    if (rc != EADDRINUSE)
        fail_msg("live socket: got %d (%s), want EADDRINUSE", rc, why);
    assert_int_equal(fd2, -1);
    struct stat st;
    assert_int_equal(lstat(s->path, &st), 0);
    assert_true(st.st_ino == id2.ino);
    assert_int_equal(listener_unlink(s->path, &id2), 0);
    close(fd);
}

static void test_refusals(void **state)
{
    struct scratch *s = *state;
    char why[256] = "", dir[128];
    int fd;
    listener_id id;

    /* A regular file at the path is never removed. */
    snprintf(dir, sizeof(dir), "%s/run", s->dir);
    mkdir(dir, 0755);
    snprintf(dir, sizeof(dir), "%s/run/authd", s->dir);
    mkdir(dir, 0750);
    int f = open(s->path, O_CREAT | O_WRONLY, 0600);
    assert_true(f >= 0);
    close(f);
    int rc = do_open(s, 0660, &fd, &id, why);
    if (rc != EEXIST)
        fail_msg("regular file: got %d (%s), want EEXIST", rc, why);
    struct stat st;
    assert_int_equal(lstat(s->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    unlink(s->path);

    /* A directory writable by others is refused. */
    chmod(dir, 0777);
    rc = do_open(s, 0660, &fd, &id, why);
    if (rc != EPERM)
        fail_msg("world-writable directory: got %d (%s), want EPERM", rc, why);
    chmod(dir, 0750);

    /* Relative and over-long paths. */
    listener_opts o = {.path = "relative.sock", .mode = 0660, .uid = -1, .gid = -1};
    assert_int_equal(listener_open(&o, &fd, &id, why, sizeof(why)), ENAMETOOLONG);
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    o.path = longpath;
    assert_int_equal(listener_open(&o, &fd, &id, why, sizeof(why)), ENAMETOOLONG);
}

static void test_unlink_only_ours(void **state)
{
    struct scratch *s = *state;
    char why[256] = "";
    int fd;
    listener_id id;
    assert_int_equal(do_open(s, 0660, &fd, &id, why), 0);
    close(fd);
    /* Someone replaced it (renamed a file of theirs over it, so that the
     * inode differs): leave theirs alone. */
    char other[160];
    snprintf(other, sizeof(other), "%s.other", s->path);
    int f = open(other, O_CREAT | O_WRONLY, 0600);
    close(f);
    assert_int_equal(rename(other, s->path), 0);
    int rc = listener_unlink(s->path, &id);
    if (rc != ESTALE)
        fail_msg("replaced socket: got %d, want ESTALE", rc);
    assert_int_equal(access(s->path, F_OK), 0);
    unlink(s->path);
}

/* Keep only CAP_CHOWN, CAP_SETUID and CAP_SETGID in the effective set:
 * root as the systemd unit starts the daemon (no CAP_DAC_OVERRIDE, no
 * CAP_FOWNER).  0 or -1. */
static int unit_caps(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    if (syscall(SYS_capget, &hdr, data) != 0)
        return -1;
    data[0].effective &= (1u << CAP_CHOWN) | (1u << CAP_SETUID) | (1u << CAP_SETGID);
    data[1].effective = 0;
    return (int)syscall(SYS_capset, &hdr, data);
}

/* In a child with the unit's capabilities only: open over a stale socket owned by
 * nobody (mode 0660, group nogroup), with owned as given.  The child's
 * exit status: the listener's return code (0 success), 100 + a step
 * that failed otherwise. */
static int open_without_dac(struct scratch *s, int owned)
{
    pid_t pid = fork();
    int status = -1;

    if (pid == 0) {
        listener_opts o = {
            .path = s->path, .mode = 0660, .uid = 65534, .gid = s->gid, .owned = owned};
        char why[256] = "";
        listener_id id;
        int fd = -1, rc;

        if (unit_caps() != 0)
            _exit(101);
        rc = listener_open(&o, &fd, &id, why, sizeof(why));
        if (rc != 0)
            fprintf(stderr, "# owned=%d: %s\n", owned, why);
        _exit(rc > 99 ? 100 : rc);
    }
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
        return WEXITSTATUS(status);
    return -1;
}

static void test_own_user_stale_socket(void **state)
{
    struct scratch *s = *state;
    listener_opts o = {.path = s->path, .mode = 0660, .uid = 65534, .gid = s->gid};
    char why[256] = "";
    listener_id id;
    struct stat st;
    int fd, rc, fd2 = -1;

    if (geteuid() != 0)
        skip();
    /* The directory is root's (a RuntimeDirectory=, or made by the admin):
     * one of the daemon's user would lock root out without the capability. */
    snprintf(why, sizeof(why), "%s/run", s->dir);
    assert_int_equal(mkdir(why, 0755), 0);
    snprintf(why, sizeof(why), "%s/run/authd", s->dir);
    assert_int_equal(mkdir(why, 0755), 0);
    /* What a daemon that dropped root leaves: its user's socket, mode 0660. */
    assert_int_equal(listener_open(&o, &fd, &id, why, sizeof(why)), 0);
    close(fd);
    /* Mode 0640 marks it: a replacement gets 0660. */
    assert_int_equal(chmod(s->path, 0640), 0);
    assert_int_equal(lstat(s->path, &st), 0);
    assert_int_equal(st.st_uid, 65534);
    rc = open_without_dac(s, 0);
    if (rc != EACCES)
        fail_msg("without the pid lock: got %d, want EACCES (%d): the probe cannot tell", rc,
                 EACCES);
    assert_int_equal(lstat(s->path, &st), 0);
    if ((st.st_mode & 07777) != 0640)
        fail_msg("without the pid lock: got mode %04o, want the stale socket (0640) left alone",
                 st.st_mode & 07777);
    rc = open_without_dac(s, 1);
    if (rc != 0)
        fail_msg("with the pid lock: got %d, want 0 (the stale socket replaced)", rc);
    assert_int_equal(lstat(s->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_uid, 65534);
    if ((st.st_mode & 07777) != 0660 || st.st_gid != s->gid)
        fail_msg("replacement: got mode %04o group %u, want 0660 group %u", st.st_mode & 07777,
                 (unsigned)st.st_gid, (unsigned)s->gid);
    /* A live socket root can reach (mode 0666) is refused even when owned. */
    unlink(s->path);
    o.mode = 0666;
    assert_int_equal(listener_open(&o, &fd, &id, why, sizeof(why)), 0);
    o.owned = 1;
    rc = listener_open(&o, &fd2, &id, why, sizeof(why));
    if (rc != EADDRINUSE)
        fail_msg("live socket, owned: got %d (%s), want EADDRINUSE", rc, why);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode_whatever_umask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_replaced_live_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlink_only_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_user_stale_socket, setup, teardown),
    };
    return cmocka_run_group_tests_name("listener", tests, NULL, NULL);
}
