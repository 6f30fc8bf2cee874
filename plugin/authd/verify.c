/*
 * verify.c - the login/realm rule and the mapping of store results to
 * saslauthd answers (verify.h).
 *
 * Unknown, wrong and disabled logins all answer NO with the same text;
 * authdb_verify_password() hashes a dummy for unknown logins so that they
 * cost what a wrong password costs.  A store error is never NO (that would
 * be "wrong password" to the MTA) and never OK: it is TEMP.
 *
 * Diagnostics: none printed; the reason in verify_result goes to the log.
 */
#include <crypt.h>
#include <string.h>

#include "verify.h"

_Static_assert(PROTO_LOGIN_MAX == AUTHDB_LOGIN_MAX, "login limit differs from authdb.h");
_Static_assert(PROTO_PASSWORD_MAX == AUTHDB_PASSWORD_MAX, "password limit differs from authdb.h");
_Static_assert(PROTO_REALM_MAX == AUTHDB_REALM_MAX, "realm limit differs from authdb.h");

size_t verify_login(const char *login, size_t llen, const char *realm, size_t rlen, char *out)
{
    size_t n = 0;

    if (llen > PROTO_LOGIN_MAX)
        llen = PROTO_LOGIN_MAX;
    if (rlen > PROTO_REALM_MAX)
        rlen = PROTO_REALM_MAX;
    memcpy(out, login, llen);
    n = llen;
    if (rlen > 0) {
        out[n++] = '@';
        memcpy(out + n, realm, rlen);
        n += rlen;
    }
    out[n] = '\0';
    return n;
}

void verify_map(int code, verify_result *out)
{
    out->code = code;
    out->answer = PROTO_ANSWER_NO;
    switch (code) {
    case AUTHDB_OK:
        out->answer = PROTO_ANSWER_OK;
        out->reason = "password accepted";
        break;
    case AUTHDB_EMISMATCH:
        out->reason = "wrong password";
        break;
    case AUTHDB_NOTFOUND:
        out->reason = "unknown login";
        break;
    case AUTHDB_EDISABLED:
        out->reason = "login disabled";
        break;
    case AUTHDB_EINVAL:
        out->reason = "malformed login";
        break;
    case AUTHDB_ETOOLONG:
        out->reason = "login too long";
        break;
    default:
        /* Store errors, and anything this build does not expect: never a
         * pass, never "wrong password". */
        out->answer = PROTO_ANSWER_TEMP;
        out->reason = authdb_strerror(code);
        break;
    }
}

void verify_request(authdb *h, const char *store_why, const proto_req *r, verify_result *out)
{
    char login[VERIFY_LOGIN_BUFSZ];
    size_t llen, plen, rlen;
    const char *lp = proto_req_get(r, PROTO_LOGIN, &llen);
    const char *rp = proto_req_get(r, PROTO_REALM, &rlen);
    const char *pw = proto_req_get(r, PROTO_PASSWORD, &plen);

    if (h == NULL) {
        out->answer = PROTO_ANSWER_TEMP;
        out->code = AUTHDB_ENOSTORE;
        out->reason = store_why != NULL ? store_why : "store not open";
        goto out;
    }
    if (llen == 0) {
        out->answer = PROTO_ANSWER_NO;
        out->code = AUTHDB_EINVAL;
        out->reason = "empty login";
        goto out;
    }
    llen = verify_login(lp, llen, rp, rlen, login);
    if (plen >= CRYPT_MAX_PASSPHRASE_SIZE) {
        /* libxcrypt refuses such passphrases ("*"): authdb would report
         * EHASH, a temporary failure.  No stored hash can match one, so
         * spend the hash on "" (never a valid password) to keep the cost
         * and answer NO. */
        verify_map(authdb_verify_password(h, login, llen, "", 0), out);
        if (out->answer != PROTO_ANSWER_TEMP) {
            out->answer = PROTO_ANSWER_NO;
            out->code = AUTHDB_EMISMATCH;
            out->reason = "password longer than crypt(3) accepts (511 octets)";
        }
        goto out;
    }
    verify_map(authdb_verify_password(h, login, llen, pw, plen), out);
out:
    return;
}
