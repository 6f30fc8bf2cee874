/*
 * test_sasl.c - libauthgate.so inside the real libsasl2 2.1.28, against a
 * real store (authdb, LMDB) in a scratch directory.
 *
 * Full client<->server exchanges in-process for PLAIN, LOGIN, CRAM-MD5,
 * DIGEST-MD5, SCRAM-SHA-1 and SCRAM-SHA-256 with the stock mechanism
 * plugins: right password, wrong password, unknown and disabled logins,
 * realms, case, authzid; a store that is missing, corrupt, unreadable or
 * misconfigured (temporary failure, never a pass); changes made by another
 * process seen without re-init; the hosts' process models (Sendmail: init
 * then fork per connection; Exim: init/done per attempt; threads); two
 * copies of the plugin in the plugin path (only the first one answers);
 * sasl_setpass, saslpasswd2 -c/-d, the store probe, saslpluginviewer; and
 * the plugin staying out of the way of applications that use sasldb.
 *
 * Exact codes asserted are libsasl2's answers as the MTAs see them:
 * Postfix maps SASL_NOUSER to "authentication failure" (535) and
 * SASL_UNAVAIL to 454; Exim defers SASL_UNAVAIL and fails SASL_BADAUTH,
 * SASL_NOUSER and SASL_FAIL permanently.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "authdb.h"
#include "harness.h"
#include "teststore.h"

#define APP       "authgate-test"
#define ALL_MECHS "PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"

static const char *const mechs[] = {"PLAIN",      "LOGIN",       "CRAM-MD5",
                                    "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

/* The passwords of the test logins; none may appear in a log line. */
static const char *const passwords[] = {"Al1ce-pw", "B0b-pw", "C4rol-pw", "D4ve-pw",
                                        "Er1n-pw",  "N3w-pw", "Fr4nk-pw", "wrong-pw"};

struct fixture {
    harness h;
};

/* The store every test starts with. */
static int fixture_store(struct fixture *f)
{
    const char *dir = f->h.store;

    return teststore_create(dir, "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5 PLAIN",
                            "mx.test") ||
           teststore_put(dir, "alice@example.com", "Al1ce-pw", NULL) ||
           teststore_put(dir, "bob", "B0b-pw", NULL) ||
           teststore_put(dir, "carol@example.com", "C4rol-pw", NULL) ||
           teststore_disable(dir, "carol@example.com", 1) ||
           teststore_put(dir, "dave@example.com", "D4ve-pw", "CLEARTEXT") ||
           teststore_put(dir, "erin@example.com", "Er1n-pw", "SCRAM-SHA-256");
}

static int fixture_conf(struct fixture *f, const char *store)
{
    return harness_conf(&f->h, APP,
                        "pwcheck_method: auxprop\nauxprop_plugin: authgate\n"
                        "authgate_store: %s\nmech_list: %s\nlog_level: 5\n",
                        store, ALL_MECHS);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || harness_setup(&f->h) != 0 || fixture_store(f) != 0 ||
        fixture_conf(f, f->h.store) != 0)
        return -1;
    *state = f;
    return 0;
}

/* Plugin lines in the log never contain a password. */
static void assert_no_password_logged(harness *h)
{
    size_t i;

    for (i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
        if (harness_logged(h, passwords[i]))
            fail_msg("a password (%s) appears in the log:\n%s", passwords[i], h->log);
    }
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    assert_no_password_logged(&f->h);
    harness_teardown(&f->h);
    free(f);
    return 0;
}

struct auth_case {
    const char *mech;
    const char *realm;
    const char *authid;
    const char *password;
    int want;
};

static void run_cases(harness *h, const struct auth_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const struct auth_case *c = &cases[i];
        int got = harness_auth(h, c->mech, c->realm, c->authid, NULL, c->password, NULL, NULL, 0);
        if (got != c->want)
            fail_msg("%s realm %s authid %s password %s: got %d (%s), want %d (%s)\nlog:\n%s",
                     c->mech, c->realm ? c->realm : "NULL", c->authid, c->password, got,
                     sasl_errstring(got, NULL, NULL), c->want, sasl_errstring(c->want, NULL, NULL),
                     h->log);
    }
}

/* ------------------------------------------------------------ exchanges */

static void test_every_mechanism(void **state)
{
    struct fixture *f = *state;
    struct auth_case cases[NMECHS * 4];
    size_t i, n = 0;

    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    for (i = 0; i < NMECHS; i++) {
        /* right password */
        cases[n++] = (struct auth_case){mechs[i], NULL, "alice@example.com", "Al1ce-pw", SASL_OK};
        /* wrong password */
        cases[n++] =
            (struct auth_case){mechs[i], NULL, "alice@example.com", "wrong-pw", SASL_BADAUTH};
        /* unknown login */
        cases[n++] =
            (struct auth_case){mechs[i], NULL, "nobody@example.com", "Al1ce-pw", SASL_NOUSER};
        /* disabled login, right password: the same answer as a wrong one */
        cases[n++] =
            (struct auth_case){mechs[i], NULL, "carol@example.com", "C4rol-pw", SASL_BADAUTH};
    }
    run_cases(&f->h, cases, n);
    if (!harness_logged(&f->h, "authgate: login carol@example.com is disabled"))
        fail_msg("got no \"disabled\" log line, want one; log:\n%s", f->h.log);
    harness_done(&f->h);
}

static void test_logins_realms_case(void **state)
{
    struct fixture *f = *state;
    static const struct auth_case cases[] = {
        /* bare login, no realm */
        {"PLAIN", NULL, "bob", "B0b-pw", SASL_OK},
        {"CRAM-MD5", NULL, "bob", "B0b-pw", SASL_OK},
        {"DIGEST-MD5", NULL, "bob", "B0b-pw", SASL_OK},
        {"SCRAM-SHA-256", NULL, "bob", "B0b-pw", SASL_OK},
        /* the server's realm is appended to a login without one */
        {"PLAIN", "example.com", "alice", "Al1ce-pw", SASL_OK},
        {"LOGIN", "example.com", "alice", "Al1ce-pw", SASL_OK},
        {"CRAM-MD5", "example.com", "alice", "Al1ce-pw", SASL_OK},
        {"SCRAM-SHA-1", "example.com", "alice", "Al1ce-pw", SASL_OK},
        {"SCRAM-SHA-256", "example.com", "alice", "Al1ce-pw", SASL_OK},
        {"PLAIN", "example.com", "alice", "wrong-pw", SASL_BADAUTH},
        /* ... and then "bob" is bob@example.com, which does not exist */
        {"PLAIN", "example.com", "bob", "B0b-pw", SASL_NOUSER},
        {"CRAM-MD5", "example.com", "bob", "B0b-pw", SASL_NOUSER},
        /* a login with its own domain keeps it */
        {"CRAM-MD5", "other.org", "alice@example.com", "Al1ce-pw", SASL_OK},
        /* DIGEST-MD5 hashes the username as the client sends it: with a
         * realm appended by the server the stored H(A1) cannot match */
        {"DIGEST-MD5", "example.com", "alice", "Al1ce-pw", SASL_BADAUTH},
        /* the store's normalization: case-insensitive */
        {"PLAIN", NULL, "ALICE@Example.COM", "Al1ce-pw", SASL_OK},
        {"CRAM-MD5", NULL, "Alice@EXAMPLE.com", "Al1ce-pw", SASL_OK},
        {"SCRAM-SHA-256", NULL, "alice@EXAMPLE.COM", "Al1ce-pw", SASL_OK},
        /* logins that cannot exist */
        {"PLAIN", NULL, "a@b@c", "x", SASL_NOUSER},
        {"CRAM-MD5", NULL, "@", "x", SASL_NOUSER},
    };
    char user[256];

    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    run_cases(&f->h, cases, sizeof(cases) / sizeof(cases[0]));
    /* the authenticated name is the canonical one */
    assert_int_equal(harness_auth(&f->h, "PLAIN", "example.com", "alice", NULL, "Al1ce-pw", NULL,
                                  user, sizeof(user)),
                     SASL_OK);
    assert_string_equal(user, "alice@example.com");
    harness_done(&f->h);
}

/* Secrets per login: cleartext (userPassword) logins, a login with only
 * SCRAM-SHA-256, and the mechanisms its secrets do not enable. */
static void test_secret_kinds(void **state)
{
    struct fixture *f = *state;
    static const struct auth_case cases[] = {
        /* dave: CLEARTEXT only, every mechanism works through userPassword */
        {"PLAIN", NULL, "dave@example.com", "D4ve-pw", SASL_OK},
        {"LOGIN", NULL, "dave@example.com", "D4ve-pw", SASL_OK},
        {"CRAM-MD5", NULL, "dave@example.com", "D4ve-pw", SASL_OK},
        {"DIGEST-MD5", NULL, "dave@example.com", "D4ve-pw", SASL_OK},
        {"SCRAM-SHA-1", NULL, "dave@example.com", "D4ve-pw", SASL_OK},
        {"SCRAM-SHA-256", NULL, "dave@example.com", "D4ve-pw", SASL_OK},
        {"CRAM-MD5", NULL, "dave@example.com", "wrong-pw", SASL_BADAUTH},
        /* erin: SCRAM-SHA-256 only */
        {"SCRAM-SHA-256", NULL, "erin@example.com", "Er1n-pw", SASL_OK},
        {"SCRAM-SHA-256", NULL, "erin@example.com", "wrong-pw", SASL_BADAUTH},
        /* no SCRAM-SHA-1 secret: "no secret" (535), not libsasl's NOMEM (454) */
        {"SCRAM-SHA-1", NULL, "erin@example.com", "Er1n-pw", SASL_NOUSER},
        {"CRAM-MD5", NULL, "erin@example.com", "Er1n-pw", SASL_NOUSER},
        {"DIGEST-MD5", NULL, "erin@example.com", "Er1n-pw", SASL_NOUSER},
        /* PLAIN through auxprop needs userPassword or cmusaslsecretPLAIN */
        {"PLAIN", NULL, "erin@example.com", "Er1n-pw", SASL_NOUSER},
    };

    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    run_cases(&f->h, cases, sizeof(cases) / sizeof(cases[0]));
    harness_done(&f->h);
}

static void test_checkpass_and_authzid(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    assert_int_equal(harness_checkpass(NULL, "alice@example.com", "Al1ce-pw"), SASL_OK);
    assert_int_equal(harness_checkpass("example.com", "alice", "Al1ce-pw"), SASL_OK);
    assert_int_equal(harness_checkpass(NULL, "alice@example.com", "wrong-pw"), SASL_BADAUTH);
    assert_int_equal(harness_checkpass(NULL, "nobody", "x"), SASL_NOUSER);
    assert_int_equal(harness_checkpass(NULL, "carol@example.com", "C4rol-pw"), SASL_BADAUTH);
    /* authzid equal to the authid: fine; someone else: refused (libsasl's
     * default proxy policy answers SASL_BADAUTH, not SASL_NOAUTHZ) */
    assert_int_equal(harness_auth(&f->h, "PLAIN", NULL, "alice@example.com", "alice@example.com",
                                  "Al1ce-pw", NULL, NULL, 0),
                     SASL_OK);
    assert_int_equal(
        harness_auth(&f->h, "PLAIN", NULL, "alice@example.com", "bob", "Al1ce-pw", NULL, NULL, 0),
        SASL_BADAUTH);
    assert_int_equal(harness_auth(&f->h, "SCRAM-SHA-256", NULL, "alice@example.com", "bob",
                                  "Al1ce-pw", NULL, NULL, 0),
                     SASL_BADAUTH);
    harness_done(&f->h);
}

/* ------------------------------------------------------------ store trouble */

static void expect_all_unavail(struct fixture *f, const char *logtext)
{
    size_t i;

    for (i = 0; i < NMECHS; i++) {
        int got = harness_auth(&f->h, mechs[i], NULL, "alice@example.com", NULL, "Al1ce-pw", NULL,
                               NULL, 0);
        if (got != SASL_UNAVAIL)
            fail_msg("%s with a broken store: got %d (%s), want SASL_UNAVAIL (%d)\nlog:\n%s",
                     mechs[i], got, sasl_errstring(got, NULL, NULL), SASL_UNAVAIL, f->h.log);
    }
    if (harness_checkpass(NULL, "alice@example.com", "Al1ce-pw") != SASL_UNAVAIL)
        fail_msg("sasl_checkpass with a broken store: want SASL_UNAVAIL");
    if (!harness_logged(&f->h, logtext))
        fail_msg("log lacks \"%s\":\n%s", logtext, f->h.log);
}

static void test_store_missing(void **state)
{
    struct fixture *f = *state;
    char missing[PATH_MAX + 16];

    snprintf(missing, sizeof(missing), "%s/nonexistent", f->h.root);
    assert_int_equal(fixture_conf(f, missing), 0);
    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    /* init stays silent even when the store cannot be opened */
    if (harness_logged(&f->h, "authgate"))
        fail_msg("init logged something:\n%s", f->h.log);
    expect_all_unavail(f, "authgate: cannot open store");
    /* nothing was created by init or lookups */
    assert_int_equal(access(missing, F_OK), -1);
    harness_done(&f->h);
}

static void test_store_corrupt(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(teststore_corrupt(f->h.store), 0);
    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    expect_all_unavail(f, "authgate: cannot open store");
    harness_done(&f->h);
}

static void test_store_not_a_store(void **state)
{
    struct fixture *f = *state;

    /* an existing directory that is no store (e.g. a typo'd path) */
    assert_int_equal(fixture_conf(f, f->h.confdir), 0);
    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    expect_all_unavail(f, "authgate: cannot open store");
    harness_done(&f->h);
}

static void test_config_error(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(fixture_conf(f, "relative/store"), 0);
    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    expect_all_unavail(f, "authgate: configuration error: option authgate_store");
    harness_done(&f->h);
}

/* A store the process may not read: as root, run the attempt in a child
 * that became nobody (as Exim runs as Debian-exim). */
static void test_store_unreadable(void **state)
{
    struct fixture *f = *state;
    pid_t pid;
    int status;

    assert_int_equal(chmod(f->h.root, 0755), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc[2];
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(100);
        if (harness_init(&f->h, APP) != SASL_OK)
            _exit(101);
        rc[0] = harness_auth(&f->h, "CRAM-MD5", NULL, "alice@example.com", NULL, "Al1ce-pw", NULL,
                             NULL, 0);
        rc[1] = harness_checkpass(NULL, "alice@example.com", "Al1ce-pw");
        _exit(rc[0] == SASL_UNAVAIL && rc[1] == SASL_UNAVAIL &&
                      harness_logged(&f->h, "Permission denied")
                  ? 0
                  : 102);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("unreadable store as nobody: got child status %d, want 0 (SASL_UNAVAIL for "
                 "CRAM-MD5 and checkpass, \"Permission denied\" logged)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* The store does not exist at init, appears later: used without re-init. */
static void test_store_appears_later(void **state)
{
    struct fixture *f = *state;
    char later[PATH_MAX + 16];

    snprintf(later, sizeof(later), "%s/later", f->h.root);
    assert_int_equal(fixture_conf(f, later), 0);
    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    assert_int_equal(harness_checkpass(NULL, "bob", "B0b-pw"), SASL_UNAVAIL);
    assert_int_equal(teststore_create(later, "PLAIN CRAM-MD5", NULL), AUTHDB_OK);
    assert_int_equal(teststore_put(later, "bob", "B0b-pw", NULL), AUTHDB_OK);
    assert_int_equal(harness_checkpass(NULL, "bob", "B0b-pw"), SASL_OK);
    assert_int_equal(harness_auth(&f->h, "CRAM-MD5", NULL, "bob", NULL, "B0b-pw", NULL, NULL, 0),
                     SASL_OK);
    harness_done(&f->h);
}

/* ------------------------------------------------------------ changes */

static void test_changes_without_reinit(void **state)
{
    struct fixture *f = *state;
    const char *dir = f->h.store;
    size_t i;

    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    assert_int_equal(harness_checkpass(NULL, "alice@example.com", "Al1ce-pw"), SASL_OK);
    /* another process (authgatectl's role) changes the password */
    assert_int_equal(teststore_put(dir, "alice@example.com", "N3w-pw", NULL), AUTHDB_OK);
    for (i = 0; i < NMECHS; i++) {
        assert_int_equal(
            harness_auth(&f->h, mechs[i], NULL, "alice@example.com", NULL, "N3w-pw", NULL, NULL, 0),
            SASL_OK);
        assert_int_equal(harness_auth(&f->h, mechs[i], NULL, "alice@example.com", NULL, "Al1ce-pw",
                                      NULL, NULL, 0),
                         SASL_BADAUTH);
    }
    /* a new login, a disabled one, a deleted one */
    assert_int_equal(teststore_put(dir, "frank", "Fr4nk-pw", NULL), AUTHDB_OK);
    assert_int_equal(harness_checkpass(NULL, "frank", "Fr4nk-pw"), SASL_OK);
    assert_int_equal(teststore_disable(dir, "frank", 1), AUTHDB_OK);
    assert_int_equal(harness_checkpass(NULL, "frank", "Fr4nk-pw"), SASL_BADAUTH);
    assert_int_equal(teststore_disable(dir, "frank", 0), AUTHDB_OK);
    assert_int_equal(harness_checkpass(NULL, "frank", "Fr4nk-pw"), SASL_OK);
    assert_int_equal(teststore_delete(dir, "frank"), AUTHDB_OK);
    assert_int_equal(harness_checkpass(NULL, "frank", "Fr4nk-pw"), SASL_NOUSER);
    harness_done(&f->h);
}

/* ------------------------------------------------------------ hosts */

/* Sendmail: init in the daemon, a child per connection; children exit
 * without sasl_done.  The parent used the store before forking. */
static void test_fork_per_connection(void **state)
{
    struct fixture *f = *state;
    pid_t pids[4];
    size_t i;
    int status;

    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    assert_int_equal(harness_checkpass(NULL, "bob", "B0b-pw"), SASL_OK);
    for (i = 0; i < 4; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            int ok = 1;
            size_t m;
            for (m = 0; m < NMECHS; m++) {
                ok &= harness_auth(&f->h, mechs[m], NULL, "alice@example.com", NULL, "Al1ce-pw",
                                   NULL, NULL, 0) == SASL_OK;
                ok &= harness_auth(&f->h, mechs[m], NULL, "alice@example.com", NULL, "wrong-pw",
                                   NULL, NULL, 0) == SASL_BADAUTH;
            }
            _exit(ok ? 0 : 1);
        }
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("child %zu: got status 0x%x, want exit 0 (every mechanism: right OK, "
                     "wrong BADAUTH)",
                     i, status);
    }
    /* the parent's environment is untouched by its children */
    assert_int_equal(harness_checkpass(NULL, "bob", "B0b-pw"), SASL_OK);
    assert_int_equal(teststore_put(f->h.store, "bob", "N3w-pw", NULL), AUTHDB_OK);
    assert_int_equal(harness_checkpass(NULL, "bob", "N3w-pw"), SASL_OK);
    harness_done(&f->h);
}

/* Postfix: smtpd initializes SASL as root, enters its chroot (where the
 * store's path does not exist), drops privileges and never forks again.
 * The handle opened at init must serve every mechanism from inside. */
static void test_init_then_chroot(void **state)
{
    struct fixture *f = *state;
    char jail[PATH_MAX + 16];
    pid_t pid;
    int status;

    snprintf(jail, sizeof(jail), "%s/jail", f->h.root);
    assert_int_equal(mkdir(jail, 0755), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        size_t m;
        if (harness_init(&f->h, APP) != SASL_OK)
            _exit(100);
        if (chroot(jail) != 0 || chdir("/") != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(101);
        if (access(f->h.store, F_OK) == 0)
            _exit(102); /* the store must not be visible in the jail */
        for (m = 0; m < NMECHS; m++) {
            bad |= harness_auth(&f->h, mechs[m], NULL, "alice@example.com", NULL, "Al1ce-pw", NULL,
                                NULL, 0) != SASL_OK;
            bad |= harness_auth(&f->h, mechs[m], NULL, "alice@example.com", NULL, "wrong-pw", NULL,
                                NULL, 0) != SASL_BADAUTH;
            bad |= harness_auth(&f->h, mechs[m], NULL, "nobody@example.com", NULL, "x", NULL, NULL,
                                0) != SASL_NOUSER;
        }
        _exit(bad ? 103 : 0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("init, chroot, setuid: got child status %d, want 0 (100 init, 101 chroot, "
                 "102 store visible, 103 a mechanism answered wrong)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Exim: sasl_server_init, one attempt, sasl_done, again and again. */
static void test_init_done_cycles(void **state)
{
    struct fixture *f = *state;
    int before, after, i;

    before = open_fds();
    for (i = 0; i < 50; i++) {
        assert_int_equal(harness_init(&f->h, APP), SASL_OK);
        assert_int_equal(harness_auth(&f->h, i % 2 ? "CRAM-MD5" : "PLAIN", NULL,
                                      "alice@example.com", NULL, "Al1ce-pw", NULL, NULL, 0),
                         SASL_OK);
        harness_done(&f->h);
    }
    after = open_fds();
    if (after != before)
        fail_msg("open descriptors after 50 init/done cycles: got %d, want %d", after, before);
}

/* ------------------------------------------------------------ two copies */

/* How many lines of /proc/self/maps name path, and how many descriptors
 * of the process are open on it. */
static int maps_naming(const char *path)
{
    FILE *m = fopen("/proc/self/maps", "r");
    char line[2 * PATH_MAX];
    size_t plen = strlen(path);
    int n = 0;

    if (m == NULL)
        return -1;
    while (fgets(line, sizeof(line), m) != NULL) {
        size_t len = strcspn(line, "\n");
        if (len >= plen && memcmp(line + len - plen, path, plen) == 0 &&
            (len == plen || line[len - plen - 1] == ' '))
            n++;
    }
    fclose(m);
    return n;
}

static int fds_on(const char *path)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    char link[PATH_MAX + 32], target[PATH_MAX];
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        ssize_t len;
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        len = readlink(link, target, sizeof(target) - 1);
        if (len < 0)
            continue;
        target[len] = '\0';
        if (strcmp(target, path) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Copy the file src to dst (a second file, not a link: the dynamic loader
 * merges links to one file into one object). */
static int copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[65536];
    size_t n;
    int rc = 0;

    if (in == NULL || out == NULL)
        rc = -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in != NULL && ferror(in))
        rc = -1;
    if (in != NULL)
        fclose(in);
    if (out != NULL && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* The built libauthgate.so: the first one in the harness's plugin path. */
static int built_plugin(const harness *h, char *out, size_t outsz)
{
    char path[sizeof(h->sasl_path)];
    char *save = NULL;
    int rc = -1;

    snprintf(path, sizeof(path), "%s", h->sasl_path);
    for (char *dir = strtok_r(path, ":", &save); dir != NULL && rc != 0;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(out, outsz, "%s/libauthgate.so", dir);
        if (access(out, R_OK) == 0)
            rc = 0;
    }
    return rc;
}

static int count_in(const char *haystack, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Two libauthgate.so files in the plugin path (a build copy first, an
 * "installed" one in a later directory, as SASL_PATH=dir:sysdir gives):
 * libsasl2 loads and initializes both, but only the first opens the store
 * -- one mapping of secrets/data.mdb, one descriptor on its lock file --
 * and answers; the second says once, at debug level, that it stays inert.
 * Over init/done cycles (Exim) too. */
static void test_two_copies(void **state)
{
    struct fixture *f = *state;
    char built[PATH_MAX], copydir[PATH_MAX], copy[PATH_MAX + 32];
    char data[PATH_MAX + 32], lock[PATH_MAX + 32], line[PATH_MAX + 128];
    int i, n;

    assert_int_equal(built_plugin(&f->h, built, sizeof(built)), 0);
    snprintf(copydir, sizeof(copydir), "%s/sysdir", f->h.root);
    snprintf(copy, sizeof(copy), "%s/libauthgate.so", copydir);
    assert_int_equal(mkdir(copydir, 0755), 0);
    assert_int_equal(copy_file(built, copy), 0);
    n = (int)strlen(f->h.sasl_path);
    snprintf(f->h.sasl_path + n, sizeof(f->h.sasl_path) - (size_t)n, ":%s", copydir);
    snprintf(data, sizeof(data), "%s/secrets/data.mdb", f->h.store);
    snprintf(lock, sizeof(lock), "%s/secrets/lock.mdb", f->h.store);
    snprintf(line, sizeof(line), "authgate: another copy of the plugin was loaded first (%s)",
             built);

    for (i = 0; i < 3; i++) {
        harness_log_clear(&f->h);
        assert_int_equal(harness_init(&f->h, APP), SASL_OK);
        if (maps_naming(built) < 1 || maps_naming(copy) < 1)
            fail_msg("cycle %d: got %d mappings of %s and %d of %s, want both loaded", i,
                     maps_naming(built), built, maps_naming(copy), copy);
        assert_int_equal(harness_auth(&f->h, "SCRAM-SHA-256", NULL, "alice@example.com", NULL,
                                      "Al1ce-pw", NULL, NULL, 0),
                         SASL_OK);
        assert_int_equal(harness_auth(&f->h, "CRAM-MD5", NULL, "alice@example.com", NULL,
                                      "wrong-pw", NULL, NULL, 0),
                         SASL_BADAUTH);
        assert_int_equal(harness_auth(&f->h, "PLAIN", NULL, "nobody@example.com", NULL, "Al1ce-pw",
                                      NULL, NULL, 0),
                         SASL_NOUSER);
        if (maps_naming(data) != 1 || fds_on(lock) != 1)
            fail_msg("cycle %d: got %d mappings of %s and %d descriptors on %s, want 1 and 1 "
                     "(one store handle in the process)",
                     i, maps_naming(data), data, fds_on(lock), lock);
        if (count_in(f->h.log, line) != 1)
            fail_msg("cycle %d: got %d lines \"%s\", want 1; log:\n%s", i, count_in(f->h.log, line),
                     line, f->h.log);
        harness_done(&f->h);
        if (maps_naming(data) != 0)
            fail_msg("cycle %d: after sasl_done got %d mappings of %s, want 0", i,
                     maps_naming(data), data);
    }
}

struct thread_arg {
    harness *h;
    int index;
    int failures;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    int i;

    for (i = 0; i < 30; i++) {
        const char *mech = mechs[(size_t)(a->index + i) % NMECHS];
        if (harness_auth(a->h, mech, NULL, "alice@example.com", NULL, "Al1ce-pw", NULL, NULL, 0) !=
            SASL_OK)
            a->failures++;
        if (harness_auth(a->h, mech, NULL, "bob", NULL, "wrong-pw", NULL, NULL, 0) != SASL_BADAUTH)
            a->failures++;
        if (harness_checkpass(NULL, "nobody", "x") != SASL_NOUSER)
            a->failures++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fixture *f = *state;
    pthread_t t[6];
    struct thread_arg a[6];
    int i;

    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    for (i = 0; i < 6; i++) {
        a[i] = (struct thread_arg){&f->h, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &a[i]), 0);
    }
    for (i = 0; i < 6; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        if (a[i].failures != 0)
            fail_msg("thread %d: got %d wrong answers, want 0", i, a[i].failures);
    }
    harness_done(&f->h);
}

/* ------------------------------------------------------------ store side */

static int writable_conf(struct fixture *f, const char *app, int writable)
{
    return harness_conf(&f->h, app,
                        "pwcheck_method: auxprop\nauxprop_plugin: authgate\n"
                        "authgate_store: %s\n%smech_list: %s\n",
                        f->h.store, writable ? "authgate_writable: yes\n" : "", ALL_MECHS);
}

static void test_store_probe(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(writable_conf(f, APP, 0), 0);
    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    assert_int_equal(sasl_auxprop_store(NULL, NULL, NULL), SASL_CONSTRAINT_VIOLAT);
    harness_done(&f->h);

    assert_int_equal(writable_conf(f, APP, 1), 0);
    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    assert_int_equal(sasl_auxprop_store(NULL, NULL, NULL), SASL_OK);
    harness_done(&f->h);
}

static void test_setpass_inprocess(void **state)
{
    struct fixture *f = *state;
    sasl_conn_t *conn = NULL;

    assert_int_equal(writable_conf(f, APP, 1), 0);
    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    assert_int_equal(sasl_server_new("smtp", "mx.test", "example.com", NULL, NULL, NULL, 0, &conn),
                     SASL_OK);
    /* the realm of the connection completes a bare login */
    assert_int_equal(sasl_setpass(conn, "frank", "Fr4nk-pw", 8, NULL, 0, SASL_SET_CREATE), SASL_OK);
    assert_int_equal(teststore_verify(f->h.store, "frank@example.com", "Fr4nk-pw"), AUTHDB_OK);
    /* twice on one connection: libsasl appends, the new password counts */
    assert_int_equal(sasl_setpass(conn, "frank", "N3w-pw", 6, NULL, 0, 0), SASL_OK);
    assert_int_equal(teststore_verify(f->h.store, "frank@example.com", "N3w-pw"), AUTHDB_OK);
    sasl_dispose(&conn);
    /* usable at once by every mechanism the store derives */
    assert_int_equal(
        harness_auth(&f->h, "CRAM-MD5", "example.com", "frank", NULL, "N3w-pw", NULL, NULL, 0),
        SASL_OK);
    assert_int_equal(harness_auth(&f->h, "SCRAM-SHA-1", NULL, "frank@example.com", NULL, "N3w-pw",
                                  NULL, NULL, 0),
                     SASL_OK);
    /* disable = delete */
    assert_int_equal(sasl_server_new("smtp", "mx.test", "example.com", NULL, NULL, NULL, 0, &conn),
                     SASL_OK);
    assert_int_equal(sasl_setpass(conn, "frank", NULL, 0, NULL, 0, SASL_SET_DISABLE), SASL_OK);
    sasl_dispose(&conn);
    assert_int_equal(teststore_has(f->h.store, "frank@example.com", NULL), 0);
    if (!harness_logged(&f->h, "authgate: deleted login frank"))
        fail_msg("log lacks the delete line:\n%s", f->h.log);
    harness_done(&f->h);
}

static void test_saslpasswd2(void **state)
{
    struct fixture *f = *state;
    char *create[] = {HARNESS_SASLPASSWD2, "-p", "-c", "-u", "example.com", "frank", NULL};
    char *change[] = {HARNESS_SASLPASSWD2, "-p", "frank@example.com", NULL};
    char *del[] = {HARNESS_SASLPASSWD2, "-d", "-u", "example.com", "frank", NULL};
    char *del_missing[] = {HARNESS_SASLPASSWD2, "-d", "nosuch", NULL};
    char out[4096];
    int rc;

    /* read-only install: refused, nothing written */
    assert_int_equal(writable_conf(f, "saslpasswd", 0), 0);
    rc = harness_run(&f->h, create, "Fr4nk-pw", out, sizeof(out));
    if (rc == 0 || teststore_has(f->h.store, "frank@example.com", NULL) != 0)
        fail_msg("saslpasswd2 -c on a read-only install: got exit %d (%s), want failure and no "
                 "login",
                 rc, out);

    /* writable: -c creates with the store's mechanisms (the cmusaslsecret
     * wipe saslpasswd2 sends afterwards must not undo them) */
    assert_int_equal(writable_conf(f, "saslpasswd", 1), 0);
    rc = harness_run(&f->h, create, "Fr4nk-pw", out, sizeof(out));
    if (rc != 0)
        fail_msg("saslpasswd2 -c: got exit %d (%s), want 0", rc, out);
    assert_int_equal(teststore_verify(f->h.store, "frank@example.com", "Fr4nk-pw"), AUTHDB_OK);
    assert_int_equal(harness_init(&f->h, APP), SASL_OK);
    assert_int_equal(
        harness_auth(&f->h, "CRAM-MD5", NULL, "frank@example.com", NULL, "Fr4nk-pw", NULL, NULL, 0),
        SASL_OK);
    assert_int_equal(
        harness_auth(&f->h, "PLAIN", NULL, "frank@example.com", NULL, "Fr4nk-pw", NULL, NULL, 0),
        SASL_OK);

    /* change (login with its domain, no -u) */
    rc = harness_run(&f->h, change, "N3w-pw", out, sizeof(out));
    if (rc != 0)
        fail_msg("saslpasswd2 (change): got exit %d (%s), want 0", rc, out);
    assert_int_equal(
        harness_auth(&f->h, "DIGEST-MD5", NULL, "frank@example.com", NULL, "N3w-pw", NULL, NULL, 0),
        SASL_OK);

    /* -d deletes; deleting an unknown login says so */
    rc = harness_run(&f->h, del, NULL, out, sizeof(out));
    if (rc != 0)
        fail_msg("saslpasswd2 -d: got exit %d (%s), want 0", rc, out);
    assert_int_equal(teststore_has(f->h.store, "frank@example.com", NULL), 0);
    assert_int_equal(
        harness_auth(&f->h, "CRAM-MD5", NULL, "frank@example.com", NULL, "N3w-pw", NULL, NULL, 0),
        SASL_NOUSER);
    rc = harness_run(&f->h, del_missing, NULL, out, sizeof(out));
    if (rc == 0 || strstr(out, "user not found") == NULL)
        fail_msg("saslpasswd2 -d nosuch: got exit %d (%s), want failure \"user not found\"", rc,
                 out);
    harness_done(&f->h);
}

/* Installed beside sasldb, the plugin must not disturb an application that
 * uses sasldb without naming an auxprop plugin: its store probe, its
 * stores and its lookups go on as if authgate were not there. */
static void test_inert_beside_sasldb(void **state)
{
    struct fixture *f = *state;
    char sasldb[PATH_MAX + 16];
    char *create[] = {HARNESS_SASLPASSWD2, "-p", "-c", "-f", sasldb, "-u", "mx.test", "sam", NULL};
    char *viewer[] = {HARNESS_VIEWER, "-a", NULL};
    char out[8192];
    int rc;

    snprintf(sasldb, sizeof(sasldb), "%s/sasldb2", f->h.root);
    assert_int_equal(harness_conf(&f->h, "saslpasswd", "# nothing: sasldb defaults\n"), 0);
    rc = harness_run(&f->h, create, "S4m-pw", out, sizeof(out));
    if (rc != 0)
        fail_msg("saslpasswd2 -c -f sasldb with authgate loaded: got exit %d (%s), want 0", rc,
                 out);
    assert_int_equal(teststore_has(f->h.store, "sam", NULL), 0);
    assert_int_equal(teststore_has(f->h.store, "sam@mx.test", NULL), 0);

    assert_int_equal(harness_conf(&f->h, "other-app", "sasldb_path: %s\n", sasldb), 0);
    assert_int_equal(harness_init(&f->h, "other-app"), SASL_OK);
    assert_int_equal(harness_checkpass(NULL, "sam", "S4m-pw"), SASL_OK);
    assert_int_equal(harness_auth(&f->h, "CRAM-MD5", NULL, "sam", NULL, "S4m-pw", NULL, NULL, 0),
                     SASL_OK);
    /* and an authgate login is not accepted by that application */
    assert_int_equal(harness_checkpass(NULL, "bob", "B0b-pw"), SASL_NOUSER);
    harness_done(&f->h);

    /* saslpluginviewer lists the plugin, with store support */
    rc = harness_run(&f->h, viewer, NULL, out, sizeof(out));
    if (rc != 0 || strstr(out, "Plugin \"authgate\"") == NULL)
        fail_msg("saslpluginviewer -a: got exit %d and\n%s\nwant 0 and Plugin \"authgate\"", rc,
                 out);
}

/* Three groups, so that a missing precondition is a meson "skip" (exit 77)
 * for the tests that need it rather than a silent pass:
 *   core   (no argument) everything that needs only libsasl2 and a store
 *   root   chroot, setuid: needs root
 *   tools  saslpasswd2, saslpluginviewer, the stock sasldb plugin */
int main(int argc, char **argv)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest core[] = {
        T(test_every_mechanism),     T(test_logins_realms_case),
        T(test_secret_kinds),        T(test_checkpass_and_authzid),
        T(test_store_missing),       T(test_store_corrupt),
        T(test_store_not_a_store),   T(test_config_error),
        T(test_store_appears_later), T(test_changes_without_reinit),
        T(test_fork_per_connection), T(test_init_done_cycles),
        T(test_two_copies),          T(test_threads),
        T(test_store_probe),         T(test_setpass_inprocess),
    };
    const struct CMUnitTest root[] = {
        T(test_store_unreadable),
        T(test_init_then_chroot),
    };
    const struct CMUnitTest tools[] = {
        T(test_saslpasswd2),
        T(test_inert_beside_sasldb),
    };
#undef T
    const char *group = argc > 1 ? argv[1] : "core";
    const char *missing;
    int rc = 2;

    if (strcmp(group, "core") == 0) {
        rc = cmocka_run_group_tests_name("plugin-sasl", core, NULL, NULL);
    } else if (strcmp(group, "root") == 0) {
        if (geteuid() != 0) {
            printf("skipped: needs root (chroot, setuid, a store root can read but nobody "
                   "cannot)\n");
            rc = 77;
        } else {
            rc = cmocka_run_group_tests_name("plugin-sasl-root", root, NULL, NULL);
        }
    } else if (strcmp(group, "tools") == 0) {
        missing = harness_tools_missing();
        if (missing != NULL) {
            printf("skipped: %s is missing (packages sasl2-bin, libsasl2-modules-db)\n", missing);
            rc = 77;
        } else {
            rc = cmocka_run_group_tests_name("plugin-sasl-tools", tools, NULL, NULL);
        }
    } else {
        fprintf(stderr, "usage: %s [core|root|tools]\n", argv[0]);
    }
    return rc;
}
