/*
 * test_listener.c - unit tests for listener.c on real sockets in a scratch
 * directory: the socket gets exactly the configured mode whatever the
 * umask, the configured group, a missing directory is created 0750, a
 * stale socket is replaced, a live socket, a regular file and a directory
 * writable by others are refused, and only our own socket is unlinked.
 * The group is nogroup (65534) as root, else the caller's own group.
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
#include <sys/un.h>
#include <unistd.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode_whatever_umask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_replaced_live_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlink_only_ours, setup, teardown),
    };
    return cmocka_run_group_tests_name("listener", tests, NULL, NULL);
}
