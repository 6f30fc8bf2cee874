/*
 * test_privs.c - unit tests for privs.c and pidfile.c: the run-as
 * decision table, user/group lookup (names, numeric ids, unknown names),
 * dropping root for good in a child process (as root only; otherwise that
 * case is reported skipped inside the run), no core dumps, and the pid
 * file's lock (a second holder is refused with the running pid).
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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "pidfile.h"
#include "privs.h"

static void test_plan(void **state)
{
    (void)state;
    static const struct {
        uid_t euid;
        const char *user;
        enum privs_plan want;
    } cases[] = {
        {0, "authgate-authd", PRIVS_DROP},
        {0, "root", PRIVS_KEEP_ROOT},
        {0, "", PRIVS_REFUSE},
        {0, NULL, PRIVS_REFUSE},
        {1000, "authgate-authd", PRIVS_KEEP_SELF},
        {1000, "", PRIVS_KEEP_SELF},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum privs_plan got = privs_plan(cases[i].euid, cases[i].user);
        if (got != cases[i].want)
            fail_msg("euid %u user \"%s\": got %d, want %d", (unsigned)cases[i].euid,
                     cases[i].user != NULL ? cases[i].user : "(null)", got, cases[i].want);
    }
}

static void test_lookup(void **state)
{
    (void)state;
    char why[256];
    privs_user u;
    gid_t g;
    assert_int_equal(privs_user_lookup("nobody", &u, why, sizeof(why)), 0);
    assert_int_equal(u.uid, 65534);
    assert_string_equal(u.name, "nobody");
    assert_int_equal(privs_user_lookup("65534", &u, why, sizeof(why)), 0);
    assert_string_equal(u.name, "nobody");
    int rc = privs_user_lookup("no-such-user-authd", &u, why, sizeof(why));
    if (rc != ENOENT || strstr(why, "no such user") == NULL)
        fail_msg("unknown user: got %d \"%s\", want ENOENT \"... no such user\"", rc, why);
    assert_int_equal(privs_group_lookup("nogroup", &g, why, sizeof(why)), 0);
    assert_int_equal(g, 65534);
    assert_int_equal(privs_group_lookup("no-such-group-authd", &g, why, sizeof(why)), ENOENT);
}

static void test_drop(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip(); /* needs root; the integration test covers the daemon as root */
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char why[256];
        privs_user u;
        if (privs_user_lookup("nobody", &u, why, sizeof(why)) != 0)
            _exit(10);
        if (privs_drop(&u, why, sizeof(why)) != 0)
            _exit(11);
        if (privs_no_core(why, sizeof(why)) != 0)
            _exit(12);
        uid_t r, e, s;
        getresuid(&r, &e, &s);
        if (r != 65534 || e != 65534 || s != 65534)
            _exit(13);
        if (setuid(0) == 0 || setgid(0) == 0)
            _exit(14);
        struct rlimit rl;
        getrlimit(RLIMIT_CORE, &rl);
        if (rl.rlim_cur != 0 || rl.rlim_max != 0 || prctl(PR_GET_DUMPABLE) != 0)
            _exit(15);
        /* Refuses uid 0 as a target. */
        privs_user root = {"root", 0, 0};
        if (privs_drop(&root, why, sizeof(why)) != EINVAL)
            _exit(16);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("child dropping to nobody: exit %d, want 0 (10 lookup, 11 drop, 12 no_core, "
                 "13 ids, 14 regained root, 15 core/dumpable, 16 uid 0 accepted)",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void test_pidfile(void **state)
{
    (void)state;
    char dir[] = "/tmp/authd-pid.XXXXXX", path[64], why[256];
    pidfile a, b;
    struct stat st;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sub/authd.pid", dir);
    mode_t old = umask(0077);
    int rc = pidfile_open(&a, path, why, sizeof(why));
    umask(old);
    if (rc != 0)
        fail_msg("pidfile_open: %d %s", rc, why);
    assert_int_equal(pidfile_read(path), getpid());
    assert_int_equal(stat(path, &st), 0);
    if ((st.st_mode & 07777) != 0644)
        fail_msg("pid file mode got %04o, want 0644", st.st_mode & 07777);
    /* A second holder is refused, naming the running pid. */
    rc = pidfile_open(&b, path, why, sizeof(why));
    char want[64];
    snprintf(want, sizeof(want), "already running as pid %ld", (long)getpid());
    if (rc != EWOULDBLOCK || strstr(why, want) == NULL)
        fail_msg("second open: got %d \"%s\", want EWOULDBLOCK \"...%s\"", rc, why, want);
    pidfile_close(&a);
    assert_int_not_equal(access(path, F_OK), 0);
    /* A stale file (no lock) is reused. */
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_int_equal(write(fd, "99999\n", 6), 6);
    close(fd);
    assert_int_equal(pidfile_open(&b, path, why, sizeof(why)), 0);
    assert_int_equal(pidfile_read(path), getpid());
    pidfile_close(&b);
    /* Empty path: no pid file. */
    assert_int_equal(pidfile_open(&a, "", why, sizeof(why)), 0);
    assert_int_equal(a.fd, -1);
    pidfile_close(&a);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_drop),
        cmocka_unit_test(test_pidfile),
    };
    return cmocka_run_group_tests_name("privs and pidfile", tests, NULL, NULL);
}
