/*
 * test_query_proto.c - table-driven tests of authgate-query's protocol
 * pieces that need no store: base64, netstrings, the line protocol's
 * request parser and response formatter, and the raw header section
 * scanner.  Every failure says what it got and what it wanted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailbox.h"
#include "query_b64.h"
#include "query_hdrs.h"
#include "query_line.h"
#include "query_netstring.h"

/* Printable form of a byte string, for messages. */
static const char *show(const char *s, size_t len)
{
    static char buf[4][512];
    static int k;
    char *o = buf[k++ & 3];
    size_t n = 0;

    for (size_t i = 0; i < len && n + 5 < sizeof(buf[0]); i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '\\')
            o[n++] = (char)c;
        else
            n += (size_t)snprintf(o + n, 5, "\\x%02X", c);
    }
    o[n] = '\0';
    return o;
}

/* ------------------------------------------------------------ base64 */

typedef struct b64_row {
    const char *in;
    int ok;
    const char *out; /* decoded (ok) */
    size_t outlen;
    const char *why; /* part of the reason (not ok) */
} b64_row;

static const b64_row b64_rows[] = {
    {"", 1, "", 0, NULL},
    {"YQ==", 1, "a", 1, NULL},
    {"YWI=", 1, "ab", 2, NULL},
    {"YWJj", 1, "abc", 3, NULL},
    {"AA==", 1, "\0", 1, NULL},
    {"/+8=", 1, "\xff\xef", 2, NULL},
    {"YWxpY2VAZXhhbXBsZS5jb20=", 1, "alice@example.com", 17, NULL},
    {"YQ", 0, NULL, 0, "multiple of 4"},
    {"YQ=", 0, NULL, 0, "multiple of 4"},
    {"YQ=A", 0, NULL, 0, "padding inside"},
    {"Y===", 0, NULL, 0, "padding inside"},
    {"====", 0, NULL, 0, "padding inside"},
    {"YQ==YQ==", 0, NULL, 0, "padding inside"},
    {"YR==", 0, NULL, 0, "non-zero padding bits"},
    {"YWM=", 1, "ac", 2, NULL},
    {"YWN=", 0, NULL, 0, "non-zero padding bits"},
    {"YW Jj", 0, NULL, 0, "multiple of 4"},
    {"YW\nj", 0, NULL, 0, "outside the base64 alphabet"},
    {"-_8=", 0, NULL, 0, "outside the base64 alphabet"},
};

static void test_b64_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(b64_rows) / sizeof(b64_rows[0]); i++) {
        const b64_row *r = &b64_rows[i];
        sbuf out;
        const char *why = NULL;
        int rc;
        sbuf_init(&out, 1024);
        rc = query_b64_decode(r->in, strlen(r->in), &out, &why);
        if (r->ok && rc != 0)
            fail_msg("decode \"%s\": got error \"%s\", want \"%s\"", show(r->in, strlen(r->in)),
                     why, show(r->out, r->outlen));
        if (r->ok && (out.len != r->outlen || memcmp(out.p, r->out, r->outlen) != 0))
            fail_msg("decode \"%s\": got \"%s\", want \"%s\"", r->in, show(out.p, out.len),
                     show(r->out, r->outlen));
        if (!r->ok && rc == 0)
            fail_msg("decode \"%s\": got \"%s\", want an error", show(r->in, strlen(r->in)),
                     show(out.p, out.len));
        if (!r->ok && (why == NULL || strstr(why, r->why) == NULL))
            fail_msg("decode \"%s\": got reason \"%s\", want one with \"%s\"",
                     show(r->in, strlen(r->in)), why ? why : "(none)", r->why);
        sbuf_free(&out);
    }
}

/* Every octet value and every length up to 7 survive encode + decode. */
static void test_b64_roundtrip(void **state)
{
    unsigned char data[256 + 7];

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 0; len <= sizeof(data); len += len < 8 ? 1 : 85) {
        sbuf enc, dec;
        const char *why = NULL;
        sbuf_init(&enc, 4096);
        sbuf_init(&dec, 4096);
        assert_int_equal(query_b64_encode(data, len, &enc), 0);
        if (enc.len != (len + 2) / 3 * 4)
            fail_msg("encoded length of %zu octets: got %zu, want %zu", len, enc.len,
                     (len + 2) / 3 * 4);
        if (query_b64_decode(enc.p, enc.len, &dec, &why) != 0)
            fail_msg("decode of our own encoding of %zu octets: %s", len, why);
        if (dec.len != len || memcmp(dec.p, data, len) != 0)
            fail_msg("round trip of %zu octets: got %zu different octets back", len, dec.len);
        sbuf_free(&enc);
        sbuf_free(&dec);
    }
}

/* A decoded value beyond the buffer's limit is refused, not truncated. */
static void test_b64_limit(void **state)
{
    sbuf out;
    const char *why = NULL;

    (void)state;
    sbuf_init(&out, 2);
    assert_int_equal(query_b64_decode("YWJj", 4, &out, &why), -1);
    if (why == NULL || strstr(why, "too long") == NULL)
        fail_msg("over the limit: got reason \"%s\", want \"decoded value too long\"", why);
    sbuf_free(&out);
}

/* -------------------------------------------------------- netstrings */

typedef struct ns_row {
    const char *in;
    size_t len; /* 0: strlen */
    size_t max;
    int status;
    const char *payload;
    size_t used;
    const char *why;
} ns_row;

static const ns_row ns_rows[] = {
    {"0:,", 0, 100, QUERY_NETSTRING_OK, "", 3, NULL},
    {"3:abc,", 0, 100, QUERY_NETSTRING_OK, "abc", 6, NULL},
    {"3:abc,4:next,", 0, 100, QUERY_NETSTRING_OK, "abc", 6, NULL},
    {"3:a,c,", 0, 100, QUERY_NETSTRING_OK, "a,c", 6, NULL},
    {"5:a\0b c,", 8, 100, QUERY_NETSTRING_OK, "a\0b c", 8, NULL},
    {"100:", 0, 100, QUERY_NETSTRING_MORE, NULL, 0, NULL},
    {"", 0, 100, QUERY_NETSTRING_MORE, NULL, 0, NULL},
    {"3", 0, 100, QUERY_NETSTRING_MORE, NULL, 0, NULL},
    {"3:", 0, 100, QUERY_NETSTRING_MORE, NULL, 0, NULL},
    {"3:ab", 0, 100, QUERY_NETSTRING_MORE, NULL, 0, NULL},
    {"3:abc", 0, 100, QUERY_NETSTRING_MORE, NULL, 0, NULL},
    {"03:abc,", 0, 100, QUERY_NETSTRING_ERROR, NULL, 0, "leading zero"},
    {"00:,", 0, 100, QUERY_NETSTRING_ERROR, NULL, 0, "leading zero"},
    {"3:abcd", 0, 100, QUERY_NETSTRING_ERROR, NULL, 0, "not followed by \",\""},
    {"a:", 0, 100, QUERY_NETSTRING_ERROR, NULL, 0, "does not start with a digit"},
    {":abc,", 0, 100, QUERY_NETSTRING_ERROR, NULL, 0, "does not start with a digit"},
    {"3;abc,", 0, 100, QUERY_NETSTRING_ERROR, NULL, 0, "not followed by \":\""},
    {"-1:", 0, 100, QUERY_NETSTRING_ERROR, NULL, 0, "does not start with a digit"},
    {"101:", 0, 100, QUERY_NETSTRING_ERROR, NULL, 0, "longer than this server accepts"},
    {"101", 0, 100, QUERY_NETSTRING_ERROR, NULL, 0, "longer than this server accepts"},
    {"4097:", 0, 4096, QUERY_NETSTRING_ERROR, NULL, 0, "longer than this server accepts"},
    {"4096:", 0, 4096, QUERY_NETSTRING_MORE, NULL, 0, NULL},
    {"1234567890", 0, (size_t)-1, QUERY_NETSTRING_ERROR, NULL, 0, "too many digits"},
};

static void test_netstring_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ns_rows) / sizeof(ns_rows[0]); i++) {
        const ns_row *r = &ns_rows[i];
        size_t len = r->len ? r->len : strlen(r->in), plen = 0, used = 0;
        const char *payload = NULL, *why = NULL;
        int st = query_netstring_parse(r->in, len, r->max, &payload, &plen, &used, &why);
        if (st != r->status)
            fail_msg("\"%s\": got status %d (%s), want %d", show(r->in, len), st, why ? why : "-",
                     r->status);
        if (st == QUERY_NETSTRING_OK) {
            size_t want = r->len ? r->used - 3 : strlen(r->payload);
            if (plen != want || memcmp(payload, r->payload, plen) != 0 || used != r->used)
                fail_msg("\"%s\": got payload \"%s\" used %zu, want \"%s\" used %zu",
                         show(r->in, len), show(payload, plen), used, show(r->payload, want),
                         r->used);
        }
        if (st == QUERY_NETSTRING_ERROR && (why == NULL || strstr(why, r->why) == NULL))
            fail_msg("\"%s\": got reason \"%s\", want one with \"%s\"", show(r->in, len),
                     why ? why : "(none)", r->why);
    }
}

static void test_netstring_append(void **state)
{
    static const struct {
        const char *data;
        size_t len;
        const char *want;
        size_t wantlen;
    } rows[] = {
        {"", 0, "0:,", 3},
        {"OK alice@example.com", 20, "20:OK alice@example.com,", 24},
        {"NOTFOUND ", 9, "9:NOTFOUND ,", 12},
        {"a\0,", 3, "3:a\0,,", 6},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sbuf out;
        sbuf_init(&out, 200);
        assert_int_equal(query_netstring_append(&out, rows[i].data, rows[i].len), 0);
        if (out.len != rows[i].wantlen || memcmp(out.p, rows[i].want, out.len) != 0)
            fail_msg("frame \"%s\": got \"%s\", want \"%s\"", show(rows[i].data, rows[i].len),
                     show(out.p, out.len), show(rows[i].want, rows[i].wantlen));
        sbuf_free(&out);
    }
}

/* ----------------------------------------------- line protocol: parse */

/* base64 of "alice@example.com", "<>"-less "alice@example.com",
 * "From: a@b\n" */
#define L_ALICE "YWxpY2VAZXhhbXBsZS5jb20="
#define H_FROM  "RnJvbTogYUBiCg=="

typedef struct line_row {
    const char *line;
    int ok;
    int cmd;
    unsigned fields;
    const char *login, *envfrom, *headers, *id;
    const char *why;
} line_row;

#define LF_ QUERY_F_LOGIN
#define EF_ QUERY_F_ENVFROM
#define HF_ QUERY_F_HEADERS
#define IF_ QUERY_F_ID

static const line_row line_rows[] = {
    {"mail login=" L_ALICE " envfrom=" L_ALICE, 1, QUERY_CMD_MAIL, LF_ | EF_, "alice@example.com",
     "alice@example.com", "", "", NULL},
    {"mail envfrom=" L_ALICE " login=" L_ALICE "\r", 1, QUERY_CMD_MAIL, LF_ | EF_,
     "alice@example.com", "alice@example.com", "", "", NULL},
    {"mail login= envfrom=", 1, QUERY_CMD_MAIL, LF_ | EF_, "", "", "", "", NULL},
    {"data login=" L_ALICE " envfrom= headers=" H_FROM " id=MXdXVA==", 1, QUERY_CMD_DATA,
     LF_ | EF_ | HF_ | IF_, "alice@example.com", "", "From: a@b\n", "1wWT", NULL},
    {"data login= envfrom= headers=", 1, QUERY_CMD_DATA, LF_ | EF_ | HF_, "", "", "", "", NULL},
    {"", 0, 0, 0, NULL, NULL, NULL, NULL, "unknown command"},
    {"mail", 0, 0, 0, NULL, NULL, NULL, NULL, "mail needs login and envfrom"},
    {"mail login=" L_ALICE, 0, 0, 0, NULL, NULL, NULL, NULL, "mail needs login and envfrom"},
    {"data login= envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "data needs login, envfrom and"},
    {"MAIL login= envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "unknown command"},
    {"mailx login= envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "unknown command"},
    {"rcpt login= envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "unknown command"},
    {"mail login= envfrom= login=", 0, 0, 0, NULL, NULL, NULL, NULL, "field given twice"},
    {"mail login= envfrom= sender=", 0, 0, 0, NULL, NULL, NULL, NULL, "unknown field"},
    {"mail login envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "field without \"=\""},
    {"mail login=  envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "empty field"},
    {"mail login= envfrom= ", 0, 0, 0, NULL, NULL, NULL, NULL, "empty field"},
    {" mail login= envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "unknown command"},
    {"mail login=YQ envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "multiple of 4"},
    {"mail login=YWxpY2U=AA== envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "padding inside"},
    {"mail login=YQBi envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "NUL octet"},
    {"mail login= envfrom=AA==", 0, 0, 0, NULL, NULL, NULL, NULL, "NUL octet"},
    {"mail login= envfrom= headers=", 0, 0, 0, NULL, NULL, NULL, NULL, "belong to the data"},
    {"mail\tlogin= envfrom=", 0, 0, 0, NULL, NULL, NULL, NULL, "unknown command"},
};

static int buf_is(const sbuf *b, const char *want, size_t wlen)
{
    return b->len == wlen && (wlen == 0 || memcmp(b->p, want, wlen) == 0);
}

static void test_line_parse(void **state)
{
    query_request rq;

    (void)state;
    query_request_init(&rq);
    for (size_t i = 0; i < sizeof(line_rows) / sizeof(line_rows[0]); i++) {
        const line_row *r = &line_rows[i];
        const char *why = NULL;
        int rc = query_line_parse(r->line, strlen(r->line), &rq, &why);
        if (r->ok && rc != 0)
            fail_msg("\"%s\": got error \"%s\", want it parsed", show(r->line, strlen(r->line)),
                     why);
        if (!r->ok && rc == 0)
            fail_msg("\"%s\": parsed, want an error with \"%s\"", show(r->line, strlen(r->line)),
                     r->why);
        if (!r->ok && (why == NULL || strstr(why, r->why) == NULL))
            fail_msg("\"%s\": got reason \"%s\", want one with \"%s\"",
                     show(r->line, strlen(r->line)), why ? why : "(none)", r->why);
        if (!r->ok)
            continue;
        if ((int)rq.cmd != r->cmd || rq.fields != r->fields)
            fail_msg("\"%s\": got command %d fields 0x%x, want %d 0x%x", r->line, rq.cmd, rq.fields,
                     r->cmd, r->fields);
        if (!buf_is(&rq.login, r->login, strlen(r->login)) ||
            !buf_is(&rq.envfrom, r->envfrom, strlen(r->envfrom)) ||
            !buf_is(&rq.headers, r->headers, strlen(r->headers)) ||
            !buf_is(&rq.id, r->id, strlen(r->id)))
            fail_msg("\"%s\": got login \"%s\" envfrom \"%s\" headers \"%s\" id \"%s\", want "
                     "\"%s\" \"%s\" \"%s\" \"%s\"",
                     r->line, show(rq.login.p, rq.login.len), show(rq.envfrom.p, rq.envfrom.len),
                     show(rq.headers.p, rq.headers.len), show(rq.id.p, rq.id.len), r->login,
                     r->envfrom, show(r->headers, strlen(r->headers)), r->id);
    }
    query_request_free(&rq);
}

/* A header section may hold any octet, NUL included. */
static void test_line_headers_binary(void **state)
{
    query_request rq;
    const char *why = NULL;
    const char line[] = "data login= envfrom= headers=AP8KRnJvbTog";

    (void)state;
    query_request_init(&rq);
    if (query_line_parse(line, strlen(line), &rq, &why) != 0)
        fail_msg("binary headers: got error \"%s\", want them decoded", why);
    if (!buf_is(&rq.headers, "\0\xff\nFrom: ", 9))
        fail_msg("binary headers: got \"%s\", want \"\\x00\\xFF\\x0AFrom: \"",
                 show(rq.headers.p, rq.headers.len));
    query_request_free(&rq);
}

/* A line longer than QUERY_LINE_MAX is refused whatever it holds. */
static void test_line_too_long(void **state)
{
    query_request rq;
    const char *why = NULL;
    size_t n = QUERY_LINE_MAX + 8;
    char *line = malloc(n);

    (void)state;
    assert_non_null(line);
    memcpy(line, "data login= envfrom= headers=", 29);
    memset(line + 29, 'A', n - 29);
    query_request_init(&rq);
    if (query_line_parse(line, n, &rq, &why) == 0 || why == NULL || strstr(why, "too long") == NULL)
        fail_msg("%zu octets: got \"%s\", want \"request line too long\"", n, why ? why : "parsed");
    query_request_free(&rq);
    free(line);
}

/* --------------------------------------------- line protocol: respond */

typedef struct resp_row {
    const char *name;
    enum policy_class cls;
    int action, would;
    const char *code, *xcode, *text, *reason;
    const char *want;
} resp_row;

static const resp_row resp_rows[] = {
    {"pass: the reason as text", POLICY_PASS, AUTHDB_ACT_ACCEPT, 0, "", "", "", "From allowed",
     "accept pass 250 2.0.0 From allowed\n"},
    {"pass without reason", POLICY_PASS, AUTHDB_ACT_ACCEPT, 0, "", "", "", "",
     "accept pass 250 2.0.0 ok\n"},
    {"reject at end of message", POLICY_MISMATCH, AUTHDB_ACT_REJECT, 0, "550", "5.7.1",
     "From address <ceo@example.com> rejected: not owned by login alice@example.com", "r",
     "reject mismatch 550 5.7.1 From address <ceo@example.com> rejected: not owned by login "
     "alice@example.com\n"},
    {"reject at MAIL", POLICY_MALFORMED, AUTHDB_ACT_REJECT, 0, "553", "5.1.7",
     "Sender address rejected: malformed address", "r",
     "reject malformed 553 5.1.7 Sender address rejected: malformed address\n"},
    {"unauthenticated", POLICY_UNAUTH, AUTHDB_ACT_REJECT, 0, "530", "5.7.0",
     "Authentication required", "r", "reject unauthenticated 530 5.7.0 Authentication required\n"},
    {"store failure", POLICY_TEMPFAIL, AUTHDB_ACT_TEMPFAIL, 0, "451", "4.3.0",
     "Temporary failure reading the send-as policy, try again later", "r",
     "tempfail tempfail 451 4.3.0 Temporary failure reading the send-as policy, try again "
     "later\n"},
    {"tempfail action", POLICY_MISMATCH, AUTHDB_ACT_TEMPFAIL, 0, "451", "4.7.1", "t", "r",
     "tempfail mismatch 451 4.7.1 t\n"},
    {"quarantine", POLICY_MISMATCH, AUTHDB_ACT_QUARANTINE, 0, "", "", "From address <x@y> ...", "r",
     "quarantine mismatch 250 2.0.0 From address <x@y> ...\n"},
    {"header", POLICY_MALFORMED, AUTHDB_ACT_HEADER, 0, "", "", "Message rejected: group syntax",
     "r", "header malformed 250 2.0.0 Message rejected: group syntax\n"},
    {"report_only", POLICY_MISMATCH, AUTHDB_ACT_ACCEPT, AUTHDB_ACT_REJECT, "550", "5.7.1",
     "From address <x@y> rejected", "r", "accept mismatch 250 2.0.0 From address <x@y> rejected\n"},
    {"reject without a 5xx code falls back", POLICY_MISMATCH, AUTHDB_ACT_REJECT, 0, "", "", "t",
     "r", "reject mismatch 550 5.7.1 t\n"},
    {"reject with a 4xx code falls back", POLICY_MISMATCH, AUTHDB_ACT_REJECT, 0, "451", "4.3.0",
     "t", "r", "reject mismatch 550 5.7.1 t\n"},
    {"tempfail with a 5xx code falls back", POLICY_TEMPFAIL, AUTHDB_ACT_TEMPFAIL, 0, "550", "5.7.1",
     "t", "r", "tempfail tempfail 451 4.3.0 t\n"},
    {"control octets are escaped", POLICY_MISMATCH, AUTHDB_ACT_REJECT, 0, "550", "5.7.1",
     "a\nb\rc\x01\xc3\xa9", "r", "reject mismatch 550 5.7.1 a\\x0Ab\\x0Dc\\x01\\xC3\\xA9\n"},
};

static void test_line_response(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(resp_rows) / sizeof(resp_rows[0]); i++) {
        const resp_row *r = &resp_rows[i];
        policy_verdict v;
        char out[QUERY_RESPONSE_MAX];
        size_t n;
        memset(&v, 0, sizeof(v));
        v.cls = r->cls;
        v.action = r->action;
        v.would = r->would;
        snprintf(v.code, sizeof(v.code), "%s", r->code);
        snprintf(v.xcode, sizeof(v.xcode), "%s", r->xcode);
        snprintf(v.text, sizeof(v.text), "%s", r->text);
        snprintf(v.reason, sizeof(v.reason), "%s", r->reason);
        n = query_line_response(&v, out, sizeof(out));
        if (n != strlen(r->want) || strcmp(out, r->want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", r->name, show(out, n),
                     show(r->want, strlen(r->want)));
    }
}

/* The longest text still gives one line ending in LF. */
static void test_line_response_long(void **state)
{
    policy_verdict v;
    char out[QUERY_RESPONSE_MAX];
    size_t n;

    (void)state;
    memset(&v, 0, sizeof(v));
    v.cls = POLICY_UNAUTH_LOCAL;
    v.action = AUTHDB_ACT_QUARANTINE;
    memset(v.text, '\x01', sizeof(v.text) - 1);
    n = query_line_response(&v, out, sizeof(out));
    if (n == 0 || n >= sizeof(out) || out[n - 1] != '\n' || memchr(out, '\n', n - 1) != NULL)
        fail_msg("long text: got %zu octets \"%s\", want one line ending in LF", n, show(out, n));
    n = query_line_error("x", out, sizeof(out));
    if (strcmp(out, "tempfail tempfail 451 4.3.0 authgate-query: bad request: x\n") != 0)
        fail_msg("error line: got \"%s\"", show(out, n));
}

/* ---------------------------------------------- raw header sections */

typedef struct hdr_row {
    const char *name;
    const char *sec;
    size_t len; /* 0: strlen */
    int ok;
    size_t nfrom, nsender;
    const char *from; /* NULL: none or too long */
    size_t from_len;  /* 0: strlen(from) */
    const char *sender;
    const char *why;
} hdr_row;

static const hdr_row hdr_rows[] = {
    {"one From", "From: Alice <alice@example.com>\n", 0, 1, 1, 0, "Alice <alice@example.com>", 0,
     NULL, NULL},
    {"no trailing LF", "From: a@b", 0, 1, 1, 0, "a@b", 0, NULL, NULL},
    {"CR LF ends the field", "From: a@b\r\nSubject: x\r\n", 0, 1, 1, 0, "a@b", 0, NULL, NULL},
    {"folded value keeps its line break", "From: Alice\n\t<alice@example.com>\nTo: x\n", 0, 1, 1, 0,
     "Alice\n\t<alice@example.com>", 0, NULL, NULL},
    {"only one SP is eaten", "From:  a@b\n", 0, 1, 1, 0, " a@b", 0, NULL, NULL},
    {"no SP after the colon", "From:a@b\n", 0, 1, 1, 0, "a@b", 0, NULL, NULL},
    {"a tab after the colon stays", "From:\ta@b\n", 0, 1, 1, 0, "\ta@b", 0, NULL, NULL},
    {"name case", "FROM: a@b\nsender: s@b\n", 0, 1, 1, 1, "a@b", 0, "s@b", NULL},
    {"blank before the colon", "From : a@b\n", 0, 1, 1, 0, "a@b", 0, NULL, NULL},
    {"tab before the colon", "From\t: a@b\n", 0, 1, 1, 0, "a@b", 0, NULL, NULL},
    {"two From fields: first kept", "From: a@b\nSubject: x\nFrom: c@d\n", 0, 1, 2, 0, "a@b", 0,
     NULL, NULL},
    {"From : as the second", "From: a@b\nfrom : c@d\n", 0, 1, 2, 0, "a@b", 0, NULL, NULL},
    {"an empty From field counts", "From:\nFrom: a@b\n", 0, 1, 2, 0, "", 0, NULL, NULL},
    {"empty then folded-looking", "From:\n a@b\n", 0, 1, 1, 0, "\n a@b", 0, NULL, NULL},
    {"similar names are not From", "X-From: a@b\nResent-From: c@d\nFromx: e@f\nFrom-: g\n", 0, 1, 0,
     0, NULL, 0, NULL, NULL},
    {"Sender twice", "Sender: a@b\nSender: c@d\n", 0, 1, 0, 2, NULL, 0, "a@b", NULL},
    {"NUL octet reaches the parser", "From: a@b\0c\n", 12, 1, 1, 0, "a@b\0c", 5, NULL, NULL},
    {"empty section", "", 0, 1, 0, 0, NULL, 0, NULL, NULL},
    {"continuation first", " x\nFrom: a@b\n", 0, 0, 0, 0, NULL, 0, NULL, "continuation line"},
    {"line without a colon", "From: a@b\nnot a header\n", 0, 0, 0, 0, NULL, 0, NULL,
     "without a colon"},
    {"colon on a later line only", "Subject\n : x\n", 0, 0, 0, 0, NULL, 0, NULL, "without a colon"},
    {"empty name", ": x\n", 0, 0, 0, 0, NULL, 0, NULL, "empty name"},
};

static void check_hdr_row(const hdr_row *r)
{
    size_t len = r->len ? r->len : strlen(r->sec);
    query_hdrs h;
    const char *why = NULL;
    int rc = query_hdrs_scan(r->sec, len, &h, &why);

    if (r->ok && rc != 0)
        fail_msg("%s: got error \"%s\", want it scanned", r->name, why);
    if (!r->ok) {
        if (rc == 0 || why == NULL || strstr(why, r->why) == NULL)
            fail_msg("%s: got \"%s\", want an error with \"%s\"", r->name, rc == 0 ? "ok" : why,
                     r->why);
        return;
    }
    if (h.nfrom != r->nfrom || h.nsender != r->nsender)
        fail_msg("%s: got %zu From and %zu Sender, want %zu and %zu", r->name, h.nfrom, h.nsender,
                 r->nfrom, r->nsender);
    if (r->from == NULL && h.from != NULL)
        fail_msg("%s: got From body \"%s\", want none", r->name, show(h.from, h.from_len));
    if (r->from != NULL) {
        size_t fl = r->from_len ? r->from_len : strlen(r->from);
        if (h.from == NULL || h.from_len != fl || memcmp(h.from, r->from, fl) != 0)
            fail_msg("%s: got From body \"%s\", want \"%s\"", r->name,
                     h.from ? show(h.from, h.from_len) : "(none)", show(r->from, fl));
    }
    if ((r->sender == NULL) != (h.sender == NULL) ||
        (r->sender != NULL &&
         (h.sender_len != strlen(r->sender) || memcmp(h.sender, r->sender, h.sender_len) != 0)))
        fail_msg("%s: got Sender body \"%s\", want \"%s\"", r->name,
                 h.sender ? show(h.sender, h.sender_len) : "(none)",
                 r->sender ? r->sender : "(none)");
}

static void test_hdrs_scan(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(hdr_rows) / sizeof(hdr_rows[0]); i++)
        check_hdr_row(&hdr_rows[i]);
}

/* The first From body is kept up to MAILBOX_FIELD_MAX octets, like the
 * milter's collector; one more and it is "too long" (NULL). */
static void test_hdrs_field_max(void **state)
{
    size_t n = MAILBOX_FIELD_MAX;
    char *sec = malloc(n + 16);

    (void)state;
    assert_non_null(sec);
    for (int extra = 0; extra <= 1; extra++) {
        query_hdrs h;
        const char *why;
        size_t len;
        memcpy(sec, "From: ", 6);
        memset(sec + 6, 'a', n + (size_t)extra);
        sec[6 + n + (size_t)extra] = '\n';
        len = 7 + n + (size_t)extra;
        assert_int_equal(query_hdrs_scan(sec, len, &h, &why), 0);
        if (h.nfrom != 1)
            fail_msg("%zu-octet From: got %zu fields, want 1", n + (size_t)extra, h.nfrom);
        if (extra == 0 && (h.from == NULL || h.from_len != n))
            fail_msg("%zu-octet From: got %s, want it kept", n, h.from ? "a body" : "none");
        if (extra == 1 && h.from != NULL)
            fail_msg("%zu-octet From: got it kept, want \"too long\" (none)", n + 1);
    }
    free(sec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_decode),          cmocka_unit_test(test_b64_roundtrip),
        cmocka_unit_test(test_b64_limit),           cmocka_unit_test(test_netstring_parse),
        cmocka_unit_test(test_netstring_append),    cmocka_unit_test(test_line_parse),
        cmocka_unit_test(test_line_headers_binary), cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_line_response),       cmocka_unit_test(test_line_response_long),
        cmocka_unit_test(test_hdrs_scan),           cmocka_unit_test(test_hdrs_field_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
