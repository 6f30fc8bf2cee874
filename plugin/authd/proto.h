/*
 * proto.h - the saslauthd wire protocol, both directions.  Pure: no I/O,
 * no allocation, no library calls beyond libc string functions.
 *
 * Request (client -> daemon), one per connection: four fields in this
 * order, each a uint16 big-endian length followed by that many octets:
 *
 *   login  password  service  realm
 *
 * Reply (daemon -> client): a uint16 big-endian length, then the payload.
 * libsasl2 2.1.28 (lib/checkpw.c) and Exim's saslauthd condition read it
 * as follows, and the daemon answers accordingly:
 *
 *   "OK..."        success (both)
 *   "NO..."        authentication failed (libsasl: SASL_BADAUTH, 535;
 *                  Exim: condition false)
 *   fewer than 2   temporary failure (libsasl: "bad response from
 *   octets         saslauthd", SASL_FAIL, Postfix 454; Exim: PWCHECK_FAIL,
 *                  the expansion defers).  Any payload of 2 octets or more
 *                  that is not "OK" is a permanent failure for libsasl, so
 *                  a temporary failure cannot be a "NO ..." text.
 *
 * Field limits are documented maxima; a longer field is refused (never
 * truncated) as soon as its length prefix arrives.  A NUL octet inside a
 * field is refused too: every real client sends C strings, and a password
 * "a\0b" must never be checked as "a".
 *
 * The request parser is incremental: bytes may arrive in any number of
 * pieces (Exim writes each field separately).  Callers either copy input
 * in with proto_req_feed(), or ask where the next octets belong with
 * proto_req_space() and read() straight into the request (so the password
 * exists in exactly one buffer), then call proto_req_advance().
 */
#ifndef AUTHD_PROTO_H
#define AUTHD_PROTO_H

#include <stddef.h>

/* Field maxima in octets (verify.c checks that they equal authdb.h's
 * AUTHDB_LOGIN_MAX, AUTHDB_PASSWORD_MAX and AUTHDB_REALM_MAX). */
#define PROTO_LOGIN_MAX    320
#define PROTO_PASSWORD_MAX 511
#define PROTO_SERVICE_MAX  64
#define PROTO_REALM_MAX    255

/* The longest complete request. */
#define PROTO_REQUEST_MAX                                                                          \
    (4 * 2 + PROTO_LOGIN_MAX + PROTO_PASSWORD_MAX + PROTO_SERVICE_MAX + PROTO_REALM_MAX)

/* Reply text after "NO " is at most this long; a reply buffer of
 * PROTO_REPLY_BUFSZ always suffices. */
#define PROTO_TEXT_MAX    120
#define PROTO_REPLY_BUFSZ (2 + 3 + PROTO_TEXT_MAX)

enum proto_field { PROTO_LOGIN = 0, PROTO_PASSWORD, PROTO_SERVICE, PROTO_REALM, PROTO_NFIELDS };

enum proto_status {
    PROTO_DONE = 0,      /* the request is complete */
    PROTO_MORE = 1,      /* more octets needed */
    PROTO_ETOOLONG = -1, /* a field is longer than its maximum */
    PROTO_ENUL = -2,     /* a field contains a NUL octet */
};

typedef struct proto_req {
    /* The fields, NUL-terminated, valid once the parser got past them. */
    char login[PROTO_LOGIN_MAX + 1];
    char password[PROTO_PASSWORD_MAX + 1];
    char service[PROTO_SERVICE_MAX + 1];
    char realm[PROTO_REALM_MAX + 1];
    size_t len[PROTO_NFIELDS]; /* octets of each field received so far */
    /* Parser state: private to proto.c. */
    unsigned field;       /* field being read; PROTO_NFIELDS when done */
    unsigned hdr_have;    /* octets of the length prefix read (0..2) */
    unsigned char hdr[2]; /* the length prefix */
    size_t want;          /* declared length of the current field */
    int status;           /* enum proto_status */
    size_t declared;      /* the refused length (PROTO_ETOOLONG) */
} proto_req;

/* Start a request.  Call proto_req_wipe() when done with it. */
void proto_req_init(proto_req *r);

/* Wipe everything (the password included) with explicit_bzero. */
void proto_req_wipe(proto_req *r);

/* Where the next octets go: on PROTO_MORE, *buf and *room (>= 1) say where
 * and how many octets the parser can take at most.  Any other return is
 * the final status (PROTO_DONE or an error); *buf and *room are then NULL
 * and 0. */
int proto_req_space(proto_req *r, void **buf, size_t *room);

/* n octets (<= room) were stored at the place proto_req_space() gave.
 * Returns the new status. */
int proto_req_advance(proto_req *r, size_t n);

/* Copy input in.  *used gets the octets consumed (input after a complete
 * request is not consumed).  Returns the status. */
int proto_req_feed(proto_req *r, const void *data, size_t len, size_t *used);

/* The status so far, and for an error the field it concerns. */
int proto_req_status(const proto_req *r);
enum proto_field proto_req_field(const proto_req *r);

/* A field's text and length (NUL-terminated; possibly partial before the
 * parser is past it). */
const char *proto_req_get(const proto_req *r, enum proto_field f, size_t *len);

/* "login", "password", "service", "realm". */
const char *proto_field_name(enum proto_field f);
/* A sentence for a status ("field too long", ...). */
const char *proto_strerror(int status);

/* Replies. */
enum proto_answer {
    PROTO_ANSWER_OK = 1, /* "OK" */
    PROTO_ANSWER_NO,     /* "NO <text>" */
    PROTO_ANSWER_TEMP,   /* empty payload: temporary failure */
};

/* Format a reply into out.  text (NO only) is sanitized to printable
 * ASCII and cut at PROTO_TEXT_MAX; NULL means no text.  Returns the octets
 * written, or 0 when outsz is too small (PROTO_REPLY_BUFSZ never is). */
size_t proto_reply_format(enum proto_answer a, const char *text, unsigned char *out, size_t outsz);

/* Classify a reply payload (the octets after the length) the way libsasl2
 * does: < 2 octets -> TEMP, "OK" prefix -> OK, anything else -> NO. */
enum proto_answer proto_reply_classify(const void *payload, size_t len);

/* Client side (tests, benchmark): encode a request from four fields of
 * the given lengths.  Returns the octets written, or 0 when a field is
 * longer than 65535 or out is too small.  Fields are sent as given, even
 * beyond the daemon's maxima (to test refusal). */
size_t proto_request_build(const char *const field[PROTO_NFIELDS], const size_t flen[PROTO_NFIELDS],
                           unsigned char *out, size_t outsz);

#endif /* AUTHD_PROTO_H */
