/*
 * fuzz_query_socketmap.c - libFuzzer target: authgate-query's socketmap
 * side (netstring framing, request splitting, the "senders" lookup).
 *
 * The input is the byte stream a client sends, a digit prepended when it
 * does not start with one (so the session speaks socketmap), fed to a
 * query_session in chunks whose sizes come from the input's length.
 * Checked: everything the session sends is a sequence of well-formed
 * netstrings, each at most QUERY_SOCKETMAP_REPLY_MAX octets, each reply
 * "OK " followed by a non-empty list of logins without comma, space or
 * control octets, or "NOTFOUND ", or "TEMP "/"PERM " and printable text;
 * the session never asks for more input while its buffer is full.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query_fuzzstore.h"
#include "query_netstring.h"
#include "query_session.h"
#include "query_socketmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const char *p, size_t n)
{
    if (n >= 3 && memcmp(p, "OK ", 3) == 0) {
        if (n == 3)
            abort();
        for (size_t i = 3; i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            if (c <= 0x20 || c == 0x7F)
                abort();
            if (c == ',' && (i == 3 || i + 1 == n || p[i + 1] == ','))
                abort();
        }
        return;
    }
    if (n == 9 && memcmp(p, "NOTFOUND ", 9) == 0)
        return;
    if (n < 5 || (memcmp(p, "TEMP ", 5) != 0 && memcmp(p, "PERM ", 5) != 0))
        abort();
    for (size_t i = 5; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7F)
            abort();
}

static void check_output(const sbuf *out)
{
    size_t off = 0;

    while (off < out->len) {
        const char *payload, *why;
        size_t plen, used;
        if (query_netstring_parse(out->p + off, out->len - off, QUERY_SOCKETMAP_REPLY_MAX, &payload,
                                  &plen, &used, &why) != QUERY_NETSTRING_OK)
            abort();
        check_reply(payload, plen);
        off += used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    query_env env = {query_fuzz_store(), query_fuzz_conf(), NULL};
    authdb_log lg;
    query_session s;
    sbuf out;
    size_t off = 0, chunk = size % 13 + 1;
    int first = 1;

    authdb_log_init(&lg, "fuzz", 0, 0, 0);
    env.lg = &lg;
    query_session_init(&s);
    sbuf_init(&out, 1 << 22);
    for (;;) {
        enum query_step st = QUERY_STEP_MORE;
        char *at;
        size_t room, n;
        if (query_session_partial(&s) || s.eof || s.oom)
            st = query_session_step(&s, &env, &out);
        if (st == QUERY_STEP_CLOSE)
            break;
        if (st == QUERY_STEP_REPLY)
            continue;
        room = query_session_room(&s, &at);
        if (room == 0)
            abort(); /* wants more with a full buffer */
        if (first && (size == 0 || data[0] < '0' || data[0] > '9')) {
            *at = '1';
            query_session_filled(&s, 1);
            first = 0;
            continue;
        }
        first = 0;
        if (off == size) {
            if (s.eof)
                break;
            query_session_eof(&s);
            continue;
        }
        n = size - off < chunk ? size - off : chunk;
        n = n < room ? n : room;
        memcpy(at, data + off, n);
        query_session_filled(&s, n);
        off += n;
    }
    check_output(&out);
    sbuf_free(&out);
    query_session_free(&s);
    return 0;
}
