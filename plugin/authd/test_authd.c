/*
 * test_authd.c - integration tests: the real authgate-authd (AUTHD_BIN)
 * on a real UNIX socket against a real store built with authdb in a
 * scratch directory.  No mocks.
 *
 * Covered: right / wrong / unknown / disabled (one NO text for all
 * failures), the login/realm rule, over-long and NUL-carrying fields,
 * fields arriving in separate writes, slow clients timed out while others
 * are served, concurrency, socket mode and group, privilege drop and no
 * core dumps (as root), the log (one line per decision, never a
 * password), store missing (TEMP, then picked up once created), SIGTERM
 * draining in-flight requests, SIGHUP reopening another store and
 * surviving a broken configuration, starting in the background with a pid
 * file (and failing to start visibly), the queue bound and the bound on
 * connections still sending, each refused with TEMP and a log line; as
 * root, two starts with the systemd unit's capabilities over the socket
 * the first could not remove.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "pidfile.h"

#define NO_TEXT "NO authentication failed"
#define THREADS 2
#define TIMEOUT 2 /* seconds */

static const char *answer_name(int a)
{
    return a == PROTO_ANSWER_OK     ? "OK"
           : a == PROTO_ANSWER_NO   ? "NO"
           : a == PROTO_ANSWER_TEMP ? "TEMP"
                                    : "no reply";
}

/* The shared daemon for the group. */
static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    int rc = fixture_init(f, 0, THREADS, TIMEOUT);
    if (rc != 0 || fixture_start(f) != 0) {
        fixture_free(f);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    int st = fixture_stop(f, SIGTERM, 10000);
    fixture_free(f);
    free(f);
    return st == 0 ? 0 : -1;
}

struct ask_case {
    const char *name;
    const char *login, *password, *service, *realm;
    int want;
    const char *want_reason; /* in the log line, or NULL */
};

static void run_cases(fixture *f, const struct ask_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char payload[256] = "";
        int got = fixture_ask(f->sock, c[i].login, c[i].password, c[i].service, c[i].realm, payload,
                              sizeof(payload));
        if (got != c[i].want)
            fail_msg("%s: got %s (\"%s\"), want %s", c[i].name, answer_name(got), payload,
                     answer_name(c[i].want));
        if (got == PROTO_ANSWER_NO && strcmp(payload, NO_TEXT) != 0)
            fail_msg("%s: reply got \"%s\", want \"%s\"", c[i].name, payload, NO_TEXT);
        if (got == PROTO_ANSWER_OK && strcmp(payload, "OK") != 0)
            fail_msg("%s: reply got \"%s\", want \"OK\"", c[i].name, payload);
        if (c[i].want_reason != NULL) {
            char lq[400];
            snprintf(lq, sizeof(lq), "login=\"%s\"", c[i].login);
            const char *needles[] = {lq, c[i].want_reason, NULL};
            if (fixture_log_count(f, needles) < 1)
                fail_msg("%s: no log line with %s and %s", c[i].name, lq, c[i].want_reason);
        }
    }
}

static void test_decisions(void **state)
{
    fixture *f = *state;
    static const struct ask_case cases[] = {
        {"right password", FX_LOGIN, FX_PASSWORD, "smtp", "", PROTO_ANSWER_OK,
         "reason=\"password accepted\""},
        {"wrong password", FX_LOGIN, "wrong horse", "smtp", "", PROTO_ANSWER_NO,
         "reason=\"wrong password\""},
        {"unknown login", "mallory", FX_PASSWORD, "smtp", "", PROTO_ANSWER_NO,
         "reason=\"unknown login\""},
        {"disabled, right password", FX_DISABLED_LOGIN, FX_PASSWORD, "smtp", "", PROTO_ANSWER_NO,
         "reason=\"login disabled\""},
        {"disabled, wrong password", FX_DISABLED_LOGIN, "nope", "smtp", "", PROTO_ANSWER_NO, NULL},
        {"empty password", FX_LOGIN, "", "smtp", "", PROTO_ANSWER_NO, NULL},
        {"empty login", "", FX_PASSWORD, "smtp", "", PROTO_ANSWER_NO, NULL},
        {"malformed login", "a b@@c", FX_PASSWORD, "smtp", "", PROTO_ANSWER_NO, NULL},
    };
    run_cases(f, cases, sizeof(cases) / sizeof(cases[0]));
}

/* login "@" realm when the realm is not empty; the store normalizes. */
static void test_login_realm_rule(void **state)
{
    fixture *f = *state;
    static const struct ask_case cases[] = {
        {"login + realm", "bob", FX_PASSWORD, "smtp", "example.org", PROTO_ANSWER_OK, NULL},
        {"address login, no realm", FX_ADDR_LOGIN, FX_PASSWORD, "smtp", "", PROTO_ANSWER_OK, NULL},
        {"case folded", "BOB@Example.ORG", FX_PASSWORD, "smtp", "", PROTO_ANSWER_OK, NULL},
        {"realm case folded", "Bob", FX_PASSWORD, "smtp", "EXAMPLE.org", PROTO_ANSWER_OK, NULL},
        {"other realm", "bob", FX_PASSWORD, "smtp", "example.net", PROTO_ANSWER_NO, NULL},
        {"bare login", FX_LOGIN, FX_PASSWORD, "imap", "", PROTO_ANSWER_OK, NULL},
        {"bare login + realm is another login", FX_LOGIN, FX_PASSWORD, "smtp", "example.org",
         PROTO_ANSWER_NO, NULL},
        {"address login + realm", FX_ADDR_LOGIN, FX_PASSWORD, "smtp", "example.org",
         PROTO_ANSWER_NO, NULL},
    };
    run_cases(f, cases, sizeof(cases) / sizeof(cases[0]));
}

static char big[70000];

struct raw_case {
    const char *name;
    const char *field[PROTO_NFIELDS];
    size_t len[PROTO_NFIELDS];
    int want;
};

static void test_oversized_and_nul(void **state)
{
    fixture *f = *state;
    const size_t pl = strlen(FX_PASSWORD);
    const struct raw_case cases[] = {
        {"login one past max",
         {big, FX_PASSWORD, "smtp", ""},
         {PROTO_LOGIN_MAX + 1, pl, 4, 0},
         PROTO_ANSWER_NO},
        {"password one past max",
         {FX_LOGIN, big, "smtp", ""},
         {5, PROTO_PASSWORD_MAX + 1, 4, 0},
         PROTO_ANSWER_NO},
        {"password 65535", {FX_LOGIN, big, "smtp", ""}, {5, 65535, 4, 0}, PROTO_ANSWER_NO},
        {"service one past max",
         {FX_LOGIN, FX_PASSWORD, big, ""},
         {5, pl, PROTO_SERVICE_MAX + 1, 0},
         PROTO_ANSWER_NO},
        {"realm one past max",
         {FX_LOGIN, FX_PASSWORD, "smtp", big},
         {5, pl, 4, PROTO_REALM_MAX + 1},
         PROTO_ANSWER_NO},
        {"password at max (wrong)",
         {FX_LOGIN, big, "smtp", ""},
         {5, PROTO_PASSWORD_MAX, 4, 0},
         PROTO_ANSWER_NO},
        /* libxcrypt takes at most 511 octets; longer must still be NO. */
        {"password 511 (wrong)", {FX_LOGIN, big, "smtp", ""}, {5, 511, 4, 0}, PROTO_ANSWER_NO},
        {"password 512 (wrong)", {FX_LOGIN, big, "smtp", ""}, {5, 512, 4, 0}, PROTO_ANSWER_NO},
        {"password 600, unknown login",
         {"mallory", big, "smtp", ""},
         {7, 600, 4, 0},
         PROTO_ANSWER_NO},
        /* "correct horse battery\0x" must not be checked as the password. */
        {"NUL after the right password",
         {FX_LOGIN, FX_PASSWORD "\0x", "smtp", ""},
         {5, pl + 2, 4, 0},
         PROTO_ANSWER_NO},
        {"NUL in login", {FX_LOGIN "\0x", FX_PASSWORD, "smtp", ""}, {7, pl, 4, 0}, PROTO_ANSWER_NO},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char payload[256] = "";
        int got = fixture_ask_raw(f->sock, cases[i].field, cases[i].len, payload, sizeof(payload));
        if (got != cases[i].want || strcmp(payload, NO_TEXT) != 0)
            fail_msg("%s: got %s (\"%s\"), want %s (\"%s\")", cases[i].name, answer_name(got),
                     payload, answer_name(cases[i].want), NO_TEXT);
    }
    const char *needles[] = {"reason=\"malformed request: password: field longer", NULL};
    assert_true(fixture_log_count(f, needles) >= 2);
    /* Still serving. */
    assert_int_equal(fixture_ask(f->sock, FX_LOGIN, FX_PASSWORD, "smtp", "", NULL, 0),
                     PROTO_ANSWER_OK);
}

/* Exim writes every field separately; some clients dribble. */
static void test_split_writes(void **state)
{
    fixture *f = *state;
    unsigned char req[256];
    const char *fl[PROTO_NFIELDS] = {FX_LOGIN, FX_PASSWORD, "smtp", ""};
    size_t ll[PROTO_NFIELDS] = {strlen(FX_LOGIN), strlen(FX_PASSWORD), 4, 0};
    size_t n = proto_request_build(fl, ll, req, sizeof(req));
    static const struct {
        const char *name;
        unsigned chunk;    /* octets per write; 0: one write per field */
        unsigned pause_us; /* between writes */
    } modes[] = {{"field by field (Exim)", 0, 20000},
                 {"octet by octet", 1, 1000},
                 {"length prefixes split", 3, 5000}};

    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        int fd = fixture_connect(f->sock);
        assert_true(fd >= 0);
        size_t pos = 0;
        unsigned field = 0;
        while (pos < n) {
            size_t len = modes[m].chunk;
            if (len == 0)
                len = 2 + ll[field++];
            if (len > n - pos)
                len = n - pos;
            assert_int_equal(fixture_write_all(fd, req + pos, len), 0);
            pos += len;
            usleep(modes[m].pause_us);
        }
        char payload[64];
        size_t plen;
        if (fixture_read_reply(fd, payload, sizeof(payload), &plen, 5000) != 0 ||
            strcmp(payload, "OK") != 0)
            fail_msg("%s: got \"%s\", want \"OK\"", modes[m].name, payload);
        close(fd);
    }
}

/* More stuck clients than workers: others are still served at once, and
 * the stuck ones get TEMP when their time is up. */
static void test_slow_clients(void **state)
{
    fixture *f = *state;
    enum { SLOW = 2 * THREADS + 1 };
    int slow[SLOW];
    double t0 = fixture_now_ms();

    for (int i = 0; i < SLOW; i++) {
        slow[i] = fixture_connect(f->sock);
        assert_true(slow[i] >= 0);
        assert_int_equal(fixture_write_all(slow[i], "\0\5ali", 5), 0); /* and then nothing */
    }
    usleep(100000);
    for (int i = 0; i < 2 * THREADS; i++) {
        double t = fixture_now_ms();
        int got = fixture_ask(f->sock, FX_LOGIN, FX_PASSWORD, "smtp", "", NULL, 0);
        double ms = fixture_now_ms() - t;
        if (got != PROTO_ANSWER_OK || ms > 1000)
            fail_msg("fast client %d behind %d stuck ones: got %s in %.0f ms, want OK in < 1000", i,
                     SLOW, answer_name(got), ms);
    }
    for (int i = 0; i < SLOW; i++) {
        char payload[64];
        size_t plen = 99;
        if (fixture_read_reply(slow[i], payload, sizeof(payload), &plen, 10000) != 0 || plen != 0)
            fail_msg("stuck client %d: got %zu-octet reply \"%s\", want the empty TEMP reply", i,
                     plen, payload);
        double ms = fixture_now_ms() - t0;
        if (ms < TIMEOUT * 1000 - 200 || ms > TIMEOUT * 1000 + 2000)
            fail_msg("stuck client %d answered after %.0f ms, want about %d", i, ms,
                     TIMEOUT * 1000);
        close(slow[i]);
    }
    const char *needles[] = {"result=TEMP", "timed out after", "in field login", NULL};
    assert_true(fixture_log_count(f, needles) >= SLOW);
}

struct conc_arg {
    const char *sock;
    int ok;
};

static void *conc_client(void *p)
{
    struct conc_arg *a = p;
    for (int i = 0; i < 5; i++)
        a->ok +=
            fixture_ask(a->sock, FX_LOGIN, FX_PASSWORD, "smtp", "", NULL, 0) == PROTO_ANSWER_OK;
    return NULL;
}

static void test_concurrent(void **state)
{
    fixture *f = *state;
    enum { N = 8 };
    pthread_t t[N];
    struct conc_arg a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (struct conc_arg){f->sock, 0};
        pthread_create(&t[i], NULL, conc_client, &a[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        if (a[i].ok != 5)
            fail_msg("client %d: got %d OK of 5, want 5", i, a[i].ok);
    }
}

static void test_socket_and_process(void **state)
{
    fixture *f = *state;
    struct stat st;
    char path[64], line[256];

    assert_int_equal(lstat(f->sock, &st), 0);
    if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0660)
        fail_msg("socket mode got %04o, want 0660", st.st_mode & 07777);
    if (!f->as_root)
        return;
    if (st.st_uid != 65534 || st.st_gid != 65534)
        fail_msg("socket owner got %u:%u, want 65534:65534 (nobody's)", (unsigned)st.st_uid,
                 (unsigned)st.st_gid);
    /* Running as nobody, for good. */
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)f->pid);
    FILE *p = fopen(path, "r");
    assert_non_null(p);
    int uid_ok = 0, gid_ok = 0;
    while (fgets(line, sizeof(line), p) != NULL) {
        if (strncmp(line, "Uid:", 4) == 0)
            uid_ok = strcmp(line, "Uid:\t65534\t65534\t65534\t65534\n") == 0;
        if (strncmp(line, "Gid:", 4) == 0)
            gid_ok = strcmp(line, "Gid:\t65534\t65534\t65534\t65534\n") == 0;
    }
    fclose(p);
    if (!uid_ok || !gid_ok)
        fail_msg("daemon not running as 65534:65534 (real, effective, saved)");
    /* Not dumpable: the kernel makes /proc/PID root's instead of nobody's. */
    assert_int_equal(stat(path, &st), 0);
    if (st.st_uid != 0)
        fail_msg("/proc/%ld/status owned by %u: the daemon is dumpable, want not", (long)f->pid,
                 (unsigned)st.st_uid);
    snprintf(path, sizeof(path), "/proc/%ld/limits", (long)f->pid);
    p = fopen(path, "r");
    assert_non_null(p);
    int core0 = 0;
    while (fgets(line, sizeof(line), p) != NULL)
        if (strncmp(line, "Max core file size", 18) == 0)
            core0 = strstr(line, " 0 ") != NULL;
    fclose(p);
    if (!core0)
        fail_msg("core file size limit is not 0");
}

/* Runs last in the group: every password used above is absent. */
static void test_log_never_has_passwords(void **state)
{
    fixture *f = *state;
    static const char *const secrets[] = {FX_PASSWORD, "wrong horse", "correct horse", NULL};
    for (size_t i = 0; secrets[i] != NULL; i++)
        if (fixture_log_has(f, secrets[i]))
            fail_msg("log %s contains the password \"%s\"", f->log, secrets[i]);
    const char *ok[] = {"login=\"alice\"", "realm=\"\"", "service=\"smtp\"",
                        "result=OK",       "peer=pid:",  NULL};
    assert_true(fixture_log_count(f, ok) >= 1);
    const char *realm[] = {"login=\"bob\"", "realm=\"example.org\"", "result=OK", NULL};
    assert_true(fixture_log_count(f, realm) >= 1);
}

/* --- tests with a daemon of their own ---------------------------------- */

static void test_store_missing(void **state)
{
    (void)state;
    fixture f;
    char payload[64] = "x";
    assert_int_equal(fixture_init(&f, 1, 1, TIMEOUT), 0);
    assert_int_equal(fixture_start(&f), 0);
    int got = fixture_ask(f.sock, FX_LOGIN, FX_PASSWORD, "smtp", "", payload, sizeof(payload));
    if (got != PROTO_ANSWER_TEMP)
        fail_msg("store missing: got %s (\"%s\"), want TEMP (empty reply)", answer_name(got),
                 payload);
    const char *needles[] = {"login=\"alice\"", "result=TEMP", NULL};
    assert_true(fixture_log_count(&f, needles) == 1);
    assert_true(fixture_log_has(&f, "answering temporary failures until it opens"));
    /* The store appears: picked up without a restart (retry once a second). */
    assert_int_equal(fixture_make_store(&f, NULL, NULL), 0);
    usleep(1100 * 1000);
    got = fixture_ask(f.sock, FX_LOGIN, FX_PASSWORD, "smtp", "", payload, sizeof(payload));
    if (got != PROTO_ANSWER_OK)
        fail_msg("store created later: got %s, want OK", answer_name(got));
    assert_int_equal(fixture_stop(&f, SIGTERM, 10000), 0);
    fixture_free(&f);
}

struct drain_arg {
    fixture *f;
    int fd;
    int result;
};

static void test_sigterm_drain(void **state)
{
    (void)state;
    fixture f;
    enum { PARTIAL = 3, QUEUED = 12 };
    int partial[PARTIAL], queued[QUEUED];
    unsigned char req[256];
    const char *fl[PROTO_NFIELDS] = {FX_LOGIN, FX_PASSWORD, "smtp", ""};
    size_t ll[PROTO_NFIELDS] = {strlen(FX_LOGIN), strlen(FX_PASSWORD), 4, 0};
    size_t n = proto_request_build(fl, ll, req, sizeof(req));

    assert_int_equal(fixture_init(&f, 0, 1, 5), 0);
    assert_int_equal(fixture_start(&f), 0);
    /* Requests half sent... */
    for (int i = 0; i < PARTIAL; i++) {
        partial[i] = fixture_connect(f.sock);
        assert_int_equal(fixture_write_all(partial[i], req, 10), 0);
    }
    /* ...and complete ones queued behind one worker (about 14 ms each). */
    for (int i = 0; i < QUEUED; i++) {
        queued[i] = fixture_connect(f.sock);
        assert_int_equal(fixture_write_all(queued[i], req, n), 0);
    }
    usleep(20000);
    pid_t pid = f.pid;
    kill(pid, SIGTERM);
    usleep(200000);
    /* No new connections. */
    int fd = fixture_connect(f.sock);
    if (fd >= 0)
        fail_msg("connected after SIGTERM, want refused");
    /* Still alive, finishing the half-sent requests. */
    assert_int_equal(kill(pid, 0), 0);
    for (int i = 0; i < PARTIAL; i++)
        assert_int_equal(fixture_write_all(partial[i], req + 10, n - 10), 0);
    for (int i = 0; i < PARTIAL + QUEUED; i++) {
        int c = i < PARTIAL ? partial[i] : queued[i - PARTIAL];
        char payload[64] = "";
        size_t plen;
        if (fixture_read_reply(c, payload, sizeof(payload), &plen, 5000) != 0 ||
            strcmp(payload, "OK") != 0)
            fail_msg("in-flight request %d after SIGTERM: got \"%s\", want \"OK\"", i, payload);
        close(c);
    }
    int st = fixture_stop(&f, 0, 5000); /* signal 0: just wait */
    if (st != 0)
        fail_msg("exit status after SIGTERM got %d, want 0", st);
    assert_true(fixture_log_has(&f, "stopping: no new connections"));
    const char *stopped[] = {"stopped: answered OK 15,", NULL};
    if (fixture_log_count(&f, stopped) != 1)
        fail_msg("no \"stopped: answered OK 15\" line in %s", f.log);
    /* The socket file is gone. */
    struct stat sst;
    assert_int_not_equal(lstat(f.sock, &sst), 0);
    fixture_free(&f);
}

static void test_sighup(void **state)
{
    (void)state;
    fixture f;
    char store2[sizeof(f.store)];
    assert_int_equal(fixture_init(&f, 0, 1, TIMEOUT), 0);
    assert_int_equal(fixture_start(&f), 0);

    /* A broken configuration is refused; the daemon keeps serving. */
    FILE *c = fopen(f.conf, "a");
    fputs("no_such_key = 1\n", c);
    fclose(c);
    kill(f.pid, SIGHUP);
    for (int i = 0; i < 200 && !fixture_log_has(&f, "keeping the running configuration"); i++)
        usleep(10000);
    assert_true(fixture_log_has(&f, "keeping the running configuration"));
    assert_int_equal(fixture_ask(f.sock, FX_LOGIN, FX_PASSWORD, "smtp", "", NULL, 0),
                     PROTO_ANSWER_OK);

    /* Another store with another password for alice. */
    snprintf(store2, sizeof(store2), "%s/store2", f.dir);
    char saved[sizeof(f.store)];
    memcpy(saved, f.store, sizeof(saved));
    memcpy(f.store, store2, sizeof(store2));
    assert_int_equal(fixture_make_store(&f, FX_LOGIN, "second password"), 0);
    memcpy(f.store, saved, sizeof(saved));
    assert_int_equal(fixture_write_conf(&f, store2, 1, TIMEOUT + 1), 0);
    kill(f.pid, SIGHUP);
    for (int i = 0; i < 200 && !fixture_log_has(&f, "store2 reopened"); i++)
        usleep(10000);
    assert_true(fixture_log_has(&f, "store2 reopened"));
    int got = fixture_ask(f.sock, FX_LOGIN, "second password", "smtp", "", NULL, 0);
    if (got != PROTO_ANSWER_OK)
        fail_msg("after SIGHUP, new store's password: got %s, want OK", answer_name(got));
    got = fixture_ask(f.sock, FX_LOGIN, FX_PASSWORD, "smtp", "", NULL, 0);
    if (got != PROTO_ANSWER_NO)
        fail_msg("after SIGHUP, old store's password: got %s, want NO", answer_name(got));
    assert_true(fixture_log_has(&f, "reloaded (timeout 3s)"));
    assert_int_equal(fixture_stop(&f, SIGTERM, 10000), 0);
    fixture_free(&f);
}

/* One worker, 64 waiting at most: a burst of 200 complete requests gets
 * TEMP for what does not fit, at once, with a log line naming the bound;
 * everything that fit is answered OK. */
static void test_queue_full(void **state)
{
    (void)state;
    enum { BURST = 200 };
    fixture f;
    int fd[BURST];
    unsigned char req[256];
    const char *fl[PROTO_NFIELDS] = {FX_LOGIN, FX_PASSWORD, "smtp", ""};
    size_t ll[PROTO_NFIELDS] = {strlen(FX_LOGIN), strlen(FX_PASSWORD), 4, 0};
    size_t n = proto_request_build(fl, ll, req, sizeof(req));

    assert_int_equal(fixture_init(&f, 0, 1, 30), 0);
    assert_int_equal(fixture_start(&f), 0);
    for (int i = 0; i < BURST; i++) {
        fd[i] = fixture_connect(f.sock);
        assert_true(fd[i] >= 0);
        assert_int_equal(fixture_write_all(fd[i], req, n), 0);
    }
    int ok = 0, temp = 0;
    for (int i = 0; i < BURST; i++) {
        char payload[64];
        size_t plen;
        if (fixture_read_reply(fd[i], payload, sizeof(payload), &plen, 30000) != 0)
            fail_msg("request %d: no reply", i);
        int a = proto_reply_classify(payload, plen);
        ok += a == PROTO_ANSWER_OK;
        temp += a == PROTO_ANSWER_TEMP;
        close(fd[i]);
    }
    printf("burst of %d, 1 worker, queue 64: %d OK, %d TEMP\n", BURST, ok, temp);
    if (ok + temp != BURST || temp < 1 || ok < 64)
        fail_msg("got %d OK and %d TEMP, want at least 64 OK, some TEMP, nothing else", ok, temp);
    const char *needles[] = {"result=TEMP", "queue full: 64 requests waiting for 1 workers", NULL};
    if (fixture_log_count(&f, needles) != temp)
        fail_msg("queue-full log lines: got %d, want %d", fixture_log_count(&f, needles), temp);
    assert_int_equal(fixture_stop(&f, SIGTERM, 10000), 0);
    fixture_free(&f);
}

/* 256 connections still sending: the next one is refused at once. */
static void test_too_many_reading(void **state)
{
    (void)state;
    enum { MAX_READING = 256 };
    fixture f;
    static int fd[MAX_READING];

    assert_int_equal(fixture_init(&f, 0, 1, 30), 0);
    assert_int_equal(fixture_start(&f), 0);
    for (int i = 0; i < MAX_READING; i++) {
        fd[i] = fixture_connect(f.sock);
        assert_true(fd[i] >= 0);
        assert_int_equal(fixture_write_all(fd[i], "\0", 1), 0);
    }
    usleep(200000);
    int extra = fixture_connect(f.sock);
    assert_true(extra >= 0);
    char payload[64];
    size_t plen = 99;
    double t = fixture_now_ms();
    if (fixture_read_reply(extra, payload, sizeof(payload), &plen, 5000) != 0 || plen != 0)
        fail_msg("connection %d: got %zu-octet reply, want the empty TEMP reply at once",
                 MAX_READING + 1, plen);
    assert_true(fixture_now_ms() - t < 2000);
    close(extra);
    assert_true(fixture_log_has(&f, "too many connections sending requests (256): refused"));
    /* The others are still served once they finish. */
    const char *fl[PROTO_NFIELDS] = {FX_LOGIN, FX_PASSWORD, "smtp", ""};
    size_t ll[PROTO_NFIELDS] = {strlen(FX_LOGIN), strlen(FX_PASSWORD), 4, 0};
    unsigned char req[256];
    size_t n = proto_request_build(fl, ll, req, sizeof(req));
    assert_int_equal(fixture_write_all(fd[0], req + 1, n - 1), 0);
    if (fixture_read_reply(fd[0], payload, sizeof(payload), &plen, 5000) != 0 ||
        strcmp(payload, "OK") != 0)
        fail_msg("first slow connection after finishing: got \"%s\", want \"OK\"", payload);
    for (int i = 0; i < MAX_READING; i++)
        close(fd[i]);
    assert_int_equal(fixture_stop(&f, SIGTERM, 10000), 0);
    fixture_free(&f);
}

/* Run the daemon without -f; returns the starting command's exit status. */
static int start_detached(fixture *f)
{
    pid_t pid = fork();
    if (pid == 0) {
        int log = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(log, 2);
        execl(f->bin, "authgate-authd", "-c", f->conf, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Without -f: the command returns 0 once the daemon listens, the pid file
 * names the daemon, SIGTERM through the pid file stops it; a daemon that
 * cannot start makes the command exit 1. */
static void test_background(void **state)
{
    (void)state;
    fixture f;
    assert_int_equal(fixture_init(&f, 0, 1, TIMEOUT), 0);
    int rc = start_detached(&f);
    if (rc != 0)
        fail_msg("detached start: exit %d, want 0; see %s", rc, f.log);
    pid_t pid = pidfile_read(f.pidfile);
    assert_true(pid > 0);
    assert_int_equal(kill(pid, 0), 0);
    assert_int_equal(fixture_ask(f.sock, FX_LOGIN, FX_PASSWORD, "smtp", "", NULL, 0),
                     PROTO_ANSWER_OK);
    /* A second daemon on the same pid file refuses to start. */
    rc = start_detached(&f);
    if (rc != 1 || !fixture_log_has(&f, "already running as pid"))
        fail_msg("second detached start: exit %d, want 1 and \"already running\"", rc);
    kill(pid, SIGTERM);
    for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
        usleep(10000);
    if (kill(pid, 0) == 0)
        fail_msg("daemon %ld still running 5 s after SIGTERM", (long)pid);
    /* Detached, it logs to syslog only; a clean stop removed its socket. */
    struct stat sst;
    if (lstat(f.sock, &sst) == 0)
        fail_msg("socket %s still there after the daemon stopped", f.sock);
    /* A socket path that cannot work: the starting command says so. */
    FILE *c = fopen(f.conf, "a");
    fputs("authd_socket = /dev/null/mux\n", c);
    fclose(c);
    /* (a repeated key is itself an error: either way startup must fail) */
    rc = start_detached(&f);
    if (rc != 1)
        fail_msg("detached start with a broken socket path: exit %d, want 1", rc);
    fixture_free(&f);
}

/* As the systemd unit starts it (root with CAP_CHOWN, CAP_SETUID and
 * CAP_SETGID only: no CAP_DAC_OVERRIDE, no CAP_FOWNER), with the socket in
 * a root-owned directory: the daemon, no longer root at its stop, cannot
 * remove its socket and says so; the next start replaces that socket,
 * which root may not even probe, because it holds the pid file lock. */
static void test_restart_unit_caps(void **state)
{
    (void)state;
    fixture f;
    char dir[160];
    struct stat st;

    assert_int_equal(fixture_init(&f, 0, 1, TIMEOUT), 0);
    if (!f.as_root) {
        fixture_free(&f);
        skip();
    }
    snprintf(dir, sizeof(dir), "%s/run", f.dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(dir, sizeof(dir), "%s/run/authd", f.dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    f.unit_caps = 1;
    for (int round = 1; round <= 2; round++) {
        if (fixture_start(&f) != 0)
            fail_msg("start %d with the unit's capabilities failed; see %s", round, f.log);
        assert_int_equal(lstat(f.sock, &st), 0);
        if ((st.st_mode & 07777) != 0660 || st.st_uid != 65534)
            fail_msg("start %d: socket mode %04o uid %u, want 0660 nobody (chmod before chown: "
                     "no CAP_FOWNER needed)",
                     round, st.st_mode & 07777, (unsigned)st.st_uid);
        assert_int_equal(fixture_ask(f.sock, FX_LOGIN, FX_PASSWORD, "smtp", "", NULL, 0),
                         PROTO_ANSWER_OK);
        assert_int_equal(fixture_stop(&f, SIGTERM, 10000), 0);
        if (lstat(f.sock, &st) != 0)
            fail_msg("stop %d: the socket is gone, want it left behind (root-owned directory)",
                     round);
    }
    if (!fixture_log_has(&f, "left behind: Permission denied (replaced at the next start)"))
        fail_msg("no log line for the socket left behind; see %s", f.log);
    fixture_free(&f);
}

int main(void)
{
    memset(big, 'x', sizeof(big));
    if (getenv("AUTHD_BIN") == NULL) {
        fprintf(stderr, "AUTHD_BIN not set: skipping\n");
        return 77;
    }
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_decisions),          cmocka_unit_test(test_login_realm_rule),
        cmocka_unit_test(test_oversized_and_nul),  cmocka_unit_test(test_split_writes),
        cmocka_unit_test(test_slow_clients),       cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_socket_and_process), cmocka_unit_test(test_log_never_has_passwords),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(test_store_missing),
        cmocka_unit_test(test_sigterm_drain),
        cmocka_unit_test(test_sighup),
        cmocka_unit_test(test_background),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_too_many_reading),
        cmocka_unit_test(test_restart_unit_caps),
    };
    int failed =
        cmocka_run_group_tests_name("authd (shared daemon)", shared, group_setup, group_teardown);
    failed += cmocka_run_group_tests_name("authd (own daemon)", own, NULL, NULL);
    return failed != 0;
}
