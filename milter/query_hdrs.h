/*
 * query_hdrs.h - the From and Sender fields of a raw header section.
 *
 * Exim hands ACLs the whole header section as $message_headers_raw: the
 * fields as received, each ending in LF, continuation lines starting with
 * SP or HTAB.  query_hdrs_scan() finds in it what the milter's header
 * collector (msg.h) learns from the MTA's header callbacks, with the same
 * rules, so that policy_headers() decides identically:
 *   - a field's name is the text before its first ":", trailing SP/HTAB
 *     ignored, compared case-insensitively ("From :" is a From field, as
 *     Postfix passes it to a milter);
 *   - its value starts after the ":" minus one SP (Postfix and Sendmail
 *     eat exactly one) and ends before the LF (or CR LF) that ends the
 *     field; folding LFs inside stay;
 *   - From and Sender fields are counted; the first body of each is kept
 *     unless longer than MAILBOX_FIELD_MAX octets ("too long").
 * Values are not NUL-terminated and may hold any octet (a NUL reaches the
 * parser, which refuses it).  A section that is not one (a line without
 * ":", a continuation line first, an empty field name) is refused with a
 * reason: that is a client error, not a message verdict.  Pure and
 * thread-safe; the result points into the section.
 */
#ifndef AUTHGATE_QUERY_HDRS_H
#define AUTHGATE_QUERY_HDRS_H

#include <stddef.h>

typedef struct query_hdrs {
    size_t nfrom, nsender;
    const char *from; /* first From body, NULL when none or too long */
    size_t from_len;
    const char *sender; /* first Sender body, NULL when none or too long */
    size_t sender_len;
    size_t fields; /* fields in the section */
} query_hdrs;

/* Scan sec[0..len).  0, or -1 with *why (static) when sec is not a header
 * section. */
int query_hdrs_scan(const char *sec, size_t len, query_hdrs *out, const char **why);

#endif
