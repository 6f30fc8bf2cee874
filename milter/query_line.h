/*
 * query_line.h - authgate-query's line protocol, made for Exim's
 * ${readsocket{...}} in ACLs: one request line, one response line, then
 * the server closes the connection (readsocket reads until end of file).
 *
 * Request (ends at LF, CR LF, or the client's end of file):
 *   request = command 1*(SP field) [CR] LF
 *   command = "mail" / "data"
 *   field   = name "=" value          ; each name at most once
 *   name    = "login" / "envfrom" / "headers" / "id"
 *   value   = base64 (RFC 4648, "=" padded, may be empty)
 *     login    the authenticated login ($authenticated_id); empty: the
 *              client did not authenticate
 *     envfrom  the envelope sender without angle brackets
 *              ($sender_address); empty: the null sender <>
 *     headers  the raw header section ($message_headers_raw); "data" only
 *     id       optional: the MTA's message id, for the log only
 *   "mail" needs login and envfrom, and decides like the milter at MAIL
 *   FROM; "data" needs all three and decides like the milter at end of
 *   message (the MAIL decision merged with the header decision).
 * Response (one line):
 *   response = action SP class SP code SP xcode SP text LF
 *   action   = "accept" / "reject" / "tempfail" / "quarantine" / "header"
 *   class    = "pass" / "mismatch" / "malformed" / "unauthenticated" /
 *              "unauthenticated-local" / "tempfail"
 *   code, xcode  the SMTP reply code and enhanced code: 5xx with reject,
 *              4xx with tempfail, "250 2.0.0" otherwise
 *   text     printable ASCII: the reply text (the reason for a pass)
 * A request that breaks these rules, or is longer than QUERY_LINE_MAX,
 * is answered "tempfail tempfail 451 4.3.0 authgate-query: bad request:
 * <why>": a configuration error must never let mail through.
 * Pure and thread-safe.
 */
#ifndef AUTHGATE_QUERY_LINE_H
#define AUTHGATE_QUERY_LINE_H

#include <stddef.h>

#include "policy.h"
#include "sbuf.h"

/* Longest request line, LF included: 64 KiB of headers (Exim truncates
 * $message_headers_raw there) are 87,384 base64 octets, leaving ample room
 * for the login, an envelope sender of Exim's longest SMTP command and the
 * id. */
#define QUERY_LINE_MAX 131072
/* Longest response line, LF included. */
#define QUERY_RESPONSE_MAX (REPLY_TEXT_MAX + 64)

enum query_cmd { QUERY_CMD_MAIL = 1, QUERY_CMD_DATA };

enum query_field {
    QUERY_F_LOGIN = 1 << 0,
    QUERY_F_ENVFROM = 1 << 1,
    QUERY_F_HEADERS = 1 << 2,
    QUERY_F_ID = 1 << 3,
};

/* One parsed request.  Decoded values are NUL-terminated (login, envfrom
 * and id hold no NUL: such a request is refused); headers may hold any
 * octet. */
typedef struct query_request {
    enum query_cmd cmd;
    unsigned fields; /* QUERY_F_* present */
    sbuf login, envfrom, headers, id;
} query_request;

void query_request_init(query_request *rq);
void query_request_free(query_request *rq);

/* Parse line[0..len) (without its LF; a trailing CR is allowed) into *rq
 * (initialized; previous content is reset).  0, or -1 with *why (static). */
int query_line_parse(const char *line, size_t len, query_request *rq, const char **why);

/* The command's name ("mail", "data"). */
const char *query_cmd_name(enum query_cmd c);

/* Format the response for v into out (outsz >= QUERY_RESPONSE_MAX), LF
 * included; returns its length. */
size_t query_line_response(const policy_verdict *v, char *out, size_t outsz);

/* Format the bad-request response for why. */
size_t query_line_error(const char *why, char *out, size_t outsz);

#endif
