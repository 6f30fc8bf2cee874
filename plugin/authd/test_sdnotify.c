/*
 * test_sdnotify.c - unit tests for sdnotify.c: the environment systemd
 * sets (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID) parsed table-driven,
 * and messages really sent to a datagram socket of our own (path and
 * abstract names).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdnotify.h"

static void test_parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *sock, *usec, *pid;
        int rc;
        int64_t wd_ms;
        int has_socket;
    } t[] = {
        {NULL, NULL, NULL, 0, 0, 0},
        {"/run/systemd/notify", NULL, NULL, 0, 0, 1},
        {"@/org/freedesktop/systemd1/notify/1", NULL, NULL, 0, 0, 1},
        {"/run/n", "10000000", NULL, 0, 10000, 1},
        {"/run/n", "10000000", "4242", 0, 10000, 1}, /* pid matches (self = 4242) */
        {"/run/n", "10000000", "4243", 0, 0, 1},     /* another process's watchdog */
        {"/run/n", "1500", NULL, 0, 2, 1},           /* rounded up to ms */
        {NULL, "10000000", NULL, 0, 0, 0},           /* nowhere to send it */
        {"relative/path", NULL, NULL, -1, 0, 0},
        {"/run/n", "ten", NULL, -1, 0, 0},
        {"/run/n", "0", NULL, -1, 0, 0},
        {"/run/n", "-5", NULL, -1, 0, 0},
        {"/run/n", "99999999999999999999", NULL, -1, 0, 0},
        {"/run/n", "10000000", "x", -1, 0, 0},
        {"", "", "", 0, 0, 0},
    };
    char longpath[200];

    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        sdnotify n;
        char why[200] = "";
        int rc = sdnotify_parse(t[i].sock, t[i].usec, t[i].pid, 4242, &n, why, sizeof(why));
        if (rc != t[i].rc)
            fail_msg("case %zu (%s, %s, %s): got %d, want %d (%s)", i, t[i].sock, t[i].usec,
                     t[i].pid, rc, t[i].rc, why);
        if (rc != 0 && why[0] == '\0')
            fail_msg("case %zu: no reason given", i);
        if (n.watchdog_ms != t[i].wd_ms)
            fail_msg("case %zu: watchdog %lld ms, want %lld", i, (long long)n.watchdog_ms,
                     (long long)t[i].wd_ms);
        if ((n.salen != 0) != t[i].has_socket)
            fail_msg("case %zu: socket %d, want %d", i, n.salen != 0, t[i].has_socket);
        assert_int_equal(n.fd, -1);
    }
    sdnotify n;
    char why[200];
    assert_int_equal(sdnotify_parse(longpath, NULL, NULL, 1, &n, why, sizeof(why)), -1);
    assert_int_equal(sdnotify_parse("/x", "10000000", NULL, 1, &n, why, sizeof(why)), 0);
    assert_int_equal(sdnotify_interval_ms(&n), 5000);
}

/* init from the environment, then messages arrive on our socket. */
static void roundtrip(const char *name, int abstract)
{
    struct sockaddr_un sa;
    socklen_t len;
    char buf[64], env[120], why[200];
    sdnotify n;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ssize_t r;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name) + !abstract);
    if (abstract)
        sa.sun_path[0] = '\0';
    else
        unlink(name);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", "4000000", 1);
    snprintf(env, sizeof(env), "%ld", (long)getpid());
    setenv("WATCHDOG_PID", env, 1);
    assert_int_equal(sdnotify_init(&n, why, sizeof(why)), 0);
    assert_null(getenv("NOTIFY_SOCKET"));
    assert_null(getenv("WATCHDOG_USEC"));
    assert_null(getenv("WATCHDOG_PID"));
    assert_int_equal(n.watchdog_ms, 4000);
    assert_int_equal(sdnotify_interval_ms(&n), 2000);
    assert_int_equal(sdnotify_send(&n, "READY=1"), 0);
    assert_int_equal(sdnotify_send(&n, "WATCHDOG=1"), 0);
    r = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_int_equal(r, 7);
    buf[r] = '\0';
    assert_string_equal(buf, "READY=1");
    r = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_int_equal(r, 10);
    buf[r] = '\0';
    assert_string_equal(buf, "WATCHDOG=1");
    sdnotify_close(&n);
    close(fd);
    if (!abstract)
        unlink(name);
}

static void test_roundtrip(void **state)
{
    (void)state;
    char path[64], abs[64];

    snprintf(path, sizeof(path), "/tmp/authd-sdnotify-%ld", (long)getpid());
    snprintf(abs, sizeof(abs), "@authd-sdnotify-%ld", (long)getpid());
    roundtrip(path, 0);
    roundtrip(abs, 1);
}

static void test_inactive(void **state)
{
    (void)state;
    sdnotify n;
    char why[200];

    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    assert_int_equal(sdnotify_init(&n, why, sizeof(why)), 0);
    assert_int_equal(n.fd, -1);
    assert_int_equal(sdnotify_send(&n, "READY=1"), 0);
    assert_int_equal(sdnotify_interval_ms(&n), 0);
    sdnotify_close(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_inactive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
