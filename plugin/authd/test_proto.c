/*
 * test_proto.c - unit tests for proto.c (the saslauthd wire protocol):
 * request parsing whole, split at every offset and byte by byte; field
 * limits (exactly at and one past each maximum); NUL refusal; reply
 * formatting and classification; request building.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

/* A request given field by field, with explicit lengths so that fields
 * may hold NULs or exceed the maxima. */
struct fields {
    const char *f[PROTO_NFIELDS];
    size_t n[PROTO_NFIELDS]; /* SIZE_MAX: strlen(f) */
};

static size_t build(const struct fields *in, unsigned char *out, size_t outsz)
{
    size_t len[PROTO_NFIELDS];
    for (unsigned i = 0; i < PROTO_NFIELDS; i++)
        len[i] = in->n[i] == SIZE_MAX ? strlen(in->f[i]) : in->n[i];
    return proto_request_build(in->f, len, out, outsz);
}

static char big[70000]; /* 'x' * n for long fields */

#define S SIZE_MAX

struct parse_case {
    const char *name;
    struct fields in;
    int want_status;
    enum proto_field want_field; /* for errors */
};

static const struct parse_case parse_cases[] = {
    {"plain", {{"alice", "s3cret", "smtp", "example.org"}, {S, S, S, S}}, PROTO_DONE, 0},
    {"empty fields", {{"", "", "", ""}, {S, S, S, S}}, PROTO_DONE, 0},
    {"login at max", {{big, "p", "smtp", ""}, {PROTO_LOGIN_MAX, S, S, S}}, PROTO_DONE, 0},
    {"password at max", {{"a", big, "smtp", ""}, {S, PROTO_PASSWORD_MAX, S, S}}, PROTO_DONE, 0},
    {"service at max", {{"a", "p", big, ""}, {S, S, PROTO_SERVICE_MAX, S}}, PROTO_DONE, 0},
    {"realm at max", {{"a", "p", "smtp", big}, {S, S, S, PROTO_REALM_MAX}}, PROTO_DONE, 0},
    {"login too long",
     {{big, "p", "smtp", ""}, {PROTO_LOGIN_MAX + 1, S, S, S}},
     PROTO_ETOOLONG,
     PROTO_LOGIN},
    {"password too long",
     {{"a", big, "smtp", ""}, {S, PROTO_PASSWORD_MAX + 1, S, S}},
     PROTO_ETOOLONG,
     PROTO_PASSWORD},
    {"password 65535", {{"a", big, "smtp", ""}, {S, 65535, S, S}}, PROTO_ETOOLONG, PROTO_PASSWORD},
    {"service too long",
     {{"a", "p", big, ""}, {S, S, PROTO_SERVICE_MAX + 1, S}},
     PROTO_ETOOLONG,
     PROTO_SERVICE},
    {"realm too long",
     {{"a", "p", "smtp", big}, {S, S, S, PROTO_REALM_MAX + 1}},
     PROTO_ETOOLONG,
     PROTO_REALM},
    {"NUL in login", {{"al\0ice", "p", "smtp", ""}, {6, S, S, S}}, PROTO_ENUL, PROTO_LOGIN},
    {"NUL in password", {{"alice", "a\0b", "smtp", ""}, {S, 3, S, S}}, PROTO_ENUL, PROTO_PASSWORD},
    {"NUL ends service", {{"alice", "p", "smtp\0", ""}, {S, S, 5, S}}, PROTO_ENUL, PROTO_SERVICE},
    {"NUL in realm", {{"alice", "p", "smtp", "\0"}, {S, S, S, 1}}, PROTO_ENUL, PROTO_REALM},
};

static size_t expect_len(const struct parse_case *c, unsigned f)
{
    return c->in.n[f] == SIZE_MAX ? strlen(c->in.f[f]) : c->in.n[f];
}

static void check_result(const struct parse_case *c, const proto_req *r, const char *how)
{
    int st = proto_req_status(r);
    if (st != c->want_status)
        fail_msg("%s (%s): status got %d (%s), want %d (%s)", c->name, how, st, proto_strerror(st),
                 c->want_status, proto_strerror(c->want_status));
    if (st != PROTO_DONE) {
        if (proto_req_field(r) != c->want_field)
            fail_msg("%s (%s): failed field got %s, want %s", c->name, how,
                     proto_field_name(proto_req_field(r)), proto_field_name(c->want_field));
        return;
    }
    for (unsigned f = 0; f < PROTO_NFIELDS; f++) {
        size_t len;
        const char *got = proto_req_get(r, f, &len);
        size_t want = expect_len(c, f);
        if (len != want || memcmp(got, c->in.f[f], want) != 0 || got[len] != '\0')
            fail_msg("%s (%s): %s got \"%.40s\" (%zu octets), want \"%.40s\" (%zu)", c->name, how,
                     proto_field_name(f), got, len, c->in.f[f], want);
    }
}

static void test_parse_whole(void **state)
{
    (void)state;
    static unsigned char buf[70000 * 2 + 16];
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        size_t n = build(&c->in, buf, sizeof(buf));
        assert_true(n > 0);
        proto_req r;
        size_t used = 0;
        proto_req_init(&r);
        proto_req_feed(&r, buf, n, &used);
        check_result(c, &r, "whole");
        if (c->want_status == PROTO_DONE && used != n)
            fail_msg("%s: used got %zu, want %zu", c->name, used, n);
        proto_req_wipe(&r);
    }
}

/* Too long is refused on the length prefix, before any field octet. */
static void test_refused_on_prefix(void **state)
{
    (void)state;
    unsigned char buf[8] = {0, 1, 'a', 0x04, 0x01}; /* login "a", password length 1025 */
    proto_req r;
    size_t used = 0;
    proto_req_init(&r);
    int st = proto_req_feed(&r, buf, 5, &used);
    if (st != PROTO_ETOOLONG || used != 5)
        fail_msg("got status %d used %zu, want %d used 5", st, used, PROTO_ETOOLONG);
    assert_int_equal(r.declared, 1025);
    /* Nothing more is taken once failed. */
    void *p;
    size_t room;
    assert_int_equal(proto_req_space(&r, &p, &room), PROTO_ETOOLONG);
    assert_null(p);
    assert_int_equal(room, 0);
}

static void test_parse_split(void **state)
{
    (void)state;
    static unsigned char buf[8192];
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        size_t n = build(&c->in, buf, sizeof(buf));
        if (n == 0)
            continue; /* the 65535 case does not fit: covered whole */
        /* Two pieces, split at every offset. */
        for (size_t cut = 0; cut <= n; cut++) {
            proto_req r;
            char how[32];
            proto_req_init(&r);
            size_t used1 = 0, used2 = 0;
            int st = proto_req_feed(&r, buf, cut, &used1);
            if (st == PROTO_MORE)
                proto_req_feed(&r, buf + cut, n - cut, &used2);
            snprintf(how, sizeof(how), "cut at %zu", cut);
            check_result(c, &r, how);
            if (c->want_status == PROTO_DONE && used1 + used2 != n)
                fail_msg("%s (%s): used got %zu, want %zu", c->name, how, used1 + used2, n);
            proto_req_wipe(&r);
        }
        /* Octet by octet through space/advance, as the daemon reads. */
        proto_req r;
        size_t pos = 0;
        proto_req_init(&r);
        for (;;) {
            void *p;
            size_t room;
            if (proto_req_space(&r, &p, &room) != PROTO_MORE || pos == n)
                break;
            assert_true(room >= 1);
            memcpy(p, buf + pos, 1);
            pos++;
            proto_req_advance(&r, 1);
        }
        check_result(c, &r, "octet by octet");
        proto_req_wipe(&r);
    }
}

static void test_incomplete_and_trailing(void **state)
{
    (void)state;
    unsigned char buf[256];
    const char *f[4] = {"bob", "pw", "smtp", "x.org"};
    size_t l[4] = {3, 2, 4, 5};
    size_t n = proto_request_build(f, l, buf, sizeof(buf));
    assert_int_equal(n, 8 + 14);
    for (size_t cut = 0; cut < n; cut++) {
        proto_req r;
        proto_req_init(&r);
        int st = proto_req_feed(&r, buf, cut, NULL);
        if (st != PROTO_MORE)
            fail_msg("cut %zu: got status %d, want PROTO_MORE", cut, st);
    }
    /* A second request after the first is left unconsumed. */
    memcpy(buf + n, buf, n);
    proto_req r;
    size_t used = 0;
    proto_req_init(&r);
    assert_int_equal(proto_req_feed(&r, buf, 2 * n, &used), PROTO_DONE);
    if (used != n)
        fail_msg("used got %zu, want %zu", used, n);
}

static void test_wipe(void **state)
{
    (void)state;
    unsigned char buf[64];
    const char *f[4] = {"bob", "hunter2", "smtp", ""};
    size_t l[4] = {3, 7, 4, 0};
    size_t n = proto_request_build(f, l, buf, sizeof(buf));
    proto_req r;
    proto_req_init(&r);
    assert_int_equal(proto_req_feed(&r, buf, n, NULL), PROTO_DONE);
    assert_string_equal(r.password, "hunter2");
    proto_req_wipe(&r);
    static const proto_req zero;
    assert_memory_equal(&r, &zero, sizeof(r));
}

struct reply_case {
    const char *name;
    enum proto_answer a;
    const char *text;
    const char *want; /* payload */
    size_t want_len;
};

static const struct reply_case reply_cases[] = {
    {"ok", PROTO_ANSWER_OK, NULL, "OK", 2},
    {"ok ignores text", PROTO_ANSWER_OK, "whatever", "OK", 2},
    {"no bare", PROTO_ANSWER_NO, NULL, "NO", 2},
    {"no empty text", PROTO_ANSWER_NO, "", "NO", 2},
    {"no text", PROTO_ANSWER_NO, "authentication failed", "NO authentication failed", 24},
    {"no control chars", PROTO_ANSWER_NO, "a\r\nb\x01\xc3\xa9", "NO a??b???", 10},
    {"temp", PROTO_ANSWER_TEMP, "store unavailable", "", 0},
};

static void test_reply_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
        const struct reply_case *c = &reply_cases[i];
        unsigned char out[PROTO_REPLY_BUFSZ];
        size_t n = proto_reply_format(c->a, c->text, out, sizeof(out));
        size_t plen = ((size_t)out[0] << 8) | out[1];
        if (n != 2 + c->want_len || plen != c->want_len ||
            memcmp(out + 2, c->want, c->want_len) != 0)
            fail_msg("%s: got %zu octets, payload \"%.*s\" (%zu), want \"%s\" (%zu)", c->name, n,
                     (int)(n > 2 ? n - 2 : 0), (const char *)out + 2, plen, c->want, c->want_len);
        if (proto_reply_classify(out + 2, plen) != c->a)
            fail_msg("%s: classify got %d, want %d", c->name, proto_reply_classify(out + 2, plen),
                     c->a);
    }
}

static void test_reply_limits(void **state)
{
    (void)state;
    unsigned char out[PROTO_REPLY_BUFSZ];
    char text[400];
    memset(text, 'z', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    size_t n = proto_reply_format(PROTO_ANSWER_NO, text, out, sizeof(out));
    if (n != PROTO_REPLY_BUFSZ)
        fail_msg("long text: got %zu octets, want %d", n, PROTO_REPLY_BUFSZ);
    /* Too small a buffer is refused, never overrun. */
    unsigned char tiny[3] = {0xaa, 0xaa, 0xaa};
    assert_int_equal(proto_reply_format(PROTO_ANSWER_OK, NULL, tiny, sizeof(tiny)), 0);
    assert_int_equal(proto_reply_format(PROTO_ANSWER_TEMP, NULL, tiny, 1), 0);
    assert_int_equal(proto_reply_format(PROTO_ANSWER_TEMP, NULL, tiny, 2), 2);
    /* Small buffers cut the text instead of overrunning. */
    unsigned char small[8];
    n = proto_reply_format(PROTO_ANSWER_NO, "abcdefgh", small, sizeof(small));
    if (n != 8 || memcmp(small + 2, "NO abc", 6) != 0)
        fail_msg("small: got %zu octets \"%.*s\", want 8 \"NO abc\"", n, (int)n - 2,
                 (const char *)small + 2);
}

struct classify_case {
    const char *payload;
    size_t len;
    enum proto_answer want;
};

static void test_reply_classify(void **state)
{
    (void)state;
    static const struct classify_case cases[] = {
        {"", 0, PROTO_ANSWER_TEMP},   {"O", 1, PROTO_ANSWER_TEMP}, {"OK", 2, PROTO_ANSWER_OK},
        {"OKAY", 4, PROTO_ANSWER_OK}, {"NO", 2, PROTO_ANSWER_NO},  {"ok", 2, PROTO_ANSWER_NO},
        {"XX", 2, PROTO_ANSWER_NO},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum proto_answer got = proto_reply_classify(cases[i].payload, cases[i].len);
        if (got != cases[i].want)
            fail_msg("classify \"%.*s\": got %d, want %d", (int)cases[i].len, cases[i].payload, got,
                     cases[i].want);
    }
}

static void test_request_build(void **state)
{
    (void)state;
    unsigned char out[16];
    const char *f[4] = {"a", "b", "c", "d"};
    size_t l[4] = {1, 1, 1, 1};
    static const unsigned char want[] = {0, 1, 'a', 0, 1, 'b', 0, 1, 'c', 0, 1, 'd'};
    assert_int_equal(proto_request_build(f, l, out, sizeof(out)), sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(proto_request_build(f, l, out, sizeof(want) - 1), 0);
    size_t huge[4] = {65536, 0, 0, 0};
    static unsigned char hbuf[70000];
    const char *hf[4] = {big, "", "", ""};
    assert_int_equal(proto_request_build(hf, huge, hbuf, sizeof(hbuf)), 0);
}

int main(void)
{
    memset(big, 'x', sizeof(big));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_whole),   cmocka_unit_test(test_refused_on_prefix),
        cmocka_unit_test(test_parse_split),   cmocka_unit_test(test_incomplete_and_trailing),
        cmocka_unit_test(test_wipe),          cmocka_unit_test(test_reply_format),
        cmocka_unit_test(test_reply_limits),  cmocka_unit_test(test_reply_classify),
        cmocka_unit_test(test_request_build),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
