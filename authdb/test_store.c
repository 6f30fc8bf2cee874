/*
 * test_store.c - the store against real LMDB environments in temp dirs:
 * create/open diagnostics, file modes, users, verification, send-as
 * decisions, domains, settings, map growth, corruption, backup, check, fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "authdb.h"
#include "authdb_private.h" /* store_test_stop_after_first_commit, JOURNAL_* */
#include "tu.h"

/* ------------------------------------------------------------- create/open */

static void test_create_modes(void **state)
{
    (void)state;
    char dir[256], p[512];
    mode_t old = umask(0);

    tu_tmpdir(dir, sizeof(dir));
    strcat(dir, "/store");
    assert_int_equal(authdb_create(dir, NULL, NULL, 0), AUTHDB_OK);
    umask(old);
    snprintf(p, sizeof(p), "%s", dir);
    assert_int_equal(tu_mode(p), 0755);
    snprintf(p, sizeof(p), "%s/secrets", dir);
    assert_int_equal(tu_mode(p), 0750);
    snprintf(p, sizeof(p), "%s/secrets/data.mdb", dir);
    assert_int_equal(tu_mode(p), 0640);
    snprintf(p, sizeof(p), "%s/secrets/lock.mdb", dir);
    assert_int_equal(tu_mode(p), 0660);
    snprintf(p, sizeof(p), "%s/policy", dir);
    assert_int_equal(tu_mode(p), 0750);
    snprintf(p, sizeof(p), "%s/policy/data.mdb", dir);
    assert_int_equal(tu_mode(p), 0640);
    snprintf(p, sizeof(p), "%s/policy/lock.mdb", dir);
    assert_int_equal(tu_mode(p), 0660);
    /* a second create is refused and leaves the store intact */
    char why[AUTHDB_WHY_MAX];
    assert_int_equal(authdb_create(dir, NULL, why, sizeof(why)), AUTHDB_EEXIST);
    assert_non_null(strstr(why, "already"));
    authdb *h;
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH, &h, why, sizeof(why)), AUTHDB_OK);
    authdb_close(h);
}

static void test_open_errors(void **state)
{
    (void)state;
    char dir[256], p[512], why[AUTHDB_WHY_MAX];
    authdb *h = (authdb *)1;

    tu_tmpdir(dir, sizeof(dir));
    /* missing: ENOSTORE naming the path, and nothing created */
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &h, why, sizeof(why)), AUTHDB_ENOSTORE);
    assert_null(h);
    assert_non_null(strstr(why, dir));
    assert_int_equal(tu_count_entries(dir), 0);
    snprintf(p, sizeof(p), "%s/secrets", dir);
    mkdir(p, 0700);
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &h, why, sizeof(why)), AUTHDB_ENOSTORE);
    assert_int_equal(tu_count_entries(p), 0);

    /* foreign: a valid LMDB env that is not ours */
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_val k = {1, "x"}, v = {1, "y"};
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, p, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
    assert_int_equal(mdb_dbi_open(t, NULL, 0, &dbi), 0);
    assert_int_equal(mdb_put(t, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    mdb_env_close(env);
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &h, why, sizeof(why)), AUTHDB_EFOREIGN);
    assert_non_null(strstr(why, "not an authgate"));

    /* invalid flags */
    assert_int_equal(authdb_open(dir, 0, &h, why, sizeof(why)), AUTHDB_EINVAL);
}

static void test_newer_schema(void **state)
{
    (void)state;
    char dir[256], p[512], why[AUTHDB_WHY_MAX];
    authdb *h;

    tu_new_store(dir, sizeof(dir), NULL);
    snprintf(p, sizeof(p), "%s/policy", dir);
    tu_raw_meta_put(p, "schema", "\x07\0\0\0", 4);
    assert_int_equal(authdb_open(dir, AUTHDB_POLICY, &h, why, sizeof(why)), AUTHDB_ENEWER);
    assert_non_null(strstr(why, "schema 7 is newer"));
    assert_true(authdb_is_tempfail(AUTHDB_ENEWER));
    /* the other env still opens */
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &h, why, sizeof(why)), AUTHDB_OK);
    authdb_close(h);
}

/* A store migrated in place to a newer schema while a reader has it open:
 * the reader's next transaction sees the new transaction id, checks the
 * schema again and fails temporarily from then on. */
static void test_newer_schema_while_open(void **state)
{
    (void)state;
    char dir[256], p[512];
    authdb *w, *r;
    authdb_verdict v;
    const char *why = NULL;

    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &w, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_bulk_users(w, 0, 10), AUTHDB_OK);
    authdb_close(w);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH, &r, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_lookup_bulk(r, 3), AUTHDB_OK);
    assert_int_equal(authdb_sender_check(r, NULL, "a@b.test", 8, "a@b.test", 8, &v, &why),
                     AUTHDB_OK);
    snprintf(p, sizeof(p), "%s/secrets", dir);
    tu_raw_meta_put(p, "schema", "\x02\0\0\0", 4);
    assert_int_equal(tu_lookup_bulk(r, 3), AUTHDB_ENEWER);
    assert_int_equal(tu_lookup_bulk(r, 4), AUTHDB_ENEWER);
    /* policy was not migrated: its answers stand */
    assert_int_equal(authdb_sender_check(r, NULL, "a@b.test", 8, "a@b.test", 8, &v, &why),
                     AUTHDB_OK);
    snprintf(p, sizeof(p), "%s/policy", dir);
    tu_raw_meta_put(p, "schema", "\x02\0\0\0", 4);
    assert_int_equal(authdb_sender_check(r, NULL, "a@b.test", 8, "a@b.test", 8, &v, &why),
                     AUTHDB_ENEWER);
    authdb_close(r);
}

/* Group ownership whatever the umask; a reader needs only the group: a
 * process in the secrets group (and not the owner) reads secrets, a process
 * in neither group opens nothing (the milter's user must not read secrets).
 * Needs root to change groups and users: skipped otherwise. */
static int open_as(const char *dir, unsigned flags, gid_t gid)
{
    pid_t pid = fork();
    int st;

    if (pid == 0) {
        authdb *h;
        char why[AUTHDB_WHY_MAX];
        int rc;
        if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(65534) != 0)
            _exit(100);
        rc = authdb_open(dir, flags, &h, why, sizeof(why));
        if (rc != AUTHDB_OK && getenv("TU_DEBUG") != NULL)
            fprintf(stderr, "open_as: %s\n", why);
        if (rc == AUTHDB_OK) {
            if (flags & AUTHDB_SECRETS)
                rc = authdb_verify_password(h, "henry", 5, "pw", 2);
            authdb_close(h);
        }
        _exit(rc == AUTHDB_OK ? 0 : rc == AUTHDB_EPERM ? 13 : 1);
    }
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_groups_and_access(void **state)
{
    (void)state;
    char dir[256], p[512];
    struct group *g = NULL;
    gid_t sec_gid = 0, pol_gid = 0; /* getgrnam's result is overwritten by the next call */
    authdb *h;
    mode_t old;

    if (getuid() != 0 || (g = getgrnam("mail")) == NULL)
        skip();
    sec_gid = g->gr_gid;
    if ((g = getgrnam("daemon")) == NULL)
        skip();
    pol_gid = g->gr_gid;
    tu_tmpdir(dir, sizeof(dir));
    chmod(dir, 0755);
    strcat(dir, "/store");
    authdb_create_opts o = {sec_gid, pol_gid, 0, NULL};
    old = umask(077);
    assert_int_equal(authdb_create(dir, &o, NULL, 0), AUTHDB_OK);
    umask(old);
    snprintf(p, sizeof(p), "%s/secrets/lock.mdb", dir);
    assert_int_equal(tu_mode(p), 0660);
    assert_int_equal(tu_gid(p), (int)sec_gid);
    snprintf(p, sizeof(p), "%s/secrets", dir);
    assert_int_equal(tu_gid(p), (int)sec_gid);
    snprintf(p, sizeof(p), "%s/policy/data.mdb", dir);
    assert_int_equal(tu_gid(p), (int)pol_gid);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_user(h, "henry", "pw", AUTHDB_PUT_CREATE), AUTHDB_OK);
    authdb_close(h);
    /* nobody + secrets group: reads secrets, cannot write, cannot read policy */
    assert_int_equal(open_as(dir, AUTHDB_SECRETS, sec_gid), 0);
    assert_int_equal(open_as(dir, AUTHDB_SECRETS | AUTHDB_WRITE, sec_gid), 13);
    assert_int_equal(open_as(dir, AUTHDB_POLICY, sec_gid), 13);
    /* nobody + policy group (the milter): policy yes, secrets never */
    assert_int_equal(open_as(dir, AUTHDB_POLICY, pol_gid), 0);
    assert_int_equal(open_as(dir, AUTHDB_SECRETS, pol_gid), 13);
}

/* ------------------------------------------------------------------ users */

static void test_users_and_verify(void **state)
{
    (void)state;
    char dir[256];
    authdb *h, *r;
    authdb_secrets *s;
    authdb_user u;
    const void *val;
    size_t len;

    tu_new_store(dir, sizeof(dir),
                 (const char *const[]){"mechanisms", "SCRAM-SHA-256 CRAM-MD5", NULL});
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_user(h, "Alice@Example.ORG", "correct horse", AUTHDB_PUT_CREATE),
                     AUTHDB_OK);
    assert_int_equal(tu_add_user(h, "alice@example.org", "x", AUTHDB_PUT_CREATE), AUTHDB_EEXIST);
    assert_int_equal(tu_add_user(h, "nobody@example.org", "x", AUTHDB_PUT_REPLACE),
                     AUTHDB_NOTFOUND);

    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &r, NULL, 0), AUTHDB_OK);
    /* tri-state lookups */
    assert_int_equal(authdb_secrets_lookup(r, "ALICE@example.org", 17, &s), AUTHDB_OK);
    assert_int_equal(authdb_secrets_kinds(s), (1u << AUTHDB_SECRET_HASH) |
                                                  (1u << AUTHDB_SECRET_SCRAM_SHA256) |
                                                  (1u << AUTHDB_SECRET_CRAM_MD5));
    assert_int_equal(authdb_secrets_value(s, AUTHDB_SECRET_SCRAM_SHA256, &val, &len), AUTHDB_OK);
    assert_memory_equal(val, "SCRAM-SHA-256$4096:", 19);
    assert_int_equal(authdb_secrets_value(s, AUTHDB_SECRET_CRAM_MD5, &val, &len), AUTHDB_OK);
    assert_int_equal(len, 32);
    assert_int_equal(authdb_secrets_value(s, AUTHDB_SECRET_CLEARTEXT, &val, &len), AUTHDB_NOTFOUND);
    authdb_secrets_free(s);
    assert_int_equal(authdb_secrets_lookup(r, "bob@example.org", 15, &s), AUTHDB_NOTFOUND);
    assert_null(s);
    assert_int_equal(authdb_secrets_lookup(r, "bad login@", 10, &s), AUTHDB_EINVAL);

    /* verification */
    assert_int_equal(authdb_verify_password(r, "alice@example.org", 17, "correct horse", 13),
                     AUTHDB_OK);
    assert_int_equal(authdb_verify_password(r, "alice@example.org", 17, "correct horsE", 13),
                     AUTHDB_EMISMATCH);
    assert_int_equal(authdb_verify_password(r, "alice@example.org", 17, "correct", 7),
                     AUTHDB_EMISMATCH);
    assert_int_equal(authdb_verify_password(r, "bob@example.org", 15, "correct horse", 13),
                     AUTHDB_NOTFOUND);
    assert_int_equal(authdb_verify_password(r, "alice@example.org", 17, "a\0b", 3),
                     AUTHDB_EMISMATCH);

    /* disabled: both passwords give EDISABLED, the data stays */
    assert_int_equal(tu_set_flags(h, "alice@example.org", AUTHDB_USER_DISABLED, 0), AUTHDB_OK);
    assert_int_equal(authdb_verify_password(r, "alice@example.org", 17, "correct horse", 13),
                     AUTHDB_EDISABLED);
    assert_int_equal(authdb_verify_password(r, "alice@example.org", 17, "wrong", 5),
                     AUTHDB_EDISABLED);
    assert_int_equal(authdb_user_get(r, NULL, "alice@example.org", 17, &u), AUTHDB_OK);
    assert_true(u.flags & AUTHDB_USER_DISABLED);
    assert_string_equal(u.hash_scheme, "yescrypt");
    assert_string_equal(u.login, "alice@example.org");
    assert_int_equal(tu_set_flags(h, "alice@example.org", 0, AUTHDB_USER_DISABLED), AUTHDB_OK);
    assert_int_equal(authdb_verify_password(r, "alice@example.org", 17, "correct horse", 13),
                     AUTHDB_OK);

    /* a password change is visible at once to an open reader */
    assert_int_equal(tu_add_user(h, "alice@example.org", "new pass", AUTHDB_PUT_REPLACE),
                     AUTHDB_OK);
    assert_int_equal(authdb_verify_password(r, "alice@example.org", 17, "new pass", 8), AUTHDB_OK);
    assert_int_equal(authdb_verify_password(r, "alice@example.org", 17, "correct horse", 13),
                     AUTHDB_EMISMATCH);

    /* a read-only handle cannot write */
    assert_int_equal(tu_add_user(r, "carol", "x", AUTHDB_PUT_CREATE), AUTHDB_ERDONLY);
    authdb_close(r);
    authdb_close(h);
}

static void test_imported_hash(void **state)
{
    (void)state;
    char dir[256];
    authdb *h;
    authdb_secrets *s;
    /* openssl passwd -6 -salt saltsalt secret */
    const char *sha512 =
        "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq."
        "H91p5hVO1";
    const char *bad[] = {"", "$6$", "plain text", "$6$salt$short\n", "$zz$abc", NULL};

    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_secrets_from_hash(sha512, &s), AUTHDB_OK);
    assert_int_equal(tu_put(h, "dave", s, AUTHDB_PUT_CREATE), AUTHDB_OK);
    authdb_secrets_free(s);
    /* a set without a hash is refused (every stored login has one) */
    unsigned char st[32] = {0};
    assert_int_equal(authdb_secrets_new(&s), AUTHDB_OK);
    assert_int_equal(authdb_secrets_add(s, AUTHDB_SECRET_CRAM_MD5, st, 32, NULL), AUTHDB_OK);
    assert_int_equal(tu_put(h, "nohash", s, AUTHDB_PUT_CREATE), AUTHDB_EINVAL);
    authdb_secrets_free(s);
    assert_int_equal(authdb_verify_password(h, "dave", 4, "secret", 6), AUTHDB_OK);
    assert_int_equal(authdb_verify_password(h, "dave", 4, "Secret", 6), AUTHDB_EMISMATCH);
    for (int i = 0; bad[i] != NULL; i++) {
        s = (authdb_secrets *)1;
        int rc = authdb_secrets_from_hash(bad[i], &s);
        if (rc == AUTHDB_OK)
            print_error("hash \"%s\" accepted, want refused\n", bad[i]);
        assert_int_not_equal(rc, AUTHDB_OK);
        assert_null(s);
    }
    authdb_close(h);
}

/* ------------------------------------------------------------- send-as */

struct rcase {
    const char *login, *address;
    int allowed;
    const char *rule; /* deciding pattern, "" for none */
};

static void test_sender_rules(void **state)
{
    (void)state;
    char dir[256];
    authdb *h, *r;
    static const struct rcase cases[] = {
        /* implicit self, with subaddress and case */
        {"alice@example.org", "alice@example.org", 1, "alice@example.org"},
        {"alice@example.org", "Alice+news@EXAMPLE.org", 1, "alice@example.org"},
        {"alice@example.org", "bob@example.org", 0, ""},
        /* explicit address rule */
        {"alice@example.org", "sales@example.org", 1, "sales@example.org"},
        {"alice@example.org", "sales+x@example.org", 1, "sales@example.org"},
        /* domain rule: exact domain only */
        {"bob@example.org", "anyone@shop.example", 1, "@shop.example"},
        {"bob@example.org", "anyone@sub.shop.example", 0, ""},
        {"bob@example.org", "ceo@shop.example", 0, "ceo@shop.example"}, /* deny more specific */
        /* IDN: rule given as U-label matches A-label address */
        {"bob@example.org", "x@xn--bcher-kva.example", 1, "@xn--bcher-kva.example"},
        /* catch-all with a domain deny */
        {"relay", "x@anywhere.test", 1, "*"},
        {"relay", "x@blocked.test", 0, "@blocked.test"},
        /* deny of self removes the implicit allow */
        {"carol@example.org", "carol@example.org", 0, "carol@example.org"},
        /* bare login: no implicit self */
        {"dave", "dave@example.org", 0, ""},
        /* equal specificity: deny wins over allow (set by rule order below) */
        {"erin@example.org", "x@both.test", 0, "@both.test"},
    };
    struct tu_rule rules[] = {
        {"alice@example.org", AUTHDB_ALLOW, "sales@example.org"},
        {"bob@example.org", AUTHDB_ALLOW, "@shop.example"},
        {"bob@example.org", AUTHDB_DENY, "ceo@shop.example"},
        {"bob@example.org", AUTHDB_ALLOW, "@bücher.example"},
        {"relay", AUTHDB_ALLOW, "*"},
        {"relay", AUTHDB_DENY, "@blocked.test"},
        {"carol@example.org", AUTHDB_DENY, "carol@example.org"},
        {"erin@example.org", AUTHDB_ALLOW, "@both.test"},
        {"erin@example.org", AUTHDB_DENY, "@both.test"}, /* replaces the allow */
        {NULL, 0, NULL},
    };
    int failures = 0;

    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_rules(h, rules), AUTHDB_OK);
    assert_int_equal(authdb_open(dir, AUTHDB_POLICY, &r, NULL, 0), AUTHDB_OK);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        authdb_verdict v;
        const char *why = NULL;
        int rc = authdb_sender_check(r, NULL, cases[i].login, (size_t)-1, cases[i].address,
                                     (size_t)-1, &v, &why);
        if (rc != AUTHDB_OK) {
            print_error("case %zu %s -> %s: rc %s (%s)\n", i, cases[i].login, cases[i].address,
                        authdb_strerror(rc), why ? why : "-");
            failures++;
            continue;
        }
        const char *got = v.matched ? v.rule.pattern : "";
        if (v.allowed != cases[i].allowed || strcmp(got, cases[i].rule) != 0) {
            print_error("case %zu %s -> %s: got allowed=%d rule \"%s\", want allowed=%d rule "
                        "\"%s\"\n",
                        i, cases[i].login, cases[i].address, v.allowed, got, cases[i].allowed,
                        cases[i].rule);
            failures++;
        }
    }
    assert_int_equal(failures, 0);

    /* malformed address: EINVAL with a reason, not a verdict */
    authdb_verdict v;
    const char *why = NULL;
    assert_int_equal(
        authdb_sender_check(r, NULL, "alice@example.org", (size_t)-1, "a@@b", (size_t)-1, &v, &why),
        AUTHDB_EINVAL);
    assert_non_null(why);

    /* reverse: who may use sales@example.org / x@shop.example */
    char list[1024];
    /* an address is its own user only when that login exists */
    assert_int_equal(tu_senders(r, "sales@example.org", list, sizeof(list)), AUTHDB_OK);
    assert_string_equal(list, "alice@example.org,relay");
    assert_int_equal(tu_add_user(h, "sales@example.org", "pw", AUTHDB_PUT_CREATE), AUTHDB_OK);
    assert_int_equal(tu_senders(r, "Sales+x@example.org", list, sizeof(list)), AUTHDB_OK);
    assert_string_equal(list, "alice@example.org,relay,sales@example.org");
    assert_int_equal(tu_del_user(h, "sales@example.org"), AUTHDB_OK);
    assert_int_equal(tu_senders(r, "sales@example.org", list, sizeof(list)), AUTHDB_OK);
    assert_string_equal(list, "alice@example.org,relay");
    /* a secrets-only write handle cannot create logins (the policy must
     * learn that the login exists) */
    authdb *so;
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS | AUTHDB_WRITE, &so, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_user(so, "x@example.org", "pw", AUTHDB_PUT_CREATE), AUTHDB_ENOENV);
    authdb_close(so);
    assert_int_equal(tu_senders(r, "ceo@shop.example", list, sizeof(list)), AUTHDB_OK);
    assert_string_equal(list, "relay"); /* ceo@shop.example is not a login */
    assert_int_equal(tu_senders(r, "carol@example.org", list, sizeof(list)), AUTHDB_OK);
    assert_string_equal(list, "relay");

    /* self_send = no */
    assert_int_equal(tu_setting(h, "self_send", "no"), AUTHDB_OK);
    assert_int_equal(authdb_sender_check(r, NULL, "alice@example.org", (size_t)-1,
                                         "alice@example.org", (size_t)-1, &v, NULL),
                     AUTHDB_OK);
    assert_false(v.allowed);

    /* user del removes the login's rules (both envs) */
    assert_int_equal(tu_del_user(h, "bob@example.org"), AUTHDB_OK);
    assert_int_equal(authdb_sender_check(r, NULL, "bob@example.org", (size_t)-1,
                                         "anyone@shop.example", (size_t)-1, &v, NULL),
                     AUTHDB_OK);
    assert_false(v.allowed);
    assert_int_equal(tu_del_user(h, "bob@example.org"), AUTHDB_NOTFOUND);
    authdb_close(r);
    authdb_close(h);
}

static void test_domains_and_settings(void **state)
{
    (void)state;
    char dir[256], val[AUTHDB_SETTING_MAX + 1];
    authdb *h, *r;
    const char *why;
    char canon[256];

    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_domain(h, "Example.ORG", 1), AUTHDB_OK);
    assert_int_equal(tu_domain(h, "bücher.example", 1), AUTHDB_OK);
    assert_int_equal(tu_domain(h, "example.org", 1), AUTHDB_EEXIST);
    assert_int_equal(authdb_open(dir, AUTHDB_POLICY, &r, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_domain_is_local(r, NULL, "EXAMPLE.org", (size_t)-1), AUTHDB_OK);
    assert_int_equal(authdb_domain_is_local(r, NULL, "xn--bcher-kva.example", (size_t)-1),
                     AUTHDB_OK);
    assert_int_equal(authdb_domain_is_local(r, NULL, "sub.example.org", (size_t)-1),
                     AUTHDB_NOTFOUND);
    assert_int_equal(tu_domain(h, "example.org", 0), AUTHDB_OK);
    assert_int_equal(authdb_domain_is_local(r, NULL, "example.org", (size_t)-1), AUTHDB_NOTFOUND);
    assert_int_equal(tu_domain(h, "example.org", 0), AUTHDB_NOTFOUND);

    /* settings: defaults, canonical values, errors */
    assert_int_equal(authdb_setting_get(h, NULL, "mechanisms", val, sizeof(val)), AUTHDB_OK);
    assert_string_equal(val, "SCRAM-SHA-256 SCRAM-SHA-1");
    assert_int_equal(authdb_setting_check("mechanisms", "cram-md5,scram-sha-1 CRAM-MD5", canon,
                                          sizeof(canon), &why),
                     AUTHDB_OK);
    assert_string_equal(canon, "SCRAM-SHA-1 CRAM-MD5");
    assert_int_equal(authdb_setting_check("mechanisms", "GSSAPI", canon, sizeof(canon), &why),
                     AUTHDB_EINVAL);
    assert_int_equal(authdb_setting_check("scram_iterations", "4095", canon, sizeof(canon), &why),
                     AUTHDB_EINVAL);
    assert_int_equal(authdb_setting_check("nosuch", "1", canon, sizeof(canon), &why),
                     AUTHDB_NOTFOUND);
    assert_int_equal(tu_setting(h, "scram_iterations", "8192"), AUTHDB_OK);
    authdb_derive_params p;
    assert_int_equal(authdb_derive_params_get(h, NULL, &p), AUTHDB_OK);
    assert_int_equal(p.scram_iterations, 8192);
    assert_int_equal(p.mechs, AUTHDB_MECH_SCRAM_SHA256 | AUTHDB_MECH_SCRAM_SHA1);
    assert_string_equal(p.password_hash, "yescrypt");
    /* a login's own override */
    assert_int_equal(tu_add_user(h, "ovr", "pw", AUTHDB_PUT_CREATE), AUTHDB_OK);
    assert_int_equal(tu_set_mechs(h, "ovr", AUTHDB_MECH_CRAM_MD5), AUTHDB_OK);
    assert_int_equal(authdb_derive_params_for(h, NULL, "ovr", 3, &p), AUTHDB_OK);
    assert_int_equal(p.mechs, AUTHDB_MECH_CRAM_MD5);
    assert_int_equal(p.scram_iterations, 8192);
    assert_int_equal(authdb_derive_params_for(h, NULL, "nosuch", 6, &p), AUTHDB_OK);
    assert_int_equal(p.mechs, AUTHDB_MECH_SCRAM_SHA256 | AUTHDB_MECH_SCRAM_SHA1);
    assert_int_equal(tu_del_user(h, "ovr"), AUTHDB_OK);
    /* local_part_case: allowed while empty, in both envs; refused once used */
    assert_int_equal(tu_setting(h, "local_part_case", "sensitive"), AUTHDB_OK);
    authdb_norm n;
    assert_int_equal(authdb_norm_get(r, NULL, &n), AUTHDB_OK);
    assert_true(n.case_sensitive);
    assert_int_equal(tu_add_user(h, "Mixed", "pw", AUTHDB_PUT_CREATE), AUTHDB_OK);
    assert_int_equal(authdb_verify_password(h, "mixed", 5, "pw", 2), AUTHDB_NOTFOUND);
    assert_int_equal(tu_setting(h, "local_part_case", "insensitive"), AUTHDB_EBUSY);
    authdb_close(r);
    authdb_close(h);
}

/* ------------------------------------------------------- growth, corruption */

static void test_map_growth(void **state)
{
    (void)state;
    char dir[256];
    authdb *h, *r;
    authdb_create_opts o = {(gid_t)-1, (gid_t)-1, 1 << 20, NULL};
    authdb_stats st;

    tu_tmpdir(dir, sizeof(dir));
    strcat(dir, "/s");
    assert_int_equal(authdb_create(dir, &o, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &r, NULL, 0), AUTHDB_OK);
    /* a reader opened on the small map must follow the growth */
    assert_int_equal(tu_bulk_users(h, 0, 20000), AUTHDB_OK);
    assert_int_equal(authdb_get_stats(h, &st), AUTHDB_OK);
    assert_int_equal(st.users, 20000);
    assert_true(st.secrets_map_size > (1u << 20));
    for (int i = 0; i < 20000; i += 997)
        assert_int_equal(tu_lookup_bulk(r, i), AUTHDB_OK);
    assert_int_equal(tu_lookup_bulk(r, 20001), AUTHDB_NOTFOUND);
    authdb_close(r);
    authdb_close(h);
}

static void test_corrupt_record(void **state)
{
    (void)state;
    char dir[256], p[512];
    authdb *h;
    authdb_secrets *s;
    authdb_user u;

    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_user(h, "eve", "pw", AUTHDB_PUT_CREATE), AUTHDB_OK);
    authdb_close(h);
    snprintf(p, sizeof(p), "%s/secrets", dir);
    tu_raw_put(p, "users", "eve", "\x01\x00garbage", 9);
    tu_raw_put(p, "users", "ver9",
               "\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
               "\x00\x00\x00\x00\x00\x00",
               20);
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &h, NULL, 0), AUTHDB_OK);
    /* a corrupt record is a temporary failure: never "no such user", never a pass */
    assert_int_equal(authdb_secrets_lookup(h, "eve", 3, &s), AUTHDB_ECORRUPT);
    assert_true(authdb_is_tempfail(AUTHDB_ECORRUPT));
    assert_int_equal(authdb_verify_password(h, "eve", 3, "pw", 2), AUTHDB_ECORRUPT);
    assert_int_equal(authdb_secrets_lookup(h, "ver9", 4, &s), AUTHDB_ECORRUPT);
    assert_int_equal(authdb_user_get(h, NULL, "eve", 3, &u), AUTHDB_ECORRUPT);
    authdb_close(h);
}

/* A truncated data.mdb (a bad restore, cp over a live store) is a
 * temporary failure with a sentence, at open and for a handle opened
 * before the truncation, never a SIGBUS in the reader. */
static void test_truncated(void **state)
{
    (void)state;
    char dir[256], p[512], why[AUTHDB_WHY_MAX];
    authdb *h, *early;
    authdb_secrets *s = NULL;
    struct stat st;

    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_bulk_users(h, 0, 3000), AUTHDB_OK);
    authdb_close(h);
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &early, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_lookup_bulk(early, 2999), AUTHDB_OK);
    snprintf(p, sizeof(p), "%s/secrets/data.mdb", dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(truncate(p, st.st_size / 2), 0);

    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &h, why, sizeof(why)), AUTHDB_ECORRUPT);
    assert_null(h);
    assert_non_null(strstr(why, "data.mdb: truncated"));
    assert_true(authdb_is_tempfail(AUTHDB_ECORRUPT));
    /* the handle opened before: once a coarse clock tick has passed since
     * its last check (store.c, env_size_recheck), every lookup fails
     * temporarily */
    {
        struct timespec res, nap;
        clock_getres(CLOCK_MONOTONIC_COARSE, &res);
        nap.tv_sec = 0;
        nap.tv_nsec = 2 * (res.tv_sec > 0 ? 500000000L : res.tv_nsec) + 1000000L;
        nanosleep(&nap, NULL);
    }
    for (int i = 0; i < 3000; i += 101)
        assert_int_equal(tu_lookup_bulk(early, (unsigned)i), AUTHDB_ECORRUPT);
    assert_int_equal(authdb_secrets_lookup(early, "nobody", 6, &s), AUTHDB_ECORRUPT);
    assert_null(s);
    assert_int_equal(authdb_verify_password(early, "user1@bulk.test", 15, "x", 1), AUTHDB_ECORRUPT);
    authdb_close(early);
}

/* ------------------------------------------------------- backup and check */

struct check_out {
    int warn, error;
    char last[1024], lasterr[1024], lastwarn[1024];
};

static void check_cb(enum authdb_check_severity sev, const char *msg, void *arg)
{
    struct check_out *o = arg;
    if (sev == AUTHDB_CHECK_ERROR) {
        o->error++;
        snprintf(o->lasterr, sizeof(o->lasterr), "%s", msg);
    } else {
        o->warn++;
        if (strstr(msg, "frank") != NULL)
            snprintf(o->lastwarn, sizeof(o->lastwarn), "%s", msg);
    }
    snprintf(o->last, sizeof(o->last), "%s", msg);
}

static void test_backup_and_check(void **state)
{
    (void)state;
    char dir[256], dest[300], p[512];
    authdb *h, *b;
    struct check_out co = {0};
    struct tu_rule rules[] = {{"ghost@example.org", AUTHDB_ALLOW, "@example.org"}, {NULL, 0, NULL}};
    mode_t old;

    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_user(h, "frank", "pw", AUTHDB_PUT_CREATE), AUTHDB_OK);
    assert_int_equal(authdb_check(h, check_cb, &co), AUTHDB_OK);
    assert_int_equal(co.error + co.warn, 0);
    /* orphan rules: a warning naming the login */
    assert_int_equal(tu_add_rules(h, rules), AUTHDB_OK);
    assert_int_equal(authdb_check(h, check_cb, &co), AUTHDB_OK);
    assert_int_equal(co.warn, 1);
    assert_non_null(strstr(co.last, "ghost@example.org"));

    /* backup under umask 000: 0640 files, 0750 dirs, a usable store */
    snprintf(dest, sizeof(dest), "%s.bak", dir);
    old = umask(0);
    assert_int_equal(authdb_backup(h, dest, NULL, 0), AUTHDB_OK);
    umask(old);
    snprintf(p, sizeof(p), "%s", dest);
    assert_int_equal(tu_mode(p), 0750);
    snprintf(p, sizeof(p), "%s/secrets/data.mdb", dest);
    assert_int_equal(tu_mode(p), 0640);
    snprintf(p, sizeof(p), "%s/policy/data.mdb", dest);
    assert_int_equal(tu_mode(p), 0640);
    assert_int_equal(authdb_open(dest, AUTHDB_BOTH, &b, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_verify_password(b, "frank", 5, "pw", 2), AUTHDB_OK);
    authdb_close(b);
    /* a non-empty destination is refused */
    assert_int_equal(authdb_backup(h, dest, NULL, 0), AUTHDB_EEXIST);

    /* a login the policy does not know about: an error naming it */
    {
        char pol[512];
        snprintf(pol, sizeof(pol), "%s/policy", dir);
        authdb_close(h);
        tu_raw_del(pol, "rules", "frank");
        assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
        memset(&co, 0, sizeof(co));
        assert_int_equal(authdb_check(h, check_cb, &co), AUTHDB_OK); /* a warning */
        assert_int_equal(co.warn, 2); /* frank, and ghost's orphan rules */
        assert_int_equal(co.error, 0);
        assert_non_null(strstr(co.lastwarn, "login frank: not noted in the policy"));
        /* setting the password again repairs it */
        assert_int_equal(tu_add_user(h, "frank", "pw", AUTHDB_PUT_REPLACE), AUTHDB_OK);
        memset(&co, 0, sizeof(co));
        assert_int_equal(authdb_check(h, check_cb, &co), AUTHDB_OK);
        assert_int_equal(co.warn, 1); /* only ghost's orphan rules left */
    }

    /* world-readable secrets: an error */
    snprintf(p, sizeof(p), "%s/secrets/data.mdb", dir);
    chmod(p, 0644);
    memset(&co, 0, sizeof(co));
    assert_int_equal(authdb_check(h, check_cb, &co), AUTHDB_ECORRUPT);
    assert_true(co.error >= 1);
    authdb_close(h);
}

/* ------------------------------------------------- interrupted writes */

/* Every DB of an environment as text, read with plain LMDB (what is
 * really in the file, not what authdb makes of it). */
static void raw_dump(const char *envdir, char *out, size_t outsz)
{
    static const char *const dbs[] = {"meta", "users", "rules", "ruleidx", "domains"};
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    size_t o = 0;

    out[0] = '\0';
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    mdb_env_set_maxreaders(env, 1024);
    assert_int_equal(mdb_env_open(env, envdir, MDB_NOTLS | MDB_RDONLY, 0640), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), 0);
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        if (mdb_dbi_open(t, dbs[i], 0, &dbi) != 0)
            continue;
        assert_int_equal(mdb_cursor_open(t, dbi, &c), 0);
        for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0;
             r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            int n = snprintf(out + o, outsz - o, "%s %.*s=", dbs[i], (int)k.mv_size,
                             (const char *)k.mv_data);
            assert_true(n > 0 && (size_t)n < outsz - o);
            o += (size_t)n;
            for (size_t b = 0; b < v.mv_size; b++) {
                n = snprintf(out + o, outsz - o, "%02x", ((const unsigned char *)v.mv_data)[b]);
                assert_true(n > 0 && (size_t)n < outsz - o);
                o += (size_t)n;
            }
            assert_true(o + 1 < outsz);
            out[o++] = '\n';
            out[o] = '\0';
        }
        mdb_cursor_close(c);
    }
    mdb_txn_abort(t);
    mdb_env_close(env);
}

static int rule_count_cb(const char *login, const authdb_rule *r, void *arg)
{
    (void)login;
    (void)r;
    (*(int *)arg)++;
    return AUTHDB_OK;
}

static int count_rules(authdb *h, const char *login)
{
    int n = 0, rc = authdb_rule_foreach(h, NULL, login, strlen(login), rule_count_cb, &n);
    assert_true(rc == AUTHDB_OK || rc == AUTHDB_NOTFOUND);
    return n;
}

static void check_quiet(authdb *h, struct check_out *co, int want_rc)
{
    memset(co, 0, sizeof(*co));
    assert_int_equal(authdb_check(h, check_cb, co), want_rc);
}

/* A crash between the commits of the two environments (simulated: the
 * write returns after the secrets commit).  Readers see secrets ahead of
 * policy, check warns, the next write open completes it, replay is
 * idempotent, and a corrupt journal is a clean AUTHDB_ECORRUPT. */
static void test_interrupted_write(void **state)
{
    (void)state;
    char dir[256], sec[300], pol[300], why[AUTHDB_WHY_MAX], buf[512];
    static char before[1 << 16], after[1 << 16];
    struct check_out co;
    struct tu_rule rules[] = {{"amy@x.test", AUTHDB_ALLOW, "@shared.test"}, {NULL, 0, NULL}};
    authdb *h, *r, *w;
    authdb_user u;

    tu_new_store(dir, sizeof(dir), NULL);
    snprintf(sec, sizeof(sec), "%s/secrets", dir);
    snprintf(pol, sizeof(pol), "%s/policy", dir);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_user(h, "amy@x.test", "pw-a", AUTHDB_PUT_CREATE), AUTHDB_OK);
    assert_int_equal(tu_add_rules(h, rules), AUTHDB_OK);

    /* user add cut between the commits */
    store_test_stop_after_first_commit(h, 1);
    assert_int_equal(tu_add_user(h, "bob@x.test", "pw-b", AUTHDB_PUT_CREATE), AUTHDB_OK);
    authdb_close(h);
    raw_dump(pol, before, sizeof(before));
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH, &r, NULL, 0), AUTHDB_OK);
    /* secrets new: bob can log in; policy old: not yet the user of his address */
    assert_int_equal(authdb_verify_password(r, "bob@x.test", 10, "pw-b", 4), AUTHDB_OK);
    assert_int_equal(tu_senders(r, "bob@x.test", buf, sizeof(buf)), AUTHDB_OK);
    assert_string_equal(buf, "");
    check_quiet(r, &co, AUTHDB_OK);
    assert_int_equal(co.error, 0);
    assert_int_equal(co.warn, 1);
    assert_non_null(strstr(co.last, "a change interrupted between the environments is pending"));
    assert_non_null(strstr(co.last, "the next write completes it"));
    authdb_close(r);
    /* a read-only open and check wrote nothing */
    raw_dump(pol, after, sizeof(after));
    assert_string_equal(before, after);

    /* opening for write completes it */
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &w, NULL, 0), AUTHDB_OK);
    authdb_close(w);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH, &r, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_senders(r, "bob@x.test", buf, sizeof(buf)), AUTHDB_OK);
    assert_string_equal(buf, "bob@x.test");
    check_quiet(r, &co, AUTHDB_OK);
    assert_int_equal(co.error + co.warn, 0);
    authdb_close(r);

    /* replay is idempotent: pretend policy had not applied it, complete
     * again, same policy environment */
    raw_dump(pol, before, sizeof(before));
    {
        uint64_t zero = 0;
        tu_raw_meta_put(pol, JOURNAL_APPLIED, &zero, sizeof(zero));
    }
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH, &r, NULL, 0), AUTHDB_OK);
    check_quiet(r, &co, AUTHDB_OK);
    assert_int_equal(co.warn, 1); /* pending again */
    authdb_close(r);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &w, NULL, 0), AUTHDB_OK);
    authdb_close(w);
    raw_dump(pol, after, sizeof(after));
    assert_string_equal(before, after);

    /* user del cut between the commits: the login is gone, its rules
     * linger until the next writer, whatever it writes */
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    store_test_stop_after_first_commit(h, 1);
    assert_int_equal(tu_del_user(h, "amy@x.test"), AUTHDB_OK);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH, &r, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_user_get(r, NULL, "amy@x.test", 10, &u), AUTHDB_NOTFOUND);
    assert_int_equal(count_rules(r, "amy@x.test"), 1);
    check_quiet(r, &co, AUTHDB_OK);
    assert_int_equal(co.error, 0);
    assert_int_equal(co.warn, 1); /* only the pending change, no orphan */
    assert_non_null(strstr(co.last, "pending"));
    assert_int_equal(tu_domain(h, "y.test", 1), AUTHDB_OK); /* any write completes it */
    assert_int_equal(count_rules(r, "amy@x.test"), 0);
    assert_int_equal(authdb_domain_is_local(r, NULL, "y.test", 6), AUTHDB_OK);
    check_quiet(r, &co, AUTHDB_OK);
    assert_int_equal(co.error + co.warn, 0);
    authdb_close(r);
    authdb_close(h);

    /* a corrupt journal: AUTHDB_ECORRUPT with a sentence, never a crash */
    {
        static const struct {
            const char *what;
            size_t len;
            const char *data;
        } bad[] = {
            {"garbage", 7, "garbage"},
            /* header: count 1, no op */
            {"truncated", 20, "AGJ1\x01\x00\x00\x00\x09\0\0\0\0\0\0\0\x01\0\0\0"},
            /* one put into the secrets users DB */
            {"wrong db", 36,
             "AGJ1\x01\x00\x00\x00\x09\0\0\0\0\0\0\0\x01\0\0\0"
             "\x01\x01\0\0\x02\0\0\0\x02\0\0\0abcd"},
            /* a key length past the end */
            {"long key", 36,
             "AGJ1\x01\x00\x00\x00\x09\0\0\0\0\0\0\0\x01\0\0\0"
             "\x01\x03\0\0\xff\xff\0\0\x02\0\0\0abcd"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            tu_raw_meta_put(sec, JOURNAL_KEY, bad[i].data, bad[i].len);
            w = (authdb *)1;
            assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &w, why, sizeof(why)),
                             AUTHDB_ECORRUPT);
            assert_null(w);
            print_message("%s: %s\n", bad[i].what, why);
            assert_non_null(strstr(why, "interrupted change"));
            assert_non_null(strstr(why, "corrupt"));
            assert_int_equal(authdb_open(dir, AUTHDB_BOTH, &r, NULL, 0), AUTHDB_OK);
            check_quiet(r, &co, AUTHDB_ECORRUPT);
            assert_int_equal(co.error, 1);
            assert_non_null(strstr(co.lasterr, "corrupt"));
            authdb_close(r);
        }
        /* a policy-only writer never looks at it */
        assert_int_equal(authdb_open(dir, AUTHDB_POLICY | AUTHDB_WRITE, &w, NULL, 0), AUTHDB_OK);
        assert_int_equal(tu_domain(w, "z.test", 1), AUTHDB_OK);
        authdb_close(w);
    }
}

/* ------------------------------------------------------------------ fork */

static void test_fork_reader(void **state)
{
    (void)state;
    char dir[256];
    authdb *h, *r;
    pid_t pid;
    int st;

    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_user(h, "gina", "pw", AUTHDB_PUT_CREATE), AUTHDB_OK);
    assert_int_equal(authdb_open(dir, AUTHDB_SECRETS, &r, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_verify_password(r, "gina", 4, "pw", 2), AUTHDB_OK);
    for (int round = 0; round < 3; round++) {
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* child: uses the inherited handle (reopens), closes it */
            int ok = authdb_verify_password(r, "gina", 4, "pw", 2) == AUTHDB_OK &&
                     authdb_verify_password(r, "gina", 4, "no", 2) == AUTHDB_EMISMATCH;
            authdb_close(r);
            _exit(ok ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    /* the parent's handle still works, and sees new writes */
    assert_int_equal(tu_add_user(h, "gina", "pw2", AUTHDB_PUT_REPLACE), AUTHDB_OK);
    assert_int_equal(authdb_verify_password(r, "gina", 4, "pw2", 3), AUTHDB_OK);
    authdb_close(r);
    authdb_close(h);
}

/* Readers killed while holding a transaction leave stale slots: the next
 * open clears them and authdb_check says how many. */
static void test_check_stale_readers(void **state)
{
    (void)state;
    char dir[256];
    authdb *h;
    struct check_out co = {0};
    pid_t pids[4];
    int st, fds[2];

    /* pids[3] keeps the store open throughout without a transaction, as a
     * running daemon would: when the last process closes an environment,
     * LMDB's next open resets its reader table anyway.  (A second handle in
     * this process would not do: LMDB's locks are per process.) */
    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(tu_add_user(h, "hank", "pw", AUTHDB_PUT_CREATE), AUTHDB_OK);
    authdb_close(h);
    for (int i = 3; i >= 0; i--) {
        assert_int_equal(pipe(fds), 0);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            authdb *r;
            authdb_txn *t;
            close(fds[0]);
            if (authdb_open(dir, AUTHDB_SECRETS, &r, NULL, 0) != AUTHDB_OK ||
                (i < 3 && authdb_read_begin(r, AUTHDB_SECRETS, &t) != AUTHDB_OK))
                _exit(1);
            (void)!write(fds[1], "x", 1);
            pause();
            _exit(0);
        }
        close(fds[1]);
        char c;
        assert_int_equal(read(fds[0], &c, 1), 1); /* it holds a read txn */
        close(fds[0]);
    }
    for (int i = 0; i < 3; i++) { /* the readers die holding their slots */
        kill(pids[i], SIGKILL);
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
    }
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH, &h, NULL, 0), AUTHDB_OK);
    assert_int_equal(authdb_check(h, check_cb, &co), AUTHDB_OK);
    assert_int_equal(co.error, 0);
    assert_int_equal(co.warn, 1);
    assert_non_null(strstr(co.last, "secrets: cleared 3 stale reader slots"));
    /* said once: a second check finds none */
    co = (struct check_out){0};
    assert_int_equal(authdb_check(h, check_cb, &co), AUTHDB_OK);
    assert_int_equal(co.warn + co.error, 0);
    authdb_close(h);
    kill(pids[3], SIGKILL);
    assert_int_equal(waitpid(pids[3], &st, 0), pids[3]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_stale_readers),
        cmocka_unit_test(test_create_modes),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_newer_schema),
        cmocka_unit_test(test_newer_schema_while_open),
        cmocka_unit_test(test_users_and_verify),
        cmocka_unit_test(test_imported_hash),
        cmocka_unit_test(test_sender_rules),
        cmocka_unit_test(test_domains_and_settings),
        cmocka_unit_test(test_map_growth),
        cmocka_unit_test(test_corrupt_record),
        cmocka_unit_test(test_backup_and_check),
        cmocka_unit_test(test_fork_reader),
        cmocka_unit_test(test_groups_and_access),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_interrupted_write),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
