/*
 * query_socketmap.h - Postfix socketmap lookups (socketmap_table(5)) over
 * the send-as rules: the map "senders" answers, for an address, the logins
 * that may use it, for smtpd_sender_login_maps.
 *
 * A request payload is "<name> <key>" (split at the first space; the key
 * may hold spaces).  Replies, payloads of one netstring each:
 *   "OK login1,login2"  authdb_senders_for() found logins (address rules,
 *                       @domain rules, "*" rules and self_send, with deny
 *                       overrides), in key order, comma-separated;
 *   "NOTFOUND "         no login may use the key, or the key is not an
 *                       address the store can normalize;
 *   "TEMP <reason>"     the store failed or is unavailable, or the list
 *                       would exceed QUERY_SOCKETMAP_REPLY_MAX (Postfix
 *                       answers 451 4.3.0 either way; never a guess);
 *   "PERM <reason>"     an unknown map name or a malformed request.
 * A login Postfix could not read back as one list element (holding a
 * comma, white space or a control character) is left out of the list and
 * counted in skipped, so that it can never match: the caller logs it.
 * Pure logic over authdb; thread-safe.
 */
#ifndef AUTHGATE_QUERY_SOCKETMAP_H
#define AUTHGATE_QUERY_SOCKETMAP_H

#include <stddef.h>

#include "authdb.h"
#include "sbuf.h"

/* Longest request payload accepted.  Postfix's smtpd reads SMTP command
 * lines of at most line_length_limit (2048) octets, so a longer key cannot
 * come from it. */
#define QUERY_SOCKETMAP_REQUEST_MAX 4096
/* Longest reply payload: Postfix's socketmap client refuses longer ones. */
#define QUERY_SOCKETMAP_REPLY_MAX 100000
/* The one map this server answers. */
#define QUERY_SOCKETMAP_SENDERS "senders"

enum query_socketmap_status {
    QUERY_SOCKETMAP_FOUND = 1,
    QUERY_SOCKETMAP_NOTFOUND,
    QUERY_SOCKETMAP_TEMP,
    QUERY_SOCKETMAP_PERM,
};

/* What one lookup did, for the log line. */
typedef struct query_socketmap_result {
    enum query_socketmap_status status;
    const char *name; /* the map name, pointing into the request */
    size_t name_len;
    const char *key; /* the key, pointing into the request */
    size_t key_len;
    size_t logins;      /* logins listed */
    size_t skipped;     /* logins left out (not listable) */
    const char *detail; /* static text: why NOTFOUND, TEMP or PERM */
} query_socketmap_result;

/* Answer the request payload req[0..len).  h may be NULL (store
 * unavailable: TEMP).  Appends the reply payload (not framed) to out,
 * whose limit must be at least QUERY_SOCKETMAP_REPLY_MAX; fills *res.
 * Returns 0, or -1 when out of memory (out then holds a TEMP reply if it
 * could be written at all). */
int query_socketmap_answer(authdb *h, const char *req, size_t len, sbuf *out,
                           query_socketmap_result *res);

/* "OK", "NOTFOUND", "TEMP", "PERM". */
const char *query_socketmap_status_name(enum query_socketmap_status s);

#endif
