/*
 * fuzz_query_line.c - libFuzzer target: authgate-query's line protocol
 * (request parser, base64, raw header sections, the decision, the
 * response).
 *
 * Each input is used twice:
 *   1. as the raw bytes a client sends (the parser's view);
 *   2. after a flags octet, as "login NUL envfrom NUL header-section",
 *      wrapped into a well-formed "mail" or "data" request (so the fuzzer
 *      reaches the header scanner and the policy with any octets).
 * Flags: bit 0 "data" (else "mail"), bit 1 protect_local_domains, bit 2
 * report_only, bits 3-4 mismatch_action.
 * Checked for every answer: exactly one line ending in LF, printable
 * ASCII, "action class code xcode text" with a known action and class,
 * a 5xx code with reject, 4xx with tempfail, "250 2.0.0" otherwise; a
 * pass is accepted; with report_only nothing but a store failure or a bad
 * request is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query_b64.h"
#include "query_fuzzstore.h"
#include "query_line.h"
#include "query_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const actions[] = {"accept ", "reject ", "tempfail ", "quarantine ", "header "};
static const char *const classes[] = {
    "pass ", "mismatch ", "malformed ", "unauthenticated ", "unauthenticated-local ", "tempfail "};

static size_t word(const char *p, size_t n, const char *const *set, size_t count, int *which)
{
    for (size_t i = 0; i < count; i++) {
        size_t l = strlen(set[i]);
        if (n >= l && memcmp(p, set[i], l) == 0) {
            *which = (int)i;
            return l;
        }
    }
    abort();
}

static void check_answer(const sbuf *out, int report_only)
{
    const char *p = out->p;
    size_t n = out->len, o;
    int act, cls;

    if (n < 2 || p[n - 1] != '\n')
        abort();
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7F)
            abort();
    o = word(p, n, actions, 5, &act);
    o += word(p + o, n - o, classes, 6, &cls);
    if (n - o < 10 || p[o + 3] != ' ' || p[o + 9] != ' ')
        abort();
    if ((act == 1 && p[o] != '5') || (act == 2 && p[o] != '4') ||
        (act != 1 && act != 2 && memcmp(p + o, "250 2.0.0 ", 10) != 0))
        abort();
    if (cls == 0 && act != 0)
        abort();
    if (report_only && act != 0 && cls != 5)
        abort();
}

static void run(const char *req, size_t len, const authdb_conf *conf, int report_only)
{
    authdb_log lg;
    query_env env = {query_fuzz_store(), conf, &lg};
    query_session s;
    sbuf out;
    size_t off = 0;

    authdb_log_init(&lg, "fuzz", 0, 0, 0);
    query_session_init(&s);
    sbuf_init(&out, 4096);
    for (;;) {
        enum query_step st = QUERY_STEP_MORE;
        char *at;
        size_t room, n;
        if (query_session_partial(&s) || s.eof || s.oom)
            st = query_session_step(&s, &env, &out);
        if (st == QUERY_STEP_CLOSE)
            break;
        room = query_session_room(&s, &at);
        if (room == 0)
            abort();
        if (off == len) {
            query_session_eof(&s);
            continue;
        }
        n = len - off < room ? len - off : room;
        memcpy(at, req + off, n);
        query_session_filled(&s, n);
        off += n;
    }
    if (out.len > 0 || len > 0)
        check_answer(&out, report_only);
    sbuf_free(&out);
    query_session_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int acts[4] = {AUTHDB_ACT_REJECT, AUTHDB_ACT_TEMPFAIL, AUTHDB_ACT_QUARANTINE,
                                AUTHDB_ACT_HEADER};
    authdb_conf conf = *query_fuzz_conf();
    const char *p = (const char *)data + 1, *end = (const char *)data + size, *nul1, *nul2;
    unsigned flags;
    sbuf req;

    if (size == 0 || size > QUERY_LINE_MAX)
        return 0;
    /* 1: the raw bytes (a leading digit would make it a socketmap session) */
    if (data[0] < '0' || data[0] > '9')
        run((const char *)data, size, &conf, 0);
    /* 2: a well-formed request around arbitrary values */
    flags = data[0];
    conf.protect_local_domains = (flags >> 1) & 1;
    conf.report_only = (flags >> 2) & 1;
    conf.mismatch_action = acts[(flags >> 3) & 3];
    nul1 = memchr(p, '\0', (size_t)(end - p));
    nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1)) : NULL;
    if (nul2 == NULL)
        return 0;
    sbuf_init(&req, 2 * QUERY_LINE_MAX);
    sbuf_adds(&req, flags & 1 ? "data login=" : "mail login=");
    query_b64_encode(p, (size_t)(nul1 - p), &req);
    sbuf_adds(&req, " envfrom=");
    query_b64_encode(nul1 + 1, (size_t)(nul2 - nul1 - 1), &req);
    if (flags & 1) {
        sbuf_adds(&req, " headers=");
        query_b64_encode(nul2 + 1, (size_t)(end - nul2 - 1), &req);
    }
    sbuf_adds(&req, "\n");
    if (sbuf_error(&req) == 0)
        run(req.p, req.len, &conf, conf.report_only);
    sbuf_free(&req);
    return 0;
}
