/*
 * query_netstring.h - netstrings (http://cr.yp.to/proto/netstrings.txt),
 * the framing of Postfix's socketmap protocol.
 *
 * A netstring is "<length>:<payload>,": the length in decimal ASCII, no
 * leading zeros except for the empty payload ("0:,").  The parser works on
 * whatever a stream has delivered so far and says whether a whole netstring
 * is there, more octets are needed, or the input can never become a valid
 * netstring within the limit (then the stream cannot be resynchronized and
 * the connection must close).  Pure and thread-safe.
 */
#ifndef AUTHGATE_QUERY_NETSTRING_H
#define AUTHGATE_QUERY_NETSTRING_H

#include <stddef.h>

#include "sbuf.h"

/* Digits of the longest length prefix accepted (enough for any limit). */
#define QUERY_NETSTRING_DIGITS_MAX 9

enum query_netstring_status {
    QUERY_NETSTRING_OK = 0,    /* a whole netstring */
    QUERY_NETSTRING_MORE = 1,  /* a valid prefix: read more */
    QUERY_NETSTRING_ERROR = -1 /* never valid: *why says why */
};

/* Parse the netstring at the start of buf[0..len), whose payload may be at
 * most max octets.  OK: *payload points into buf, *plen is its length and
 * *used the octets the netstring occupies (framing included).  ERROR:
 * *why is a static sentence (not a digit, leading zero, length over max,
 * missing ":" or ","). */
int query_netstring_parse(const char *buf, size_t len, size_t max, const char **payload,
                          size_t *plen, size_t *used, const char **why);

/* Append data[0..len) as one netstring to out.  0, or -1 when out's limit
 * or memory is exhausted. */
int query_netstring_append(sbuf *out, const char *data, size_t len);

#endif
