/*
 * proto.c - the saslauthd wire protocol: an incremental, bounded request
 * parser and the reply formatter (see proto.h for the format and for how
 * libsasl2 and Exim read replies).
 *
 * Interface: proto_req_init/space/advance/feed/wipe parse a request;
 * proto_reply_format/classify handle replies; proto_request_build encodes
 * requests for tests and the benchmark.
 *
 * Diagnostics: none printed; errors are PROTO_ETOOLONG / PROTO_ENUL with
 * the offending field in proto_req_field(), named by proto_strerror() and
 * proto_field_name().
 */
#include <string.h>

#include "proto.h"

static const size_t field_max[PROTO_NFIELDS] = {
    [PROTO_LOGIN] = PROTO_LOGIN_MAX,
    [PROTO_PASSWORD] = PROTO_PASSWORD_MAX,
    [PROTO_SERVICE] = PROTO_SERVICE_MAX,
    [PROTO_REALM] = PROTO_REALM_MAX,
};

static const char *const field_names[PROTO_NFIELDS] = {
    [PROTO_LOGIN] = "login",
    [PROTO_PASSWORD] = "password",
    [PROTO_SERVICE] = "service",
    [PROTO_REALM] = "realm",
};

static char *field_buf(proto_req *r, unsigned f)
{
    char *buf = NULL;

    switch (f) {
    case PROTO_LOGIN:
        buf = r->login;
        break;
    case PROTO_PASSWORD:
        buf = r->password;
        break;
    case PROTO_SERVICE:
        buf = r->service;
        break;
    case PROTO_REALM:
        buf = r->realm;
        break;
    default:
        break;
    }
    return buf;
}

void proto_req_init(proto_req *r)
{
    memset(r, 0, sizeof(*r));
    r->field = PROTO_LOGIN;
    r->status = PROTO_MORE;
}

void proto_req_wipe(proto_req *r)
{
    explicit_bzero(r, sizeof(*r));
}

/* The current field is complete: terminate it and move on. */
static void next_field(proto_req *r)
{
    field_buf(r, r->field)[r->len[r->field]] = '\0';
    r->field++;
    r->hdr_have = 0;
    r->want = 0;
    if (r->field == PROTO_NFIELDS)
        r->status = PROTO_DONE;
}

/* A length prefix is complete: check it against the field's maximum. */
static void header_done(proto_req *r)
{
    r->want = ((size_t)r->hdr[0] << 8) | r->hdr[1];
    if (r->want > field_max[r->field]) {
        r->declared = r->want;
        r->status = PROTO_ETOOLONG;
    } else if (r->want == 0) {
        next_field(r);
    }
}

int proto_req_space(proto_req *r, void **buf, size_t *room)
{
    *buf = NULL;
    *room = 0;
    if (r->status != PROTO_MORE)
        goto out;
    if (r->hdr_have < 2) {
        *buf = r->hdr + r->hdr_have;
        *room = 2 - r->hdr_have;
    } else {
        *buf = field_buf(r, r->field) + r->len[r->field];
        *room = r->want - r->len[r->field];
    }
out:
    return r->status;
}

int proto_req_advance(proto_req *r, size_t n)
{
    if (r->status != PROTO_MORE || n == 0)
        goto out;
    if (r->hdr_have < 2) {
        if (n > 2 - r->hdr_have)
            n = 2 - r->hdr_have; /* caller broke the contract: stay in bounds */
        r->hdr_have += (unsigned)n;
        if (r->hdr_have == 2)
            header_done(r);
        goto out;
    }
    if (n > r->want - r->len[r->field])
        n = r->want - r->len[r->field];
    {
        const char *fresh = field_buf(r, r->field) + r->len[r->field];
        if (memchr(fresh, '\0', n) != NULL) {
            r->status = PROTO_ENUL;
            goto out;
        }
    }
    r->len[r->field] += n;
    if (r->len[r->field] == r->want)
        next_field(r);
out:
    return r->status;
}

int proto_req_feed(proto_req *r, const void *data, size_t len, size_t *used)
{
    const unsigned char *p = data;
    size_t done = 0;
    void *buf;
    size_t room;

    while (done < len && proto_req_space(r, &buf, &room) == PROTO_MORE) {
        size_t n = len - done < room ? len - done : room;
        memcpy(buf, p + done, n);
        done += n;
        proto_req_advance(r, n);
    }
    if (used != NULL)
        *used = done;
    return r->status;
}

int proto_req_status(const proto_req *r)
{
    return r->status;
}

enum proto_field proto_req_field(const proto_req *r)
{
    return r->field < PROTO_NFIELDS ? (enum proto_field)r->field : PROTO_REALM;
}

const char *proto_req_get(const proto_req *r, enum proto_field f, size_t *len)
{
    const char *s = "";
    size_t n = 0;

    if ((unsigned)f < PROTO_NFIELDS) {
        s = field_buf((proto_req *)r, f);
        n = r->len[f];
    }
    if (len != NULL)
        *len = n;
    return s;
}

const char *proto_field_name(enum proto_field f)
{
    return (unsigned)f < PROTO_NFIELDS ? field_names[f] : "?";
}

const char *proto_strerror(int status)
{
    const char *s = "unknown parser status";

    switch (status) {
    case PROTO_DONE:
        s = "complete request";
        break;
    case PROTO_MORE:
        s = "incomplete request";
        break;
    case PROTO_ETOOLONG:
        s = "field longer than its maximum";
        break;
    case PROTO_ENUL:
        s = "NUL octet in a field";
        break;
    default:
        break;
    }
    return s;
}

size_t proto_reply_format(enum proto_answer a, const char *text, unsigned char *out, size_t outsz)
{
    size_t n = 0; /* payload octets */
    size_t total = 0;

    if (outsz < 2)
        goto out;
    switch (a) {
    case PROTO_ANSWER_OK:
        if (outsz < 4)
            goto out;
        memcpy(out + 2, "OK", 2);
        n = 2;
        break;
    case PROTO_ANSWER_NO:
        if (outsz < 4)
            goto out;
        memcpy(out + 2, "NO", 2);
        n = 2;
        if (text != NULL && *text != '\0' && outsz > 5) {
            out[2 + n++] = ' ';
            for (size_t i = 0; text[i] != '\0' && i < PROTO_TEXT_MAX && 2 + n < outsz; i++) {
                unsigned char c = (unsigned char)text[i];
                out[2 + n++] = (c >= 0x20 && c < 0x7f) ? c : '?';
            }
        }
        break;
    case PROTO_ANSWER_TEMP:
    default:
        n = 0;
        break;
    }
    out[0] = (unsigned char)(n >> 8);
    out[1] = (unsigned char)(n & 0xff);
    total = 2 + n;
out:
    return total;
}

enum proto_answer proto_reply_classify(const void *payload, size_t len)
{
    enum proto_answer a = PROTO_ANSWER_NO;

    if (len < 2)
        a = PROTO_ANSWER_TEMP;
    else if (memcmp(payload, "OK", 2) == 0)
        a = PROTO_ANSWER_OK;
    return a;
}

size_t proto_request_build(const char *const field[PROTO_NFIELDS], const size_t flen[PROTO_NFIELDS],
                           unsigned char *out, size_t outsz)
{
    size_t pos = 0;
    size_t total = 0;

    for (unsigned f = 0; f < PROTO_NFIELDS; f++) {
        if (flen[f] > 0xffff || outsz - pos < 2 + flen[f])
            goto out;
        out[pos++] = (unsigned char)(flen[f] >> 8);
        out[pos++] = (unsigned char)(flen[f] & 0xff);
        if (flen[f] > 0)
            memcpy(out + pos, field[f], flen[f]);
        pos += flen[f];
    }
    total = pos;
out:
    return total;
}
