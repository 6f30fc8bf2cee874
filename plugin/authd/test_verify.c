/*
 * test_verify.c - unit tests for verify.c: the login/realm rule (as
 * libsasl2's saslauthd_verify_password splits user names), the mapping of
 * every authdb status to an answer (store errors TEMP, never NO or OK),
 * and a closed store answering TEMP with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verify.h"

static void test_login_rule(void **state)
{
    (void)state;
    static const struct {
        const char *login, *realm, *want;
    } cases[] = {
        /* libsasl: canonical "alice" (no user_realm) -> "alice", "" */
        {"alice", "", "alice"},
        /* canonical "alice@example.org" -> split at the last '@' */
        {"alice", "example.org", "alice@example.org"},
        /* canonical "a@b@c" -> "a@b", "c": rejoined exactly */
        {"a@b", "c", "a@b@c"},
        /* Exim: user as typed, realm argument empty */
        {"bob@example.org", "", "bob@example.org"},
        /* empty login stays empty (refused later) */
        {"", "example.org", "@example.org"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[VERIFY_LOGIN_BUFSZ];
        size_t n = verify_login(cases[i].login, strlen(cases[i].login), cases[i].realm,
                                strlen(cases[i].realm), out);
        if (n != strlen(cases[i].want) || strcmp(out, cases[i].want) != 0)
            fail_msg("login \"%s\" realm \"%s\": got \"%s\" (%zu), want \"%s\"", cases[i].login,
                     cases[i].realm, out, n, cases[i].want);
    }
    /* The longest fields fit. */
    char login[PROTO_LOGIN_MAX], realm[PROTO_REALM_MAX], out[VERIFY_LOGIN_BUFSZ];
    memset(login, 'l', sizeof(login));
    memset(realm, 'r', sizeof(realm));
    assert_int_equal(verify_login(login, sizeof(login), realm, sizeof(realm), out),
                     VERIFY_LOGIN_BUFSZ - 1);
}

static void test_map(void **state)
{
    (void)state;
    static const struct {
        int code;
        enum proto_answer want;
    } cases[] = {
        {AUTHDB_OK, PROTO_ANSWER_OK},
        {AUTHDB_EMISMATCH, PROTO_ANSWER_NO},
        {AUTHDB_NOTFOUND, PROTO_ANSWER_NO},
        {AUTHDB_EDISABLED, PROTO_ANSWER_NO},
        {AUTHDB_EINVAL, PROTO_ANSWER_NO},
        {AUTHDB_ETOOLONG, PROTO_ANSWER_NO},
        {AUTHDB_ENOSTORE, PROTO_ANSWER_TEMP},
        {AUTHDB_EFOREIGN, PROTO_ANSWER_TEMP},
        {AUTHDB_ENEWER, PROTO_ANSWER_TEMP},
        {AUTHDB_ECORRUPT, PROTO_ANSWER_TEMP},
        {AUTHDB_EHASH, PROTO_ANSWER_TEMP},
        {AUTHDB_EBUSY, PROTO_ANSWER_TEMP},
        {AUTHDB_ENOMEM, PROTO_ANSWER_TEMP},
        {AUTHDB_EPERM, PROTO_ANSWER_TEMP},
        {AUTHDB_ENOENV, PROTO_ANSWER_TEMP},
        {-30792 /* MDB_MAP_FULL */, PROTO_ANSWER_TEMP},
        {-30790 /* MDB_READERS_FULL */, PROTO_ANSWER_TEMP},
        {5 /* EIO */, PROTO_ANSWER_TEMP},
        {13 /* EACCES */, PROTO_ANSWER_TEMP},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        verify_result v;
        verify_map(cases[i].code, &v);
        if (v.answer != cases[i].want)
            fail_msg("code %d (%s): got answer %d, want %d", cases[i].code,
                     authdb_strerror(cases[i].code), v.answer, cases[i].want);
        assert_non_null(v.reason);
        /* Every store error authdb calls temporary is TEMP here. */
        if (authdb_is_tempfail(cases[i].code) && v.answer != PROTO_ANSWER_TEMP)
            fail_msg("code %d is a temporary failure for authdb but answer %d", cases[i].code,
                     v.answer);
    }
    /* Every authdb status code: nothing but OK answers OK. */
    for (int code = AUTHDB_NOTFOUND; code < AUTHDB_STATUS_END_; code++) {
        verify_result v;
        verify_map(code, &v);
        if (v.answer == PROTO_ANSWER_OK)
            fail_msg("code %d (%s) answers OK", code, authdb_strerror(code));
    }
}

static void test_no_store(void **state)
{
    (void)state;
    proto_req r;
    verify_result v;
    proto_req_init(&r);
    verify_request(NULL, "store /x: no store at this path", &r, &v);
    assert_int_equal(v.answer, PROTO_ANSWER_TEMP);
    assert_string_equal(v.reason, "store /x: no store at this path");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_rule),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_no_store),
    };
    return cmocka_run_group_tests_name("verify", tests, NULL, NULL);
}
