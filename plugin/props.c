/*
 * props.c - auxprop properties and the store secrets behind them.
 *
 * Interface: props_kind, props_name, props_values, props_lookup_status,
 * props_disabled_status.
 *
 * What libsasl2 2.1.28's server mechanisms request (authid lookups, names
 * prefixed with '*'):
 *
 *   PLAIN, LOGIN (sasl_checkpass, pwcheck_method auxprop)
 *               *userPassword (strcmp), *cmusaslsecretPLAIN (33 octets:
 *               salt[16] NUL MD5(salt "sasldb" password), memcmp of 33)
 *   CRAM-MD5    *userPassword, *cmusaslsecretCRAM-MD5 (memcpy of 32 octets)
 *   DIGEST-MD5  *userPassword, *cmusaslsecretDIGEST-MD5 (memcpy of 16)
 *   SCRAM-*     *userPassword, *authPassword (every value is tried; one
 *               whose prefix names the running variant is used)
 *
 * The mechanisms copy fixed sizes out of the property value, so a stored
 * value of any other size is refused here as malformed rather than handed
 * to libsasl.
 *
 * Diagnostics: props_values returns a static reason for a malformed value.
 */
#include <string.h>
#include <strings.h>

#include <sasl/sasl.h>

#include "plugin_private.h"

static const char *const props_names[PROPS_KINDS] = {
    [PROPS_USERPASSWORD] = "userPassword",  [PROPS_AUTHPASSWORD] = "authPassword",
    [PROPS_CRAM] = "cmusaslsecretCRAM-MD5", [PROPS_DIGEST] = "cmusaslsecretDIGEST-MD5",
    [PROPS_PLAIN] = "cmusaslsecretPLAIN",
};

/* The store kind behind a property and the exact size libsasl reads
 * (0: text, any non-zero length). */
static const struct {
    enum authdb_secret_kind kind;
    size_t size;
} props_secret[PROPS_KINDS] = {
    [PROPS_USERPASSWORD] = {AUTHDB_SECRET_CLEARTEXT, 0},
    [PROPS_AUTHPASSWORD] = {AUTHDB_SECRET_SCRAM_SHA256, 0}, /* and SHA-1: props_values */
    [PROPS_CRAM] = {AUTHDB_SECRET_CRAM_MD5, 32},
    [PROPS_DIGEST] = {AUTHDB_SECRET_DIGEST_MD5, 16},
    [PROPS_PLAIN] = {AUTHDB_SECRET_PLAIN, 33},
};

int props_kind(const char *name, int authzid)
{
    int kind = -1;
    int i;

    if (name == NULL || authzid || name[0] != '*')
        goto out;
    /* libsasl's mechanisms spell the names exactly; other callers may not
     * (LDAP attribute names are case-insensitive). */
    for (i = 0; i < PROPS_KINDS && kind < 0; i++) {
        if (strcmp(name + 1, props_names[i]) == 0)
            kind = i;
    }
    for (i = 0; i < PROPS_KINDS && kind < 0; i++) {
        if (strcasecmp(name + 1, props_names[i]) == 0)
            kind = i;
    }
out:
    return kind;
}

const char *props_name(int kind)
{
    return kind >= 0 && kind < PROPS_KINDS ? props_names[kind] : NULL;
}

/* Does mechanism name mech start with variant, as a whole word
 * ("SCRAM-SHA-256" matches "SCRAM-SHA-256-PLUS", not "SCRAM-SHA-2560")? */
static int props_mech_is(const char *mech, const char *variant)
{
    size_t n = strlen(variant);
    return strncasecmp(mech, variant, n) == 0 && (mech[n] == '\0' || mech[n] == '-');
}

/* Which SCRAM values to give: bits (1 << AUTHDB_SECRET_SCRAM_*). */
static unsigned props_scram_wanted(const char *mech)
{
    unsigned both = (1u << AUTHDB_SECRET_SCRAM_SHA256) | (1u << AUTHDB_SECRET_SCRAM_SHA1);
    unsigned want = both;

    if (mech == NULL || strncasecmp(mech, "SCRAM-", 6) != 0)
        goto out;
    if (props_mech_is(mech, "SCRAM-SHA-256"))
        want = 1u << AUTHDB_SECRET_SCRAM_SHA256;
    else if (props_mech_is(mech, "SCRAM-SHA-1"))
        want = 1u << AUTHDB_SECRET_SCRAM_SHA1;
    else
        want = 0; /* SCRAM-SHA-224/384/512: the store has none */
out:
    return want;
}

static int props_emit_kind(const authdb_secrets *s, enum authdb_secret_kind kind, size_t size,
                           props_emit_fn emit, void *arg, const char **why)
{
    const void *val;
    size_t len;
    int r = 0;

    if (authdb_secrets_value(s, kind, &val, &len) != AUTHDB_OK || len == 0)
        goto out;
    if (size != 0 && len != size) {
        *why = "stored secret has the wrong size";
        r = SASL_UNAVAIL;
        goto out;
    }
    if (size == 0 && memchr(val, '\0', len) != NULL) {
        *why = "stored text secret contains a NUL";
        r = SASL_UNAVAIL;
        goto out;
    }
    r = emit(arg, val, len);
    if (r == SASL_OK)
        r = 1;
out:
    return r;
}

int props_values(int kind, const authdb_secrets *s, const char *mech, props_emit_fn emit, void *arg,
                 const char **why)
{
    static const enum authdb_secret_kind scram[] = {AUTHDB_SECRET_SCRAM_SHA256,
                                                    AUTHDB_SECRET_SCRAM_SHA1};
    int count = 0;
    int r = 0;
    size_t i;

    *why = NULL;
    if (kind < 0 || kind >= PROPS_KINDS)
        goto out;
    if (kind != PROPS_AUTHPASSWORD) {
        r = props_emit_kind(s, props_secret[kind].kind, props_secret[kind].size, emit, arg, why);
        count = r > 0 ? r : 0;
        goto out;
    }
    for (i = 0; i < sizeof(scram) / sizeof(scram[0]) && r >= 0; i++) {
        if (!(props_scram_wanted(mech) & (1u << scram[i])))
            continue;
        r = props_emit_kind(s, scram[i], 0, emit, arg, why);
        if (r > 0)
            count += r;
    }
out:
    return r < 0 ? r : count;
}

int props_lookup_status(int authdb_rc)
{
    int r;

    switch (authdb_rc) {
    case AUTHDB_OK:
        r = SASL_OK;
        break;
    case AUTHDB_NOTFOUND:
    case AUTHDB_EINVAL:
    case AUTHDB_ETOOLONG:
        r = SASL_NOUSER;
        break;
    default:
        r = SASL_UNAVAIL;
        break;
    }
    return r;
}

int props_disabled_status(void)
{
    return SASL_BADAUTH;
}
