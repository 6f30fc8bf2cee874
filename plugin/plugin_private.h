/*
 * plugin_private.h - internals of libauthgate.so, the Cyrus SASL auxprop
 * plugin "authgate".  Not installed.
 *
 * auxprop.c is the only file that speaks libsasl2's plugin API (propctx,
 * sparams, utils).  It translates between that world and the plain
 * functions declared here, which the unit tests call directly:
 *
 *   options.c  the plugin's settings, read once through libsasl's getopt
 *   props.c    which auxprop property is which store secret, what value a
 *              property gets, how store outcomes become SASL codes
 *   handle.c   the one store handle of a plugin instance, opened at init
 *              when possible (before a chroot) and lazily otherwise
 *   setpass.c  sasl_setpass / saslpasswd2: what a store request means and
 *              how it is applied to the store
 *   dupcheck.c whether another copy of the plugin (a second libauthgate.so
 *              in the plugin path) was loaded first
 *
 * Nothing here keeps global state: a plugin instance (one per
 * sasl_server_init) owns everything it uses.
 */
#ifndef PLUGIN_PRIVATE_H
#define PLUGIN_PRIVATE_H

#include <pthread.h>
#include <stddef.h>

#include "authdb.h"

/* ---------------------------------------------------------------------
 * options.c
 */
#define OPTIONS_NAME          "authgate" /* plug->name, auxprop_plugin value */
#define OPTIONS_DEFAULT_STORE "/var/lib/authgate"
#define OPTIONS_PATH_MAX      1024

/* The option keys, as an application's SASL configuration file spells
 * them (libsasl lowercases keys; values are kept as written). */
#define OPTIONS_KEY_STORE    "authgate_store"
#define OPTIONS_KEY_WRITABLE "authgate_writable"
#define OPTIONS_KEY_PLUGINS  "auxprop_plugin"

typedef struct options {
    int active;   /* the application uses this plugin (see options_load) */
    int writable; /* authgate_writable: yes (sasl_setpass may write) */
    char store[OPTIONS_PATH_MAX];
    char error[256]; /* non-empty: configuration error, plugin fails closed */
} options;

/* Reads one option into buf (NUL-terminated): returns 1 if set, 0 if
 * unset, -1 if the value does not fit in bufsz. */
typedef int (*options_get_fn)(void *arg, const char *key, char *buf, size_t bufsz);

/* Fill *out from the application's options.  The plugin is active when
 * authgate_store is set or auxprop_plugin names "authgate"; an inactive
 * plugin stays out of the way of other auxprop plugins.  A bad value does
 * not fail: out->error says what is wrong and the plugin then answers every
 * lookup with a temporary failure (fail closed, never open).  Never logs. */
void options_load(options_get_fn get, void *arg, options *out);

/* The i-th option key of the plugin (0-based), or NULL past the end: for
 * the test that every key is documented in docs/authgate.7. */
const char *options_key_at(size_t i);

/* Parse a libsasl-style boolean ("yes", "on", "1", "true" / "no", "off",
 * "0", "false", any case).  Returns 1 or 0, or -1 if it is neither. */
int options_bool(const char *v);

/* Non-zero if the whitespace-separated list names "authgate" (any case). */
int options_lists_plugin(const char *list);

/* ---------------------------------------------------------------------
 * props.c
 */
enum props_kind {
    PROPS_USERPASSWORD = 0, /* cleartext: only for CLEARTEXT users */
    PROPS_AUTHPASSWORD,     /* SCRAM: "SCRAM-SHA-256$iter:salt$stored:server" */
    PROPS_CRAM,             /* cmusaslsecretCRAM-MD5: 32-byte HMAC-MD5 state */
    PROPS_DIGEST,           /* cmusaslsecretDIGEST-MD5: 16-byte H(A1) */
    PROPS_PLAIN,            /* cmusaslsecretPLAIN: 33-byte salted MD5 */
    PROPS_KINDS
};

/* The kind of a property as it is named in a propctx.  Secrets belong to
 * the authentication identity, whose properties carry a '*' prefix
 * ("*userPassword"); authzid lookups (authzid != 0) never get secrets.
 * Returns a props_kind or -1 for a property this plugin does not answer. */
int props_kind(const char *name, int authzid);

/* The bare property name of a kind ("userPassword"). */
const char *props_name(int kind);

/* Called once per value to give a property.  Returns 0 or a SASL code. */
typedef int (*props_emit_fn)(void *arg, const char *val, size_t len);

/* Emit the values the property kind gets from secrets s.  mech is the
 * running mechanism (NULL if unknown, e.g. sasl_checkpass): for a SCRAM
 * mechanism, authPassword carries only that variant's value, so a login
 * without it is "no secret" (535) rather than libsasl's "no valid secret",
 * which it reports as SASL_NOMEM (454).  Fixed-size secrets of the wrong
 * size are refused.  Returns the number of values emitted (0: none), or a
 * negative SASL code: emit's, or SASL_UNAVAIL for a malformed stored value
 * (then *why says what is wrong). */
int props_values(int kind, const authdb_secrets *s, const char *mech, props_emit_fn emit, void *arg,
                 const char **why);

/* Map an authdb outcome of an authentication-id lookup to a SASL code:
 * OK -> SASL_OK; NOTFOUND, EINVAL, ETOOLONG (a login that cannot exist)
 * -> SASL_NOUSER; everything else -> SASL_UNAVAIL (temporary: Postfix and
 * Exim answer 4xx; SASL_FAIL would be a permanent 535 in Exim). */
int props_lookup_status(int authdb_rc);

/* The SASL code for an authid lookup of a disabled login: SASL_BADAUTH,
 * the same answer as a wrong password, so that the client learns nothing,
 * and sticky against other auxprop plugins in the list. */
int props_disabled_status(void);

/* ---------------------------------------------------------------------
 * handle.c
 */
typedef struct handle {
    pthread_mutex_t mu;
    char dir[OPTIONS_PATH_MAX];
    unsigned flags; /* AUTHDB_SECRETS, or AUTHDB_BOTH | AUTHDB_WRITE */
    authdb *db;     /* NULL until opened */
} handle;

/* Prepare h for store dir and, if open_now, try to open it now, quietly
 * (an MTA that chroots after init keeps a handle opened outside).  A
 * failure here is not reported: handle_get tries again and reports. */
void handle_init(handle *h, const char *dir, int writable, int open_now);

/* The store handle, opened now if needed.  AUTHDB_OK with *out set, or an
 * authdb code with why filled ("path: problem").  Thread-safe. */
int handle_get(handle *h, authdb **out, char *why, size_t whylen);

/* Close the handle (in a forked child, authdb leaves the parent's
 * environment alone). */
void handle_done(handle *h);

/* ---------------------------------------------------------------------
 * dupcheck.c
 */

/* Was another object with the same file name as the one holding the
 * address self (this copy of the plugin) loaded into the process before
 * it?  1 yes (other, if not NULL, gets its path), 0 no, -1 when self lies
 * in no loaded object.  Reads the dynamic loader's list only. */
int dupcheck_earlier(const void *self, char *other, size_t othersz);

/* ---------------------------------------------------------------------
 * setpass.c
 */
enum setpass_action {
    SETPASS_NONE = 0, /* nothing this store does: answer OK */
    SETPASS_SET,      /* derive the configured secrets from a password */
    SETPASS_DELETE,   /* remove the login */
};

/* One property of a store request, as libsasl passes it. */
typedef struct setpass_prop {
    const char *name;
    const char *const *values; /* NULL, or NULL-terminated */
} setpass_prop;

/* What a store request asks for.  "*" (SASL_AUX_ALL) deletes the login;
 * userPassword with a value sets the password (the last value wins: libsasl
 * appends when a connection sets it twice); userPassword without a value
 * deletes.  Everything else is ignored: the store derives its own
 * mechanism secrets (saslpasswd2 asks to wipe the cmusaslsecret*
 * properties after every change; SCRAM's setpass offers authPassword).
 * *password points into props (not copied). */
enum setpass_action setpass_plan(const setpass_prop *props, size_t n, const char **password);

/* The login a store request is for: user as given, with "@realm" appended
 * when it has no '@' and realm is non-empty (what sasldb does with
 * saslpasswd2 -u, and what libsasl's canonicalizer does at lookup time).
 * AUTHDB_OK, or AUTHDB_ETOOLONG / AUTHDB_EINVAL. */
int setpass_login(const char *user, size_t ulen, const char *realm, char *out, size_t outsz,
                  size_t *outlen);

/* Apply a planned action to the store for login.  SET derives the secrets
 * the store (or the login's override) asks for, outside any transaction,
 * then writes them.  Returns an authdb code (AUTHDB_NOTFOUND when deleting
 * an unknown login). */
int setpass_apply(authdb *db, enum setpass_action action, const char *login, size_t len,
                  const char *password, size_t pwlen);

/* The SASL code for a store outcome. */
int setpass_status(int authdb_rc);

#endif /* PLUGIN_PRIVATE_H */
