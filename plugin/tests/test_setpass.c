/*
 * test_setpass.c - setpass.c: planning store requests (table-driven),
 * building logins, and applying them to a real store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sasl/sasl.h>

#include "harness.h"
#include "plugin_private.h"
#include "teststore.h"

static const char *const v_none[] = {NULL};
static const char *const v_pw[] = {"S3cret", NULL};
static const char *const v_two[] = {"old-pw", "new-pw", NULL};
static const char *const v_empty[] = {"", NULL};

static void test_setpass_plan(void **state)
{
    static const struct {
        setpass_prop props[4];
        size_t n;
        enum setpass_action want;
        const char *want_pw;
    } cases[] = {
        /* sasl_setpass */
        {{{"userPassword", v_pw}}, 1, SETPASS_SET, "S3cret"},
        /* set twice on one connection: libsasl appended, the last wins */
        {{{"userPassword", v_two}}, 1, SETPASS_SET, "new-pw"},
        /* saslpasswd2 -d: userPassword and "*" without values */
        {{{"userPassword", v_none}, {"*", v_none}}, 2, SETPASS_DELETE, NULL},
        {{{"*", NULL}}, 1, SETPASS_DELETE, NULL},
        /* userPassword without a value: the password goes, so does the login */
        {{{"userPassword", v_none}}, 1, SETPASS_DELETE, NULL},
        {{{"userPassword", v_empty}}, 1, SETPASS_DELETE, NULL},
        /* saslpasswd2's wipe after every change: ignored */
        {{{"cmusaslsecretCRAM-MD5", v_none},
          {"cmusaslsecretDIGEST-MD5", v_none},
          {"cmusaslsecretPLAIN", v_none}},
         3,
         SETPASS_NONE,
         NULL},
        /* SCRAM's setpass: ignored, the store derives its own */
        {{{"authPassword", v_pw}}, 1, SETPASS_NONE, NULL},
        /* authid lookup leftovers in the connection's propctx: ignored */
        {{{"*userPassword", v_pw}, {"*cmusaslsecretPLAIN", v_pw}}, 2, SETPASS_NONE, NULL},
        {{{"*userPassword", v_pw}, {"userPassword", v_pw}}, 2, SETPASS_SET, "S3cret"},
        {{{NULL, NULL}}, 0, SETPASS_NONE, NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *pw = "unset";
        enum setpass_action got = setpass_plan(cases[i].props, cases[i].n, &pw);
        int pw_ok =
            cases[i].want_pw == NULL ? pw == NULL : pw != NULL && strcmp(pw, cases[i].want_pw) == 0;
        if (got != cases[i].want || !pw_ok)
            fail_msg("case %zu: got action %d password %s, want %d %s", i, got, pw ? pw : "NULL",
                     cases[i].want, cases[i].want_pw ? cases[i].want_pw : "NULL");
    }
}

static void test_setpass_login(void **state)
{
    static const struct {
        const char *user;
        const char *realm;
        int rc;
        const char *want;
    } cases[] = {
        {"alice", NULL, AUTHDB_OK, "alice"},
        {"alice", "", AUTHDB_OK, "alice"},
        {"alice", "example.com", AUTHDB_OK, "alice@example.com"},
        {"alice@other.org", "example.com", AUTHDB_OK, "alice@other.org"},
        {"", "example.com", AUTHDB_EINVAL, NULL},
    };
    char out[AUTHDB_NAME_BUFSZ];
    char big[AUTHDB_LOGIN_MAX + 2];
    size_t i, len = 0;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = setpass_login(cases[i].user, strlen(cases[i].user), cases[i].realm, out,
                               sizeof(out), &len);
        if (rc != cases[i].rc || (rc == AUTHDB_OK && strcmp(out, cases[i].want) != 0))
            fail_msg("setpass_login(%s, %s): got %d \"%s\", want %d \"%s\"", cases[i].user,
                     cases[i].realm ? cases[i].realm : "NULL", rc, rc == AUTHDB_OK ? out : "",
                     cases[i].rc, cases[i].want ? cases[i].want : "");
    }
    /* not NUL-terminated input: only ulen octets count */
    assert_int_equal(setpass_login("bobXXXX", 3, "example.com", out, sizeof(out), &len), AUTHDB_OK);
    assert_string_equal(out, "bob@example.com");
    assert_int_equal(len, strlen("bob@example.com"));
    /* too long with the realm appended: refused, never truncated */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(setpass_login(big, strlen(big), NULL, out, sizeof(out), &len),
                     AUTHDB_ETOOLONG);
    assert_int_equal(setpass_login(big, 310, "example.com", out, sizeof(out), &len),
                     AUTHDB_ETOOLONG);
}

static void test_setpass_status(void **state)
{
    static const struct {
        int in, want;
    } cases[] = {
        {AUTHDB_OK, SASL_OK},           {AUTHDB_NOTFOUND, SASL_NOUSER},
        {AUTHDB_EINVAL, SASL_BADPARAM}, {AUTHDB_ETOOLONG, SASL_BADPARAM},
        {AUTHDB_ERDONLY, SASL_FAIL},    {AUTHDB_ENOSTORE, SASL_FAIL},
        {AUTHDB_EHASH, SASL_FAIL},      {AUTHDB_EPERM, SASL_FAIL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = setpass_status(cases[i].in);
        if (got != cases[i].want)
            fail_msg("setpass_status(%s): got %d, want %d", authdb_strerror(cases[i].in), got,
                     cases[i].want);
    }
}

/* setpass_apply against a real store. */
static void test_setpass_apply(void **state)
{
    harness h;
    authdb *db = NULL;
    authdb_secrets *s = NULL;
    unsigned kinds;
    int disabled = 0;

    (void)state;
    assert_int_equal(harness_setup(&h), 0);
    assert_int_equal(teststore_create(h.store, "SCRAM-SHA-256 CRAM-MD5 PLAIN", NULL), AUTHDB_OK);
    assert_int_equal(authdb_open(h.store, AUTHDB_BOTH | AUTHDB_WRITE, &db, NULL, 0), AUTHDB_OK);

    /* set creates, with the store's mechanisms */
    assert_int_equal(setpass_apply(db, SETPASS_SET, "Alice@Example.COM", 17, "S3cret", 6),
                     AUTHDB_OK);
    assert_int_equal(teststore_verify(h.store, "alice@example.com", "S3cret"), AUTHDB_OK);
    assert_int_equal(authdb_secrets_lookup(db, "alice@example.com", 17, &s), AUTHDB_OK);
    kinds = authdb_secrets_kinds(s);
    authdb_secrets_free(s);
    if (!(kinds & (1u << AUTHDB_SECRET_CRAM_MD5)) || !(kinds & (1u << AUTHDB_SECRET_PLAIN)) ||
        !(kinds & (1u << AUTHDB_SECRET_SCRAM_SHA256)) ||
        (kinds & (1u << AUTHDB_SECRET_SCRAM_SHA1)) || (kinds & (1u << AUTHDB_SECRET_CLEARTEXT)))
        fail_msg("got kinds 0x%x, want SCRAM-SHA-256, CRAM-MD5, PLAIN (and the hash) only", kinds);

    /* a disabled login stays disabled across a password change */
    assert_int_equal(teststore_disable(h.store, "alice@example.com", 1), AUTHDB_OK);
    assert_int_equal(setpass_apply(db, SETPASS_SET, "alice@example.com", 17, "N3w-pw", 6),
                     AUTHDB_OK);
    assert_int_equal(teststore_has(h.store, "alice@example.com", &disabled), 1);
    assert_int_equal(disabled, 1);
    assert_int_equal(teststore_verify(h.store, "alice@example.com", "S3cret"), AUTHDB_EDISABLED);

    /* the login's override decides what a new password derives */
    assert_int_equal(teststore_put(h.store, "bob", "x", "SCRAM-SHA-1"), AUTHDB_OK);
    assert_int_equal(setpass_apply(db, SETPASS_SET, "bob", 3, "B0b-pw", 6), AUTHDB_OK);
    assert_int_equal(authdb_secrets_lookup(db, "bob", 3, &s), AUTHDB_OK);
    kinds = authdb_secrets_kinds(s);
    authdb_secrets_free(s);
    if (!(kinds & (1u << AUTHDB_SECRET_SCRAM_SHA1)) || (kinds & (1u << AUTHDB_SECRET_CRAM_MD5)))
        fail_msg("got kinds 0x%x, want bob's override SCRAM-SHA-1 and no CRAM-MD5", kinds);
    assert_int_equal(teststore_verify(h.store, "bob", "B0b-pw"), AUTHDB_OK);

    /* delete, then delete again */
    assert_int_equal(setpass_apply(db, SETPASS_DELETE, "bob", 3, NULL, 0), AUTHDB_OK);
    assert_int_equal(teststore_has(h.store, "bob", NULL), 0);
    assert_int_equal(setpass_apply(db, SETPASS_DELETE, "bob", 3, NULL, 0), AUTHDB_NOTFOUND);
    assert_int_equal(setpass_apply(db, SETPASS_NONE, "bob", 3, NULL, 0), AUTHDB_OK);

    /* a login that cannot exist */
    assert_int_equal(setpass_apply(db, SETPASS_SET, "a@b@c", 5, "pw", 2), AUTHDB_EINVAL);

    authdb_close(db);
    harness_teardown(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setpass_plan),
        cmocka_unit_test(test_setpass_login),
        cmocka_unit_test(test_setpass_status),
        cmocka_unit_test(test_setpass_apply),
    };
    return cmocka_run_group_tests_name("plugin-setpass", tests, NULL, NULL);
}
