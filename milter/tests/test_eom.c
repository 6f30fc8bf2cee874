/*
 * test_eom.c - end-of-message pieces without libmilter: the
 * Authentication-Results builder and authserv-id matcher, the header
 * collector, the edit plan (deletion order, insertion point) and the reply
 * escaping for smfi_setreply.  Table-driven where there is a table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authres.h"
#include "mailbox.h"
#include "msg.h"
#include "plan.h"
#include "reply.h"

static void test_authres_build(void **state)
{
    static const struct {
        const char *login, *mech, *want;
    } rows[] = {
        {"alice@example.com", "PLAIN", "mx.example; auth=pass (PLAIN) smtp.auth=alice@example.com"},
        {"bob", "SCRAM-SHA-256", "mx.example; auth=pass (SCRAM-SHA-256) smtp.auth=bob"},
        {"bob", NULL, "mx.example; auth=pass smtp.auth=bob"},
        {"bob", "PLAIN) x=(y", "mx.example; auth=pass smtp.auth=bob"},
        {"john doe", "LOGIN", "mx.example; auth=pass (LOGIN) smtp.auth=\"john doe\""},
        {"a\"b\\c@x", "LOGIN", "mx.example; auth=pass (LOGIN) smtp.auth=\"a\\\"b\\\\c@x\""},
        {"evil\r\nX-Injected: 1", "PLAIN",
         "mx.example; auth=pass (PLAIN) smtp.auth=\"evil??X-Injected: 1\""},
        {"", "PLAIN", "mx.example; auth=none"},
        {NULL, NULL, "mx.example; auth=none"},
    };
    char out[AUTHRES_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(authres_build("mx.example", rows[i].login, rows[i].mech, out, sizeof(out)),
                         0);
        if (strcmp(out, rows[i].want) != 0)
            fail_msg("row %zu: got \"%s\", want \"%s\"", i, out, rows[i].want);
    }
}

static void test_authres_is_ours(void **state)
{
    static const struct {
        const char *value;
        int want;
    } rows[] = {
        {"mx.example; auth=pass smtp.auth=x", 1},
        {" MX.Example; auth=pass", 1},
        {"mx.example 1; auth=pass", 1},
        {"(forged) mx.example; spf=pass", 1},
        {"\r\n\t(a (nested) comment)\r\n mx.example;dkim=pass", 1},
        {"\"mx.example\"; auth=pass", 1},
        {"mx.example;", 1},
        {"other.example; auth=pass smtp.auth=mx.example", 0},
        {"mx.example.evil; auth=pass", 0},
        {"mx; auth=pass", 0},
        {"", 0},
        {"(unterminated mx.example; auth=pass", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int got = authres_is_ours(rows[i].value, strlen(rows[i].value), "mx.example");
        if (got != rows[i].want)
            fail_msg("\"%s\": got %d, want %d", rows[i].value, got, rows[i].want);
    }
    assert_true(authres_valid_id("mx.example"));
    assert_false(authres_valid_id("mx example"));
    assert_false(authres_valid_id("mx;example"));
    assert_false(authres_valid_id(""));
}

static void test_reply(void **state)
{
    char out[64];

    (void)state;
    reply_escape("100% sure", out, sizeof(out));
    assert_string_equal(out, "100%% sure");
    reply_escape("a\r\nb%", out, sizeof(out));
    assert_string_equal(out, "ab%%");
    reply_sanitize("b\xc3\xa9\r\n%", 6, out, sizeof(out));
    assert_string_equal(out, "b\\xC3\\xA9\\x0D\\x0A%");
    reply_sanitize("0123456789abcdef", 16, out, 10);
    assert_string_equal(out, "012345...");
    /* A "%" pair is never split by truncation. */
    reply_escape("%%%%%%%%", out, 8);
    assert_string_equal(out, "%%%%...");
}

/* Header collector: counts, first bodies, our Authentication-Results. */
static void test_msg(void **state)
{
    msg m;
    size_t len;
    char big[MAILBOX_FIELD_MAX + 10];

    (void)state;
    msg_init(&m);
    msg_header(&m, "Received", "from x", "mx.example");
    msg_header(&m, "Authentication-Results", "other.example; spf=pass", "mx.example");
    msg_header(&m, "authentication-results", "mx.example; auth=pass smtp.auth=forged",
               "mx.example");
    msg_header(&m, "From ", "alice@example.com", "mx.example");
    msg_header(&m, "AUTHENTICATION-RESULTS", "MX.EXAMPLE; dkim=pass", "mx.example");
    msg_header(&m, "X-Authgate-Verdict", "pass", "mx.example");
    msg_header(&m, "from", "second@example.com", "mx.example");
    msg_header(&m, "Sender", "s@example.com", "mx.example");
    assert_int_equal(m.nfrom, 2);
    assert_string_equal(msg_from(&m, &len), "alice@example.com");
    assert_string_equal(msg_sender(&m, &len), "s@example.com");
    assert_int_equal(m.nauthres, 3);
    assert_int_equal(m.nours, 2);
    assert_int_equal(m.ours[0], 2);
    assert_int_equal(m.ours[1], 3);
    assert_int_equal(m.nverdict, 1);
    msg_reset(&m);
    assert_int_equal(m.nfrom, 0);
    assert_null(msg_from(&m, &len));
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    msg_header(&m, "From", big, "mx.example");
    assert_int_equal(m.nfrom, 1);
    assert_true(m.from_toolong);
    assert_null(msg_from(&m, &len));
    msg_free(&m);
}

typedef struct rec {
    char log[4096];
    size_t len;
} rec;

static int record(void *arg, enum plan_edit_kind kind, const char *name, unsigned idx,
                  const char *value)
{
    rec *r = arg;
    const char *k = kind == PLAN_DELETE ? "del" : kind == PLAN_INSERT ? "ins" : "add";

    r->len += (size_t)snprintf(r->log + r->len, sizeof(r->log) - r->len, "%s %s %u%s%s;", k, name,
                               idx, value ? " " : "", value ? value : "");
    return 0;
}

static policy_verdict verdict(int action, enum policy_class cls, const char *code,
                              const char *xcode, const char *text)
{
    policy_verdict v;

    memset(&v, 0, sizeof(v));
    v.action = action;
    v.cls = cls;
    snprintf(v.code, sizeof(v.code), "%s", code);
    snprintf(v.xcode, sizeof(v.xcode), "%s", xcode);
    snprintf(v.text, sizeof(v.text), "%s", text);
    return v;
}

static void test_plan(void **state)
{
    msg m;
    plan p;
    rec r;
    policy_verdict v;
    char out[AUTHRES_MAX];

    (void)state;
    msg_init(&m);
    msg_header(&m, "Authentication-Results", "mx.example; auth=pass", "mx.example");
    msg_header(&m, "Authentication-Results", "other.example; auth=pass", "mx.example");
    msg_header(&m, "Authentication-Results", "mx.example; spf=pass", "mx.example");
    msg_header(&m, "X-Authgate-Verdict", "forged", "mx.example");
    msg_header(&m, "X-Authgate-Verdict", "forged", "mx.example");

    /* accept: delete (highest first), then insert ours at 1 */
    v = verdict(AUTHDB_ACT_ACCEPT, POLICY_PASS, "", "", "");
    plan_build(&m, &v, "mx.example", "alice@example.com", "PLAIN", &p);
    assert_int_equal(p.disposition, PLAN_CONTINUE);
    memset(&r, 0, sizeof(r));
    plan_edits(&p, record, &r);
    assert_string_equal(r.log, "del X-Authgate-Verdict 2;del X-Authgate-Verdict 1;"
                               "del Authentication-Results 3;del Authentication-Results 1;"
                               "ins Authentication-Results 1 mx.example; auth=pass (PLAIN) "
                               "smtp.auth=alice@example.com;");

    /* header action: our verdict field is added at the end */
    v = verdict(AUTHDB_ACT_HEADER, POLICY_MISMATCH, "", "", "From address <b@x> rejected");
    plan_build(&m, &v, "mx.example", "alice@example.com", "PLAIN", &p);
    memset(&r, 0, sizeof(r));
    plan_edits(&p, record, &r);
    assert_non_null(strstr(r.log, "add X-Authgate-Verdict 0 mismatch; From address <b@x> "
                                  "rejected;"));
    assert_false(p.quarantine);

    /* quarantine: edits as for accept, plus the reason */
    v = verdict(AUTHDB_ACT_QUARANTINE, POLICY_MALFORMED, "", "", "group syntax");
    plan_build(&m, &v, "mx.example", "alice@example.com", "PLAIN", &p);
    assert_true(p.quarantine);
    assert_string_equal(p.reason, "authgate malformed: group syntax");

    /* reject: reply escaped, no edits */
    v = verdict(AUTHDB_ACT_REJECT, POLICY_MISMATCH, "550", "5.7.1", "<a%b@x> rejected");
    plan_build(&m, &v, "mx.example", "alice@example.com", "PLAIN", &p);
    assert_int_equal(p.disposition, PLAN_REJECT);
    assert_string_equal(p.code, "550");
    assert_string_equal(p.xcode, "5.7.1");
    assert_string_equal(p.text, "<a%%b@x> rejected");
    memset(&r, 0, sizeof(r));
    plan_edits(&p, record, &r);
    assert_string_equal(r.log, "");

    /* tempfail */
    v = verdict(AUTHDB_ACT_TEMPFAIL, POLICY_TEMPFAIL, "451", "4.3.0", "try again");
    plan_build(&m, &v, "mx.example", "alice@example.com", "PLAIN", &p);
    assert_int_equal(p.disposition, PLAN_TEMPFAIL);
    assert_string_equal(p.code, "451");

    /* unauthenticated */
    v = verdict(AUTHDB_ACT_ACCEPT, POLICY_PASS, "", "", "");
    plan_build(&m, &v, "mx.example", NULL, NULL, &p);
    assert_string_equal(p.authres, "mx.example; auth=none");

    /* a login too long to report is refused for now, never truncated */
    {
        char longlogin[AUTHRES_MAX];
        memset(longlogin, 'a', sizeof(longlogin) - 1);
        longlogin[sizeof(longlogin) - 1] = '\0';
        plan_build(&m, &v, "mx.example", longlogin, NULL, &p);
        assert_int_equal(p.disposition, PLAN_TEMPFAIL);
        assert_string_equal(p.xcode, "4.3.0");
        assert_int_equal(authres_build("mx.example", longlogin, NULL, out, sizeof(out)), -1);
        assert_string_equal(out, "");
    }

    /* an out-of-memory collector tempfails */
    m.oom = 1;
    plan_build(&m, &v, "mx.example", NULL, NULL, &p);
    assert_int_equal(p.disposition, PLAN_TEMPFAIL);
    assert_string_equal(p.xcode, "4.3.0");
    msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authres_build), cmocka_unit_test(test_authres_is_ours),
        cmocka_unit_test(test_reply),         cmocka_unit_test(test_msg),
        cmocka_unit_test(test_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
