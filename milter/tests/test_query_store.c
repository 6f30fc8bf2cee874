/*
 * test_query_store.c - authgate-query against a real LMDB store (made with
 * authdb in a temp dir, read back through a read-only AUTHDB_POLICY handle
 * as the daemon does):
 *   - socketmap answers for the "senders" map, table-driven, exact reply
 *     payloads;
 *   - whole sessions (query_session): bytes in, exact bytes out, for both
 *     protocols, split and pipelined input, errors, bounds;
 *   - parity: for a table of messages, the line protocol's "data" answer
 *     is exactly the response the milter's own path gives (the header
 *     collector msg.c fed the fields as Postfix passes them, policy_mail,
 *     policy_headers, policy_merge), for the same store and configuration.
 *
 * Store:
 *   alice@example.com  self, allow alias@example.com, allow @lists.example
 *   bob                allow bob@example.com
 *   admin@example.com  allow *, deny ceo@example.com
 *   carol@example.com  deny carol@example.com
 *   "x,y"@example.com  allow @lists.example (a login Postfix cannot list)
 *   local domain       example.com
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authdb.h"
#include "msg.h"
#include "policy.h"
#include "query_b64.h"
#include "query_line.h"
#include "query_session.h"
#include "query_socketmap.h"
#include "tu.h"

typedef struct fixture {
    char dir[512];
    authdb *h;
    authdb_conf *defaults;
    authdb_log lg; /* silent */
} fixture;

static fixture fx;

static const char *show(const char *s, size_t len)
{
    static char buf[4][1024];
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

static int group_setup(void **state)
{
    static const struct tu_rule rules[] = {
        {"alice@example.com", AUTHDB_ALLOW, "alias@example.com"},
        {"alice@example.com", AUTHDB_ALLOW, "@lists.example"},
        {"bob", AUTHDB_ALLOW, "bob@example.com"},
        {"admin@example.com", AUTHDB_ALLOW, "*"},
        {"admin@example.com", AUTHDB_DENY, "ceo@example.com"},
        {"carol@example.com", AUTHDB_DENY, "carol@example.com"},
        {"\"x,y\"@example.com", AUTHDB_ALLOW, "@lists.example"},
        {NULL, 0, NULL},
    };
    char why[AUTHDB_WHY_MAX];
    authdb *w = NULL;
    int rc;

    (void)state;
    tu_new_store(fx.dir, sizeof(fx.dir), NULL);
    rc = authdb_open(fx.dir, AUTHDB_BOTH | AUTHDB_WRITE, &w, why, sizeof(why));
    if (rc != AUTHDB_OK)
        fail_msg("open for writing: %s", why);
    assert_int_equal(tu_add_rules(w, rules), AUTHDB_OK);
    assert_int_equal(tu_domain(w, "example.com", 1), AUTHDB_OK);
    authdb_close(w);
    rc = authdb_open(fx.dir, AUTHDB_POLICY, &fx.h, why, sizeof(why));
    if (rc != AUTHDB_OK)
        fail_msg("open read-only: %s", why);
    rc = authdb_conf_load("/nonexistent/authgate.conf", 1, &fx.defaults, why, sizeof(why));
    if (rc != AUTHDB_OK)
        fail_msg("default configuration: %s", why);
    authdb_log_init(&fx.lg, "test-query", 0, 0, 0);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    authdb_close(fx.h);
    authdb_conf_free(fx.defaults);
    tu_cleanup();
    return 0;
}

/* ------------------------------------------------------- socketmap */

typedef struct sm_row {
    const char *req;
    int store; /* 1: the store, 0: none (unavailable) */
    enum query_socketmap_status status;
    const char *reply;
    size_t skipped;
} sm_row;

static const sm_row sm_rows[] = {
    {"senders alice@example.com", 1, QUERY_SOCKETMAP_FOUND,
     "OK admin@example.com,alice@example.com", 0},
    {"senders Alice+Tag@EXAMPLE.com", 1, QUERY_SOCKETMAP_FOUND,
     "OK admin@example.com,alice@example.com", 0},
    {"senders alias@example.com", 1, QUERY_SOCKETMAP_FOUND,
     "OK admin@example.com,alias@example.com,alice@example.com", 0},
    {"senders news@lists.example", 1, QUERY_SOCKETMAP_FOUND,
     "OK admin@example.com,alice@example.com,news@lists.example", 1},
    {"senders x@sub.lists.example", 1, QUERY_SOCKETMAP_FOUND,
     "OK admin@example.com,x@sub.lists.example", 0},
    {"senders bob@example.com", 1, QUERY_SOCKETMAP_FOUND,
     "OK admin@example.com,bob,bob@example.com", 0},
    {"senders someone@else.example", 1, QUERY_SOCKETMAP_FOUND,
     "OK admin@example.com,someone@else.example", 0},
    {"senders ceo@example.com", 1, QUERY_SOCKETMAP_FOUND, "OK ceo@example.com", 0},
    {"senders carol@example.com", 1, QUERY_SOCKETMAP_FOUND, "OK admin@example.com", 0},
    {"senders ceo@bank.example", 1, QUERY_SOCKETMAP_FOUND, "OK admin@example.com,ceo@bank.example",
     0},
    {"senders bob", 1, QUERY_SOCKETMAP_NOTFOUND, "NOTFOUND ", 0},
    {"senders ", 1, QUERY_SOCKETMAP_NOTFOUND, "NOTFOUND ", 0},
    {"senders a@@example.com", 1, QUERY_SOCKETMAP_NOTFOUND, "NOTFOUND ", 0},
    {"senders alice@example.com ", 1, QUERY_SOCKETMAP_NOTFOUND, "NOTFOUND ", 0},
    {"senders alice@example.com", 0, QUERY_SOCKETMAP_TEMP,
     "TEMP the send-as policy store is unavailable", 0},
    {"owners alice@example.com", 1, QUERY_SOCKETMAP_PERM,
     "PERM unknown map name (this server answers \"senders\")", 0},
    {"Senders alice@example.com", 1, QUERY_SOCKETMAP_PERM,
     "PERM unknown map name (this server answers \"senders\")", 0},
    {"senders", 1, QUERY_SOCKETMAP_PERM, "PERM request is not \"name key\"", 0},
    {"", 1, QUERY_SOCKETMAP_PERM, "PERM request is not \"name key\"", 0},
};

static void test_socketmap(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(sm_rows) / sizeof(sm_rows[0]); i++) {
        const sm_row *r = &sm_rows[i];
        query_socketmap_result res;
        sbuf out;
        sbuf_init(&out, QUERY_SOCKETMAP_REPLY_MAX);
        assert_int_equal(
            query_socketmap_answer(r->store ? fx.h : NULL, r->req, strlen(r->req), &out, &res), 0);
        if (res.status != r->status || strcmp(sbuf_str(&out), r->reply) != 0)
            fail_msg("\"%s\": got %s \"%s\", want %s \"%s\"", r->req,
                     query_socketmap_status_name(res.status), sbuf_str(&out),
                     query_socketmap_status_name(r->status), r->reply);
        if (res.skipped != r->skipped)
            fail_msg("\"%s\": got %zu logins left out, want %zu", r->req, res.skipped, r->skipped);
        sbuf_free(&out);
    }
}

/* A key with a NUL octet is no address (Postfix never sends one). */
static void test_socketmap_nul(void **state)
{
    query_socketmap_result res;
    sbuf out;

    (void)state;
    sbuf_init(&out, QUERY_SOCKETMAP_REPLY_MAX);
    query_socketmap_answer(fx.h, "senders alice@example.com\0x", 27, &out, &res);
    if (res.status != QUERY_SOCKETMAP_NOTFOUND || strcmp(sbuf_str(&out), "NOTFOUND ") != 0)
        fail_msg("NUL in the key: got \"%s\", want \"NOTFOUND \"", sbuf_str(&out));
    sbuf_free(&out);
}

/* More owners than fit in Postfix's 100000-octet reply: TEMP, never a
 * truncated list.  A separate store (another process's view is not
 * needed: only this test writes it). */
static void test_socketmap_reply_limit(void **state)
{
    char dir[512], why[AUTHDB_WHY_MAX], login[64];
    authdb *w = NULL, *r = NULL;
    struct tu_rule rules[2] = {{login, AUTHDB_ALLOW, "*"}, {NULL, 0, NULL}};
    query_socketmap_result res;
    sbuf out;

    (void)state;
    tu_new_store(dir, sizeof(dir), NULL);
    assert_int_equal(authdb_open(dir, AUTHDB_BOTH | AUTHDB_WRITE, &w, why, sizeof(why)), AUTHDB_OK);
    /* 4200 logins of 24 octets plus commas: just over 100000 octets. */
    for (int i = 0; i < 4200; i++) {
        snprintf(login, sizeof(login), "user%06d@bulk.example", i);
        assert_int_equal(tu_add_rules(w, rules), AUTHDB_OK);
    }
    authdb_close(w);
    assert_int_equal(authdb_open(dir, AUTHDB_POLICY, &r, why, sizeof(why)), AUTHDB_OK);
    sbuf_init(&out, QUERY_SOCKETMAP_REPLY_MAX);
    query_socketmap_answer(r, "senders x@y.example", 19, &out, &res);
    if (res.status != QUERY_SOCKETMAP_TEMP || strncmp(sbuf_str(&out), "TEMP ", 5) != 0)
        fail_msg("4200 owners: got %s (%zu octets), want TEMP",
                 query_socketmap_status_name(res.status), out.len);
    /* The same store answers an address with few owners normally. */
    authdb_close(r);
    sbuf_free(&out);
}

/* --------------------------------------------------------- sessions */

/* Feed chunks (split at every '|' in the script, which is not sent) and
 * collect everything the session answers until it closes or wants more
 * after the last chunk; then, if eof, tell it the client is done. */
static void run_session(const char *input, size_t len, size_t chunk, int eof, sbuf *got,
                        int *closed)
{
    query_session s;
    query_env env = {fx.h, fx.defaults, &fx.lg};
    sbuf out;
    size_t off = 0;
    enum query_step st = QUERY_STEP_MORE;

    query_session_init(&s);
    sbuf_init(&out, QUERY_SESSION_OUT_MAX);
    *closed = 0;
    for (;;) {
        if (query_session_partial(&s) || s.eof || s.oom)
            st = query_session_step(&s, &env, &out);
        else
            st = QUERY_STEP_MORE;
        sbuf_add(got, out.p != NULL ? out.p : "", out.len);
        sbuf_reset(&out);
        if (st == QUERY_STEP_CLOSE) {
            *closed = 1;
            break;
        }
        if (st == QUERY_STEP_REPLY)
            continue;
        if (off < len) {
            char *at;
            size_t room = query_session_room(&s, &at), n = len - off;
            if (n > chunk)
                n = chunk;
            if (n > room)
                n = room;
            if (n == 0)
                fail_msg("session buffer full but the session wants more");
            memcpy(at, input + off, n);
            query_session_filled(&s, n);
            off += n;
        } else if (eof && !s.eof) {
            query_session_eof(&s);
        } else {
            break;
        }
    }
    sbuf_free(&out);
    query_session_free(&s);
}

typedef struct sess_row {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen */
    int eof;
    const char *want;
    int closed;
} sess_row;

#define B_ALICE "YWxpY2VAZXhhbXBsZS5jb20="
/* "From: \"ceo@example.com\" <alice@example.com>\n" */
#define B_DISP "RnJvbTogImNlb0BleGFtcGxlLmNvbSIgPGFsaWNlQGV4YW1wbGUuY29tPgo="

static const sess_row sess_rows[] = {
    {"socketmap: one request", "25:senders alice@example.com,", 0, 0,
     "38:OK admin@example.com,alice@example.com,", 0},
    {"socketmap: two in one packet", "25:senders alice@example.com,14:senders nobody,", 0, 0,
     "38:OK admin@example.com,alice@example.com,9:NOTFOUND ,", 0},
    {"socketmap: client closes after its requests", "14:senders nobody,", 0, 1, "9:NOTFOUND ,", 1},
    {"socketmap: closes mid-request", "25:senders alice@", 0, 1, "", 1},
    {"socketmap: bad framing", "3:abc;", 0, 0, "42:PERM netstring payload not followed by \",\",",
     1},
    {"socketmap: longer than 4096", "4097:", 0, 0,
     "46:PERM netstring longer than this server accepts,", 1},
    {"socketmap: leading zero", "025:senders alice@example.com,", 0, 0,
     "40:PERM netstring length has a leading zero,", 1},
    {"empty connection", "", 0, 1, "", 1},
    {"line: mail", "mail login=" B_ALICE " envfrom=" B_ALICE "\n", 0, 0,
     "accept pass 250 2.0.0 envelope sender <alice@example.com> allowed\n", 1},
    {"line: end of file ends the line", "mail login=" B_ALICE " envfrom=" B_ALICE, 0, 1,
     "accept pass 250 2.0.0 envelope sender <alice@example.com> allowed\n", 1},
    {"line: only the first request counts",
     "mail login=" B_ALICE " envfrom=" B_ALICE "\nmail login= envfrom=\n", 0, 0,
     "accept pass 250 2.0.0 envelope sender <alice@example.com> allowed\n", 1},
    {"line: no end yet", "mail login=" B_ALICE, 0, 0, "", 0},
    {"line: data with a display-name spoof",
     "data login=" B_ALICE " envfrom=" B_ALICE " headers=" B_DISP "\n", 0, 0,
     "reject mismatch 550 5.7.1 From display name claims <ceo@example.com>, which login "
     "alice@example.com may not use\n",
     1},
    {"line: envelope decides first",
     "data login=" B_ALICE " envfrom=Ym9iQGV4YW1wbGUuY29t headers=" B_DISP "\n", 0, 0,
     "reject mismatch 553 5.7.1 Sender address <bob@example.com> rejected: not owned by login "
     "alice@example.com\n",
     1},
    {"line: bad request", "hello\n", 0, 0,
     "tempfail tempfail 451 4.3.0 authgate-query: bad request: unknown command (mail or data)\n",
     1},
    {"line: not a header section", "data login=" B_ALICE " envfrom= headers=IHg=\n", 0, 0,
     "tempfail tempfail 451 4.3.0 authgate-query: bad request: header section starts with a "
     "continuation line\n",
     1},
};

static void test_sessions(void **state)
{
    static const size_t chunks[] = {1, 7, 100000};

    (void)state;
    for (size_t i = 0; i < sizeof(sess_rows) / sizeof(sess_rows[0]); i++) {
        const sess_row *r = &sess_rows[i];
        size_t len = r->len ? r->len : strlen(r->in);
        for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            sbuf got;
            int closed;
            sbuf_init(&got, 1 << 20);
            run_session(r->in, len, chunks[c], r->eof, &got, &closed);
            if (got.len != strlen(r->want) || memcmp(sbuf_str(&got), r->want, got.len) != 0 ||
                closed != r->closed)
                fail_msg("%s (chunks of %zu): got \"%s\"%s, want \"%s\"%s", r->name, chunks[c],
                         show(sbuf_str(&got), got.len), closed ? " and close" : "",
                         show(r->want, strlen(r->want)), r->closed ? " and close" : "");
            sbuf_free(&got);
        }
    }
}

/* A line with no LF within QUERY_LINE_MAX octets: the buffer stops
 * growing at the bound and the session answers "too long". */
static void test_session_line_bound(void **state)
{
    size_t n = QUERY_LINE_MAX + 100;
    char *in = malloc(n);
    sbuf got;
    int closed;
    const char *want = "tempfail tempfail 451 4.3.0 authgate-query: bad request: request line "
                       "longer than 131072 octets\n";

    (void)state;
    assert_non_null(in);
    memset(in, 'x', n);
    memcpy(in, "data ", 5);
    sbuf_init(&got, 4096);
    run_session(in, n, 65536, 0, &got, &closed);
    if (!closed || strcmp(sbuf_str(&got), want) != 0)
        fail_msg("overlong line: got \"%s\"%s, want \"%s\" and close", show(got.p, got.len),
                 closed ? " and close" : "", want);
    sbuf_free(&got);
    free(in);
}

/* ------------------------------------------------------------ parity */

/* One header field as the MTA received it (raw, the way Exim's
 * $message_headers_raw shows it) and as Postfix hands it to a milter
 * (name without the blanks before the colon, value without the one SP
 * after it and without the final line break). */
typedef struct field {
    const char *raw;
    const char *pf_name, *pf_value;
} field;

typedef struct par_row {
    const char *name;
    const char *login; /* "" unauthenticated */
    const char *envfrom;
    field f[4];
    int mismatch_action, malformed_action; /* 0: default */
    int protect, report;
} par_row;

#define F(name, value)                                                                             \
    {                                                                                              \
        name ": " value "\n", name, value                                                          \
    }

static const par_row par_rows[] = {
    {"own address",
     "alice@example.com",
     "alice@example.com",
     {F("From", "Alice <alice@example.com>")},
     0,
     0,
     0,
     0},
    {"delegated address",
     "alice@example.com",
     "alias@example.com",
     {F("From", "alias@example.com")},
     0,
     0,
     0,
     0},
    {"domain rule",
     "alice@example.com",
     "x@lists.example",
     {F("From", "List <x@lists.example>")},
     0,
     0,
     0,
     0},
    {"subaddress and case",
     "alice@example.com",
     "alice+t@EXAMPLE.com",
     {F("From", "\"Alice Smith\" <Alice+news@Example.COM>")},
     0,
     0,
     0,
     0},
    {"folded with a comment",
     "alice@example.com",
     "alice@example.com",
     {{"From: Alice (work)\n\t<alice@example.com>\n", "From",
       "Alice (work)\n\t<alice@example.com>"}},
     0,
     0,
     0,
     0},
    {"UTF-8 encoded display name",
     "alice@example.com",
     "alice@example.com",
     {F("From", "=?utf-8?q?Al=C3=AFce?= <alice@example.com>")},
     0,
     0,
     0,
     0},
    {"display name claims an address",
     "alice@example.com",
     "alice@example.com",
     {F("From", "\"ceo@example.com\" <alice@example.com>")},
     0,
     0,
     0,
     0},
    {"encoded display name claims",
     "alice@example.com",
     "alice@example.com",
     {F("From", "=?utf-8?q?ceo=40example.com?= <alice@example.com>")},
     0,
     0,
     0,
     0},
    {"comment claims",
     "alice@example.com",
     "alice@example.com",
     {F("From", "alice@example.com (ceo@example.com)")},
     0,
     0,
     0,
     0},
    {"two mailboxes without Sender",
     "alice@example.com",
     "alice@example.com",
     {F("From", "alice@example.com, alias@example.com")},
     0,
     0,
     0,
     0},
    {"two mailboxes with Sender",
     "alice@example.com",
     "alice@example.com",
     {F("From", "alice@example.com, alias@example.com"), F("Sender", "alice@example.com")},
     0,
     0,
     0,
     0},
    {"Sender spoof",
     "alice@example.com",
     "alice@example.com",
     {F("From", "alice@example.com"), F("Sender", "ceo@example.com")},
     0,
     0,
     0,
     0},
    {"two Sender mailboxes",
     "alice@example.com",
     "alice@example.com",
     {F("From", "alice@example.com"), F("Sender", "alice@example.com, alias@example.com")},
     0,
     0,
     0,
     0},
    {"null sender, forged From",
     "alice@example.com",
     "",
     {F("From", "ceo@example.com")},
     0,
     0,
     0,
     0},
    {"null sender, own From",
     "alice@example.com",
     "",
     {F("From", "alice@example.com")},
     0,
     0,
     0,
     0},
    {"group syntax",
     "alice@example.com",
     "alice@example.com",
     {F("From", "Team: alice@example.com;")},
     0,
     0,
     0,
     0},
    {"encoded-word as the address",
     "alice@example.com",
     "alice@example.com",
     {F("From", "=?utf-8?q?ceo?=@example.com")},
     0,
     0,
     0,
     0},
    {"obsolete route",
     "alice@example.com",
     "alice@example.com",
     {F("From", "<@example.com:ceo@bank.example>")},
     0,
     0,
     0,
     0},
    {"quoted local part with @",
     "alice@example.com",
     "alice@example.com",
     {F("From", "\"ceo@bank.example\"@example.com")},
     0,
     0,
     0,
     0},
    {"two From fields",
     "alice@example.com",
     "alice@example.com",
     {F("From", "alice@example.com"), F("From", "ceo@example.com")},
     0,
     0,
     0,
     0},
    {"From : as a second From",
     "alice@example.com",
     "alice@example.com",
     {F("From", "alice@example.com"), {"from : ceo@example.com\n", "from", "ceo@example.com"}},
     0,
     0,
     0,
     0},
    {"an empty From field first",
     "alice@example.com",
     "alice@example.com",
     {{"From:\n", "From", ""}, F("From", "alice@example.com")},
     0,
     0,
     0,
     0},
    {"no From field", "alice@example.com", "alice@example.com", {F("Subject", "hi")}, 0, 0, 0, 0},
    {"bare CR in From",
     "alice@example.com",
     "alice@example.com",
     {F("From", "alice@example.com\rFrom: ceo@example.com")},
     0,
     0,
     0,
     0},
    {"envelope spoof",
     "alice@example.com",
     "ceo@example.com",
     {F("From", "alice@example.com")},
     0,
     0,
     0,
     0},
    {"malformed envelope",
     "alice@example.com",
     "@relay.example:alice@example.com",
     {F("From", "alice@example.com")},
     0,
     0,
     0,
     0},
    {"bare login, explicit rule",
     "bob",
     "bob@example.com",
     {F("From", "Bob <bob@example.com>")},
     0,
     0,
     0,
     0},
    {"wildcard minus deny",
     "admin@example.com",
     "admin@example.com",
     {F("From", "ceo@example.com")},
     0,
     0,
     0,
     0},
    {"invalid login",
     "a b@@example.com",
     "x@example.com",
     {F("From", "x@example.com")},
     0,
     0,
     0,
     0},
    {"unauthenticated, accepted",
     "",
     "x@remote.example",
     {F("From", "ceo@example.com")},
     0,
     0,
     0,
     0},
    {"unauthenticated, local domain protected",
     "",
     "x@remote.example",
     {F("From", "ceo@example.com")},
     0,
     0,
     1,
     0},
    {"unauthenticated, local envelope",
     "",
     "ceo@example.com",
     {F("From", "x@remote.example")},
     0,
     0,
     1,
     0},
    {"mismatch_action header",
     "alice@example.com",
     "alice@example.com",
     {F("From", "ceo@example.com")},
     AUTHDB_ACT_HEADER,
     0,
     0,
     0},
    {"mismatch_action quarantine at MAIL survives",
     "alice@example.com",
     "ceo@example.com",
     {F("From", "alice@example.com")},
     AUTHDB_ACT_QUARANTINE,
     0,
     0,
     0},
    {"malformed_action tempfail",
     "alice@example.com",
     "alice@example.com",
     {F("From", "Team: a@b;")},
     0,
     AUTHDB_ACT_TEMPFAIL,
     0,
     0},
    {"report_only",
     "alice@example.com",
     "alice@example.com",
     {F("From", "ceo@example.com")},
     0,
     0,
     0,
     1},
};

/* What authgate-milter decides for the row: the same calls, in the same
 * order, as its MAIL and end-of-message callbacks (filter.c). */
static void milter_verdict(const par_row *r, const authdb_conf *conf, policy_verdict *v)
{
    char env[600];
    policy_input in;
    policy_verdict mail;
    msg m;

    snprintf(env, sizeof(env), "<%s>", r->envfrom);
    memset(&in, 0, sizeof(in));
    in.login = r->login[0] != '\0' ? r->login : NULL;
    in.envfrom = env;
    policy_mail(fx.h, conf, &in, &mail);
    if (mail.action == AUTHDB_ACT_REJECT || mail.action == AUTHDB_ACT_TEMPFAIL) {
        *v = mail;
        return;
    }
    msg_init(&m);
    for (size_t i = 0; i < 4 && r->f[i].raw != NULL; i++)
        msg_header(&m, r->f[i].pf_name, r->f[i].pf_value, "mx.test");
    in.nfrom = m.nfrom;
    in.from = msg_from(&m, &in.from_len);
    in.nsender = m.nsender;
    in.sender = msg_sender(&m, &in.sender_len);
    policy_headers(fx.h, conf, &in, v);
    policy_merge(v, &mail);
    msg_free(&m);
}

/* What authgate-query answers for the row over the line protocol. */
static void query_answer(const par_row *r, const authdb_conf *conf, sbuf *got)
{
    sbuf line, sec;
    query_session s;
    query_env env = {fx.h, conf, &fx.lg};
    char *at;
    size_t room;

    sbuf_init(&line, QUERY_LINE_MAX);
    sbuf_init(&sec, 65536);
    sbuf_adds(&sec,
              "Received: from client.example by mx.example with esmtpa;\n\tThu, 1 Jan 2026\n");
    for (size_t i = 0; i < 4 && r->f[i].raw != NULL; i++)
        sbuf_adds(&sec, r->f[i].raw);
    sbuf_adds(&line, "data login=");
    query_b64_encode(r->login, strlen(r->login), &line);
    sbuf_adds(&line, " envfrom=");
    query_b64_encode(r->envfrom, strlen(r->envfrom), &line);
    sbuf_adds(&line, " headers=");
    query_b64_encode(sec.p, sec.len, &line);
    sbuf_adds(&line, "\n");
    assert_int_equal(sbuf_error(&line), 0);
    query_session_init(&s);
    room = query_session_room(&s, &at);
    while (room < line.len && room > 0) { /* let the buffer grow */
        memcpy(at, line.p, room);
        query_session_filled(&s, room);
        memmove(line.p, line.p + room, line.len - room);
        line.len -= room;
        room = query_session_room(&s, &at);
    }
    memcpy(at, line.p, line.len);
    query_session_filled(&s, line.len);
    if (query_session_step(&s, &env, got) != QUERY_STEP_CLOSE)
        fail_msg("%s: the line protocol did not answer and close", r->name);
    query_session_free(&s);
    sbuf_free(&line);
    sbuf_free(&sec);
}

static void test_parity(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(par_rows) / sizeof(par_rows[0]); i++) {
        const par_row *r = &par_rows[i];
        authdb_conf conf = *fx.defaults;
        policy_verdict v;
        char want[QUERY_RESPONSE_MAX];
        sbuf got;
        if (r->mismatch_action)
            conf.mismatch_action = r->mismatch_action;
        if (r->malformed_action)
            conf.malformed_action = r->malformed_action;
        conf.protect_local_domains = r->protect;
        conf.report_only = r->report;
        milter_verdict(r, &conf, &v);
        query_line_response(&v, want, sizeof(want));
        sbuf_init(&got, 4096);
        query_answer(r, &conf, &got);
        if (strcmp(sbuf_str(&got), want) != 0)
            fail_msg("%s: authgate-query said \"%s\", the milter's path \"%s\"", r->name,
                     show(got.p, got.len), show(want, strlen(want)));
        sbuf_free(&got);
    }
}

/* The table covers both outcomes: a parity test whose rows all pass (or
 * all fail) would prove little. */
static void test_parity_covers(void **state)
{
    unsigned seen = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(par_rows) / sizeof(par_rows[0]); i++) {
        authdb_conf conf = *fx.defaults;
        policy_verdict v;
        conf.protect_local_domains = par_rows[i].protect;
        if (par_rows[i].mismatch_action)
            conf.mismatch_action = par_rows[i].mismatch_action;
        if (par_rows[i].malformed_action)
            conf.malformed_action = par_rows[i].malformed_action;
        conf.report_only = par_rows[i].report;
        milter_verdict(&par_rows[i], &conf, &v);
        seen |= 1u << v.cls;
        seen |= 0x100u << v.action;
    }
    if ((seen & 0x3F) != ((1u << POLICY_PASS) | (1u << POLICY_MISMATCH) | (1u << POLICY_MALFORMED) |
                          (1u << POLICY_UNAUTH_LOCAL)))
        fail_msg("parity rows cover classes 0x%x, want pass, mismatch, malformed and "
                 "unauthenticated-local",
                 seen & 0x3F);
    for (int a = AUTHDB_ACT_ACCEPT; a <= AUTHDB_ACT_HEADER; a++)
        if (!(seen & (0x100u << a)))
            fail_msg("parity rows never produce action %s", policy_action_name(a));
}

/* A header section of 65536 octets or more (Exim's cut) is malformed,
 * whatever it holds; one octet less is inspected. */
static void test_truncated_section(void **state)
{
    static const struct {
        size_t size;
        const char *want;
    } rows[] = {
        {65535, "accept pass 250 2.0.0 From allowed\n"},
        {65536, "reject malformed 550 5.7.1 Message rejected: header section too large to check\n"},
    };
    (void)state;
    for (size_t i = 0; i < 2; i++) {
        sbuf sec, line, out;
        query_session s;
        query_env env = {fx.h, fx.defaults, &fx.lg};
        char *at;
        sbuf_init(&sec, 70000);
        sbuf_init(&line, QUERY_LINE_MAX);
        sbuf_init(&out, 4096);
        sbuf_adds(&sec, "From: alice@example.com\n");
        while (sec.len + 80 < rows[i].size)
            sbuf_adds(&sec,
                      "X-Filler: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
        sbuf_adds(&sec, "X-Last: ");
        while (sec.len + 1 < rows[i].size)
            sbuf_addc(&sec, 'y');
        sbuf_addc(&sec, '\n');
        assert_int_equal(sec.len, rows[i].size);
        sbuf_adds(&line, "data login=" B_ALICE " envfrom=" B_ALICE " headers=");
        query_b64_encode(sec.p, sec.len, &line);
        sbuf_adds(&line, "\n");
        query_session_init(&s);
        while (line.len > 0) {
            size_t room = query_session_room(&s, &at), n = line.len < room ? line.len : room;
            assert_true(n > 0);
            memcpy(at, line.p, n);
            query_session_filled(&s, n);
            memmove(line.p, line.p + n, line.len - n);
            line.len -= n;
        }
        assert_int_equal(query_session_step(&s, &env, &out), QUERY_STEP_CLOSE);
        if (strcmp(sbuf_str(&out), rows[i].want) != 0)
            fail_msg("%zu-octet header section: got \"%s\", want \"%s\"", rows[i].size,
                     sbuf_str(&out), rows[i].want);
        query_session_free(&s);
        sbuf_free(&sec);
        sbuf_free(&line);
        sbuf_free(&out);
    }
}

/* policy_malformed: class, action, codes and report_only as for a
 * malformed field. */
static void test_policy_malformed(void **state)
{
    authdb_conf conf = *fx.defaults;
    policy_verdict v;

    (void)state;
    policy_malformed(&conf, POLICY_STAGE_HEADERS, "Message rejected: x\n", "why \x01", &v);
    if (v.cls != POLICY_MALFORMED || v.action != AUTHDB_ACT_REJECT || strcmp(v.code, "550") != 0 ||
        strcmp(v.xcode, "5.7.1") != 0 || strcmp(v.text, "Message rejected: x\\x0A") != 0 ||
        strcmp(v.reason, "why \\x01") != 0)
        fail_msg("got %s %s %s %s \"%s\" \"%s\", want malformed reject 550 5.7.1 with escaped "
                 "text and reason",
                 policy_class_name(v.cls), policy_action_name(v.action), v.code, v.xcode, v.text,
                 v.reason);
    conf.malformed_action = AUTHDB_ACT_QUARANTINE;
    policy_malformed(&conf, POLICY_STAGE_HEADERS, "t", "r", &v);
    if (v.action != AUTHDB_ACT_QUARANTINE)
        fail_msg("malformed_action quarantine: got %s", policy_action_name(v.action));
    conf.report_only = 1;
    policy_malformed(&conf, POLICY_STAGE_HEADERS, "t", "r", &v);
    if (v.action != AUTHDB_ACT_ACCEPT || v.would != AUTHDB_ACT_QUARANTINE)
        fail_msg("report_only: got %s would %s, want accept would quarantine",
                 policy_action_name(v.action), policy_action_name(v.would));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socketmap),
        cmocka_unit_test(test_socketmap_nul),
        cmocka_unit_test(test_socketmap_reply_limit),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_session_line_bound),
        cmocka_unit_test(test_parity),
        cmocka_unit_test(test_parity_covers),
        cmocka_unit_test(test_truncated_section),
        cmocka_unit_test(test_policy_malformed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
