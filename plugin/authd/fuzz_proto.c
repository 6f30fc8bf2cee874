/*
 * fuzz_proto.c - libFuzzer target for the saslauthd request parser
 * (proto.c).  Input: one octet choosing how the stream is cut into reads,
 * then the stream.  The stream is parsed once whole and once in pieces
 * through proto_req_space/advance (as the daemon reads); both must agree
 * on status, failed field and every field, fields must respect their
 * maxima and be NUL-terminated, and a reply built from the login must
 * classify as it was formatted.  Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fields(const proto_req *r)
{
    static const size_t max[PROTO_NFIELDS] = {PROTO_LOGIN_MAX, PROTO_PASSWORD_MAX,
                                              PROTO_SERVICE_MAX, PROTO_REALM_MAX};
    for (unsigned f = 0; f < PROTO_NFIELDS; f++) {
        size_t len;
        const char *s = proto_req_get(r, f, &len);
        if (len > max[f])
            abort();
        if (proto_req_status(r) == PROTO_DONE && (s[len] != '\0' || strlen(s) != len))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static proto_req whole, pieces;
    size_t used = 0;
    unsigned seed;

    if (size < 1)
        return 0;
    seed = data[0];
    data++;
    size--;

    proto_req_init(&whole);
    proto_req_feed(&whole, data, size, &used);
    if (used > size)
        abort();
    check_fields(&whole);

    /* Pieces of 1..8 octets, sizes drawn from a tiny LCG seeded by the
     * first octet. */
    proto_req_init(&pieces);
    size_t pos = 0;
    while (pos < size) {
        void *buf;
        size_t room;
        if (proto_req_space(&pieces, &buf, &room) != PROTO_MORE)
            break;
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + ((seed >> 16) % 8);
        if (n > room)
            n = room;
        if (n > size - pos)
            n = size - pos;
        memcpy(buf, data + pos, n);
        pos += n;
        proto_req_advance(&pieces, n);
    }
    check_fields(&pieces);

    if (proto_req_status(&whole) != proto_req_status(&pieces))
        abort();
    if (proto_req_status(&whole) != PROTO_MORE &&
        proto_req_field(&whole) != proto_req_field(&pieces))
        abort();
    if (proto_req_status(&whole) == PROTO_DONE) {
        if (pos != used)
            abort();
        for (unsigned f = 0; f < PROTO_NFIELDS; f++) {
            size_t a, b;
            const char *sa = proto_req_get(&whole, f, &a);
            const char *sb = proto_req_get(&pieces, f, &b);
            if (a != b || memcmp(sa, sb, a) != 0)
                abort();
        }
        /* Replies carry untrusted text back: always well-formed. */
        unsigned char out[PROTO_REPLY_BUFSZ];
        size_t n = proto_reply_format(PROTO_ANSWER_NO, whole.login, out, sizeof(out));
        size_t plen = ((size_t)out[0] << 8) | out[1];
        if (n < 4 || n != 2 + plen || proto_reply_classify(out + 2, plen) != PROTO_ANSWER_NO)
            abort();
        for (size_t i = 2; i < n; i++)
            if (out[i] < 0x20 || out[i] >= 0x7f)
                abort();
    }
    proto_req_wipe(&whole);
    proto_req_wipe(&pieces);
    return 0;
}
