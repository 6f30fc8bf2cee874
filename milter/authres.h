/*
 * authres.h - Authentication-Results (RFC 8601) for SMTP AUTH.
 *
 * authres_build() writes the field body we add:
 *     <authserv-id>; auth=pass (<mechanism>) smtp.auth=<login>
 * or, without authentication,
 *     <authserv-id>; auth=none
 * The login is written as local@domain or a token when it is one, else as
 * a quoted-string; control characters become "?".  The mechanism comment is
 * left out unless it is a plain SASL name.  smtp.mailfrom is never written:
 * the client's AUTH= parameter is not evidence of anything.
 *
 * authres_is_ours() tells whether an incoming field body carries our
 * authserv-id (compared case-insensitively after CFWS, as a token or a
 * quoted-string), so that it can be deleted (RFC 8601 section 5).
 *
 * authres_valid_id() checks that a configured authserv-id is a token.
 */
#ifndef AUTHGATE_AUTHRES_H
#define AUTHGATE_AUTHRES_H

#include <stddef.h>

/* Room for any body authres_build() writes. */
#define AUTHRES_MAX 1024

/* 0, or -1 when the body does not fit in out (it then holds ""): a login
 * is never truncated. */
int authres_build(const char *authserv_id, const char *login, const char *mech, char *out,
                  size_t outsz);
int authres_is_ours(const char *value, size_t len, const char *authserv_id);
int authres_valid_id(const char *id);

#endif
