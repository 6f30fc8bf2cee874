/*
 * verify.h - one decision: a parsed request and the store in; the answer
 * for the client and the reason for the log out.
 *
 * The login checked is the request's login, then "@" and the realm when
 * the realm is not empty (verify_login()).  That is exactly the user name
 * libsasl2 canonicalized: lib/checkpw.c saslauthd_verify_password() splits
 * it at its last "@" into login and realm, and sends the server's
 * user_realm (NULL -> empty) only when there was no "@".  Exim's saslauthd
 * condition sends its first and fourth arguments as they are.
 *
 * Answers: OK for a right password; NO with one text (VERIFY_NO_TEXT) for
 * a wrong password, an unknown login, a disabled login, a malformed login
 * or request, so that the reply reveals nothing; TEMP (an empty reply, see
 * proto.h) for store errors, a closed store, overload and timeouts.
 */
#ifndef AUTHD_VERIFY_H
#define AUTHD_VERIFY_H

#include <stddef.h>

#include "authdb.h"
#include "proto.h"

#define VERIFY_NO_TEXT     "authentication failed"
#define VERIFY_LOGIN_BUFSZ (PROTO_LOGIN_MAX + 1 + PROTO_REALM_MAX + 1)

typedef struct verify_result {
    enum proto_answer answer;
    const char *reason; /* static text for the log; never the password */
    int code;           /* the authdb code behind it (AUTHDB_OK if none) */
} verify_result;

/* Compose the login the store is asked about into out (VERIFY_LOGIN_BUFSZ
 * octets, NUL-terminated).  Returns its length. */
size_t verify_login(const char *login, size_t llen, const char *realm, size_t rlen, char *out);

/* Map an authdb_verify_password() result to an answer and a log reason. */
void verify_map(int code, verify_result *out);

/* Check a complete request against the store.  h NULL means the store is
 * not open: the answer is TEMP with reason store_why.  Costs one password
 * hash whenever the request reaches the store (unknown logins included). */
void verify_request(authdb *h, const char *store_why, const proto_req *r, verify_result *out);

#endif /* AUTHD_VERIFY_H */
