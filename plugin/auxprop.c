/*
 * auxprop.c - libauthgate.so: the Cyrus SASL auxprop plugin "authgate".
 *
 * Interface: sasl_auxprop_plug_init, the only exported symbol (see
 * libauthgate.map).  libsasl2 2.1.28 calls it once per sasl_server_init for
 * every plugin file in its plugin directory; it returns a plugin instance
 * (glob_context) that lives until sasl_done calls auxprop_free.
 *
 * This file is a thin adapter between libsasl's propctx/sparams/utils and
 * the plain modules (options, props, handle, setpass):
 *
 *   lookup (authid, flags without SASL_AUXPROP_AUTHZID): for every
 *     requested property this plugin answers ("*userPassword",
 *     "*authPassword", "*cmusaslsecret...") that has no value yet (or any,
 *     with SASL_AUXPROP_OVERRIDE), fetch the login's secrets once and set
 *     the values.  Unknown login: SASL_NOUSER.  Disabled login:
 *     SASL_BADAUTH and a log line.  Store trouble: SASL_UNAVAIL and a log
 *     line.  Nothing requested: SASL_OK without touching the store.
 *   lookup (authzid): SASL_OK; the store holds no authorization data.
 *   store: probe (ctx == NULL) succeeds only with authgate_writable: yes;
 *     requests are planned and applied by setpass.c.
 *   An instance whose application does not use this plugin (no
 *     authgate_store, auxprop_plugin not naming it) answers SASL_NOMECH to
 *     lookups and SASL_CONSTRAINT_VIOLAT to stores, which libsasl ignores
 *     when another plugin answers.
 *
 *   A second copy of the plugin in one process (two libauthgate.so files
 *     in the plugin path, both loaded) is inert the same way, so that only
 *     the first copy loaded ever opens the store (dupcheck.c); the first
 *     time the application asks it anything it says so in one debug line
 *     (through the connection, so the line lands in the application's log).
 *
 * Init reads the options, tries to open the store quietly and logs
 * nothing.  utils->log understands only a few % directives, so every
 * message is formatted here first and passed as "%s".  Passwords and
 * secrets are never logged; logins are escaped.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "plugin_private.h"

#define AUXPROP_EXPORT __attribute__((visibility("default")))

struct auxprop_ctx {
    sasl_auxprop_plug_t plug; /* returned to libsasl; glob_context = this */
    char name[sizeof(OPTIONS_NAME)];
    options opt;
    handle h;
    char first[OPTIONS_PATH_MAX]; /* non-empty: the copy loaded first; this one is inert */
    atomic_flag told;             /* the inert copy's debug line was logged */
};

int sasl_auxprop_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                           sasl_auxprop_plug_t **plug, const char *plugname);

/* An address inside this copy of the plugin, for dupcheck_earlier. */
static const char auxprop_anchor;

static void auxprop_log(const sasl_utils_t *u, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void auxprop_log(const sasl_utils_t *u, int level, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (u != NULL && u->log != NULL)
        u->log(u->conn, level, "%s", msg);
}

/* options_get_fn over libsasl's getopt (the application's config file or
 * its own SASL_CB_GETOPT callback). */
static int auxprop_getopt(void *arg, const char *key, char *buf, size_t bufsz)
{
    const sasl_utils_t *u = arg;
    const char *v = NULL;
    unsigned len = 0;
    int r = 0;

    if (u->getopt == NULL || u->getopt(u->getopt_context, OPTIONS_NAME, key, &v, &len) != SASL_OK ||
        v == NULL)
        goto out;
    if (len == 0)
        len = (unsigned)strlen(v);
    if (len >= bufsz) {
        r = -1;
        goto out;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    r = 1;
out:
    return r;
}

struct auxprop_emit {
    const sasl_utils_t *u;
    struct propctx *ctx;
    const char *name;
};

static int auxprop_emit_value(void *arg, const char *val, size_t len)
{
    const struct auxprop_emit *e = arg;
    return e->u->prop_set(e->ctx, e->name, val, (int)len);
}

/* Which of our properties this lookup must fill: bits (1 << props_kind). */
static unsigned auxprop_wanted(const struct propval *pr, unsigned flags)
{
    unsigned want = 0;
    int k;

    for (; pr != NULL && pr->name != NULL; pr++) {
        k = props_kind(pr->name, (flags & SASL_AUXPROP_AUTHZID) != 0);
        if (k < 0 || (pr->values != NULL && !(flags & SASL_AUXPROP_OVERRIDE)))
            continue;
        want |= 1u << k;
    }
    return want;
}

/* The running mechanism's name, or NULL (sasl_checkpass runs none). */
static const char *auxprop_mech(const sasl_utils_t *u)
{
    const char *mech = NULL;

    if (u->getprop == NULL || u->getprop(u->conn, SASL_MECHNAME, (const void **)&mech) != SASL_OK)
        mech = NULL;
    return mech;
}

/* Set every wanted property from s.  Returns SASL_OK or a SASL error. */
static int auxprop_fill(const sasl_utils_t *u, struct propctx *ctx, unsigned flags, unsigned want,
                        const authdb_secrets *s, const char *store, const char *user, unsigned ulen)
{
    const struct propval *pr = u->prop_get(ctx);
    struct auxprop_emit e = {u, ctx, NULL};
    /* Only SCRAM needs the mechanism's name; asking for it outside a
     * mechanism (sasl_checkpass) costs libsasl an error message. */
    const char *mech = (want & (1u << PROPS_AUTHPASSWORD)) ? auxprop_mech(u) : NULL;
    const char *why = NULL;
    char who[128];
    int r = SASL_OK;
    int k;

    for (; pr != NULL && pr->name != NULL && r == SASL_OK; pr++) {
        k = props_kind(pr->name, (flags & SASL_AUXPROP_AUTHZID) != 0);
        if (k < 0 || (pr->values != NULL && !(flags & SASL_AUXPROP_OVERRIDE)))
            continue;
        if (pr->values != NULL)
            u->prop_erase(ctx, pr->name);
        e.name = pr->name;
        r = props_values(k, s, mech, auxprop_emit_value, &e, &why);
        if (r > 0)
            r = SASL_OK;
    }
    if (r != SASL_OK && why != NULL)
        auxprop_log(u, SASL_LOG_ERR, "authgate: store %s: login %s: %s", store,
                    authdb_log_escape(user, ulen, who, sizeof(who)), why);
    else if (r != SASL_OK)
        auxprop_log(u, SASL_LOG_ERR, "authgate: login %s: cannot set a property (SASL code %d)",
                    authdb_log_escape(user, ulen, who, sizeof(who)), r);
    return r;
}

/* An inert second copy says so once, when the application first asks. */
static void auxprop_tell_inert(struct auxprop_ctx *c, const sasl_server_params_t *sparams)
{
    if (c->first[0] != '\0' && sparams != NULL && sparams->utils != NULL &&
        !atomic_flag_test_and_set(&c->told))
        auxprop_log(sparams->utils, SASL_LOG_DEBUG,
                    "authgate: another copy of the plugin was loaded first (%s): this one "
                    "stays inert",
                    c->first);
}

static int auxprop_lookup(void *glob, sasl_server_params_t *sparams, unsigned flags,
                          const char *user, unsigned ulen)
{
    struct auxprop_ctx *c = glob;
    const sasl_utils_t *u;
    authdb_secrets *s = NULL;
    authdb *db = NULL;
    unsigned want;
    char who[128];
    char why[512];
    int r = SASL_OK;
    int rc;

    if (!c->opt.active) {
        auxprop_tell_inert(c, sparams);
        r = SASL_NOMECH;
        goto out;
    }
    if (sparams == NULL || sparams->utils == NULL || user == NULL) {
        r = SASL_BADPARAM;
        goto out;
    }
    u = sparams->utils;
    if (flags & SASL_AUXPROP_AUTHZID)
        goto out;
    want = auxprop_wanted(u->prop_get(sparams->propctx), flags);
    if (want == 0)
        goto out;
    if (c->opt.error[0] != '\0') {
        auxprop_log(u, SASL_LOG_ERR, "authgate: configuration error: %s", c->opt.error);
        r = SASL_UNAVAIL;
        goto out;
    }
    rc = handle_get(&c->h, &db, why, sizeof(why));
    if (rc != AUTHDB_OK) {
        auxprop_log(u, SASL_LOG_ERR, "authgate: cannot open store: %s", why);
        r = SASL_UNAVAIL;
        goto out;
    }
    rc = authdb_secrets_lookup(db, user, ulen, &s);
    r = props_lookup_status(rc);
    if (r == SASL_NOUSER && rc != AUTHDB_NOTFOUND) {
        /* a login no store can hold (over-long, malformed): refused as
         * unknown, and the log says why (SASL_LOG_FAIL: Postfix logs
         * authentication failures, NOTE only when verbose) */
        auxprop_log(u, SASL_LOG_FAIL, "authgate: login %s (%zu octets) refused: %s",
                    authdb_log_escape(user, ulen, who, sizeof(who)), (size_t)ulen,
                    authdb_strerror(rc));
    } else if (r == SASL_NOUSER) {
        auxprop_log(u, SASL_LOG_DEBUG, "authgate: no login %s",
                    authdb_log_escape(user, ulen, who, sizeof(who)));
    } else if (r != SASL_OK) {
        auxprop_log(u, SASL_LOG_ERR, "authgate: store %s: lookup of %s: %s", c->opt.store,
                    authdb_log_escape(user, ulen, who, sizeof(who)), authdb_strerror(rc));
    } else if (authdb_secrets_flags(s) & AUTHDB_USER_DISABLED) {
        auxprop_log(u, SASL_LOG_FAIL, "authgate: login %s is disabled",
                    authdb_log_escape(user, ulen, who, sizeof(who)));
        r = props_disabled_status();
    } else {
        r = auxprop_fill(u, sparams->propctx, flags, want, s, c->opt.store, user, ulen);
    }
out:
    authdb_secrets_free(s);
    return r;
}

/* The store request in ctx as setpass_prop entries; *out is malloc'd. */
static int auxprop_store_props(const sasl_utils_t *u, struct propctx *ctx, setpass_prop **out,
                               size_t *n)
{
    const struct propval *pr = u->prop_get(ctx);
    size_t i, count = 0;
    int r = SASL_OK;

    *out = NULL;
    *n = 0;
    for (i = 0; pr != NULL && pr[i].name != NULL; i++)
        count++;
    if (count == 0)
        goto out;
    *out = calloc(count, sizeof(**out));
    if (*out == NULL) {
        r = SASL_NOMEM;
        goto out;
    }
    for (i = 0; i < count; i++) {
        (*out)[i].name = pr[i].name;
        (*out)[i].values = pr[i].values;
    }
    *n = count;
out:
    return r;
}

static int auxprop_store(void *glob, sasl_server_params_t *sparams, struct propctx *ctx,
                         const char *user, unsigned ulen)
{
    struct auxprop_ctx *c = glob;
    const sasl_utils_t *u;
    setpass_prop *props = NULL;
    const char *password = NULL;
    enum setpass_action act;
    authdb *db = NULL;
    char login[AUTHDB_NAME_BUFSZ];
    char who[128];
    char why[512];
    size_t n, llen;
    int r = SASL_OK;
    int rc;

    if (!c->opt.active) {
        auxprop_tell_inert(c, sparams);
        r = SASL_CONSTRAINT_VIOLAT;
        goto out;
    }
    if (ctx == NULL) { /* probe: "can you store?" */
        r = c->opt.error[0] != '\0' ? SASL_FAIL
            : c->opt.writable       ? SASL_OK
                                    : SASL_CONSTRAINT_VIOLAT;
        goto out;
    }
    if (sparams == NULL || sparams->utils == NULL || user == NULL) {
        r = SASL_BADPARAM;
        goto out;
    }
    u = sparams->utils;
    if (c->opt.error[0] != '\0') {
        auxprop_log(u, SASL_LOG_ERR, "authgate: configuration error: %s", c->opt.error);
        r = SASL_FAIL;
        goto out;
    }
    if (!c->opt.writable) {
        auxprop_log(u, SASL_LOG_DEBUG, "authgate: store is read-only (%s is not set)",
                    OPTIONS_KEY_WRITABLE);
        r = SASL_CONSTRAINT_VIOLAT;
        goto out;
    }
    r = auxprop_store_props(u, ctx, &props, &n);
    if (r != SASL_OK)
        goto out;
    act = setpass_plan(props, n, &password);
    if (act == SETPASS_NONE)
        goto out;
    authdb_log_escape(user, ulen, who, sizeof(who));
    rc = setpass_login(user, ulen, sparams->user_realm, login, sizeof(login), &llen);
    if (rc == AUTHDB_OK)
        rc = handle_get(&c->h, &db, why, sizeof(why));
    else
        snprintf(why, sizeof(why), "login %s: %s", who, authdb_strerror(rc));
    if (rc == AUTHDB_OK) {
        rc = setpass_apply(db, act, login, llen, password, password ? strlen(password) : 0);
        snprintf(why, sizeof(why), "login %s: %s", who, authdb_strerror(rc));
    }
    r = setpass_status(rc);
    if (r == SASL_OK)
        auxprop_log(u, SASL_LOG_NOTE, "authgate: %s login %s",
                    act == SETPASS_SET ? "set the password of" : "deleted", who);
    else
        auxprop_log(u, r == SASL_NOUSER ? SASL_LOG_NOTE : SASL_LOG_ERR,
                    "authgate: store %s: cannot %s: %s", c->opt.store,
                    act == SETPASS_SET ? "set password" : "delete", why);
out:
    free(props);
    return r;
}

static void auxprop_free(void *glob, const sasl_utils_t *utils)
{
    struct auxprop_ctx *c = glob;

    (void)utils;
    if (c != NULL) {
        handle_done(&c->h);
        explicit_bzero(c, sizeof(*c));
        free(c);
    }
}

AUXPROP_EXPORT int sasl_auxprop_plug_init(const sasl_utils_t *utils, int max_version,
                                          int *out_version, sasl_auxprop_plug_t **plug,
                                          const char *plugname)
{
    struct auxprop_ctx *c = NULL;
    int r = SASL_OK;

    (void)plugname; /* libsasl's guess from the file name; plug->name counts */
    if (utils == NULL || out_version == NULL || plug == NULL) {
        r = SASL_BADPARAM;
        goto out;
    }
    if (max_version < SASL_AUXPROP_PLUG_VERSION) {
        r = SASL_BADVERS;
        goto out;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        r = SASL_NOMEM;
        goto out;
    }
    atomic_flag_clear(&c->told);
    /* A copy loaded after another keeps c->opt all zero: inactive, no
     * store, never opened. */
    if (dupcheck_earlier(&auxprop_anchor, c->first, sizeof(c->first)) != 1)
        options_load(auxprop_getopt, (void *)utils, &c->opt);
    handle_init(&c->h, c->opt.store, c->opt.writable, c->opt.active && c->opt.error[0] == '\0');
    memcpy(c->name, OPTIONS_NAME, sizeof(c->name));
    c->plug.features = 0;
    c->plug.spare_int1 = 0;
    c->plug.glob_context = c;
    c->plug.auxprop_free = auxprop_free;
    c->plug.auxprop_lookup = auxprop_lookup;
    c->plug.name = c->name;
    c->plug.auxprop_store = auxprop_store;
    *out_version = SASL_AUXPROP_PLUG_VERSION;
    *plug = &c->plug;
out:
    return r;
}
