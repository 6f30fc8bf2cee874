/*
 * test_auxprop.c - the adapter (auxprop.c) called the way libsasl2 calls
 * it, with libsasl2's real propctx functions and a real store, so that the
 * cases no mechanism produces on its own are pinned: a user string that is
 * not NUL-terminated, properties already set with and without
 * SASL_AUXPROP_OVERRIDE, authzid lookups, the SCRAM variant filter, an
 * inactive instance, version negotiation, the store probe and store
 * requests.
 *
 * The utils structure is filled here (libsasl2 builds its own per
 * connection); the prop_* functions in it are libsasl2's.  Its conn field
 * carries the fixture to the fake log and getprop callbacks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "authdb.h"
#include "harness.h"
#include "teststore.h"

int sasl_auxprop_plug_init(const sasl_utils_t *utils, int max_version, int *out_version,
                           sasl_auxprop_plug_t **plug, const char *plugname);

struct fix {
    harness h;
    const char *opts[8]; /* key, value pairs for getopt */
    const char *mech;    /* what getprop(SASL_MECHNAME) answers, NULL: NOTDONE */
    char log[8192];
    sasl_utils_t u;
    sasl_server_params_t sp;
    sasl_auxprop_plug_t *plug;
};

static int fake_getopt(void *ctx, const char *plugin, const char *key, const char **result,
                       unsigned *len)
{
    struct fix *f = ctx;
    size_t i;

    (void)plugin;
    for (i = 0; f->opts[i] != NULL; i += 2) {
        if (strcmp(f->opts[i], key) == 0) {
            *result = f->opts[i + 1];
            if (len != NULL)
                *len = (unsigned)strlen(f->opts[i + 1]);
            return SASL_OK;
        }
    }
    return SASL_FAIL;
}

static void fake_log(sasl_conn_t *conn, int level, const char *fmt, ...)
{
    struct fix *f = (struct fix *)conn;
    size_t used = strlen(f->log);
    const char *msg;
    va_list ap;

    va_start(ap, fmt);
    assert_string_equal(fmt, "%s"); /* the plugin formats, libsasl only copies */
    msg = va_arg(ap, const char *);
    snprintf(f->log + used, sizeof(f->log) - used, "%d %s\n", level, msg);
    va_end(ap);
}

static int fake_getprop(sasl_conn_t *conn, int propnum, const void **pvalue)
{
    struct fix *f = (struct fix *)conn;

    if (propnum != SASL_MECHNAME || f->mech == NULL)
        return SASL_NOTDONE;
    *pvalue = f->mech;
    return SASL_OK;
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));

    if (f == NULL || harness_setup(&f->h) != 0 ||
        teststore_create(f->h.store, "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN", NULL) ||
        teststore_put(f->h.store, "alice@example.com", "Al1ce-pw", NULL) ||
        teststore_put(f->h.store, "dave", "D4ve-pw", "CLEARTEXT CRAM-MD5") ||
        teststore_put(f->h.store, "carol", "C4rol-pw", NULL) ||
        teststore_disable(f->h.store, "carol", 1))
        return -1;
    f->u.conn = (sasl_conn_t *)f;
    f->u.getopt = fake_getopt;
    f->u.getopt_context = f;
    f->u.log = fake_log;
    f->u.getprop = fake_getprop;
    f->u.prop_get = prop_get;
    f->u.prop_set = prop_set;
    f->u.prop_erase = prop_erase;
    f->sp.utils = &f->u;
    f->sp.propctx = prop_new(0);
    f->opts[0] = "authgate_store";
    f->opts[1] = f->h.store;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;

    if (f->plug != NULL)
        f->plug->auxprop_free(f->plug->glob_context, &f->u);
    prop_dispose(&f->sp.propctx);
    harness_teardown(&f->h);
    free(f);
    return 0;
}

static void plug_init(struct fix *f)
{
    int v = 0;

    assert_int_equal(
        sasl_auxprop_plug_init(&f->u, SASL_AUXPROP_PLUG_VERSION, &v, &f->plug, "authgate"),
        SASL_OK);
    assert_int_equal(v, SASL_AUXPROP_PLUG_VERSION);
    assert_string_equal(f->plug->name, "authgate");
}

static int lookup(struct fix *f, unsigned flags, const char *user, unsigned ulen)
{
    return f->plug->auxprop_lookup(f->plug->glob_context, &f->sp, flags, user, ulen);
}

static void request(struct fix *f, const char **names)
{
    prop_clear(f->sp.propctx, 1);
    assert_int_equal(prop_request(f->sp.propctx, names), SASL_OK);
}

/* The values of a property: count, and the first's length. */
static unsigned values_of(struct fix *f, const char *name, size_t *len0, const char **v0)
{
    const struct propval *pr = prop_get(f->sp.propctx);
    unsigned n = 0;

    for (; pr->name != NULL; pr++) {
        if (strcmp(pr->name, name) != 0 || pr->values == NULL)
            continue;
        for (; pr->values[n] != NULL; n++)
            ;
        if (n > 0 && len0 != NULL)
            *len0 = strlen(pr->values[0]);
        if (n > 0 && v0 != NULL)
            *v0 = pr->values[0];
    }
    return n;
}

static void test_init_versions(void **state)
{
    struct fix *f = *state;
    sasl_auxprop_plug_t *p = NULL;
    int v = 0;

    assert_int_equal(sasl_auxprop_plug_init(&f->u, SASL_AUXPROP_PLUG_VERSION - 1, &v, &p, "x"),
                     SASL_BADVERS);
    assert_null(p);
    assert_int_equal(sasl_auxprop_plug_init(NULL, SASL_AUXPROP_PLUG_VERSION, &v, &p, "x"),
                     SASL_BADPARAM);
    plug_init(f);
    assert_non_null(f->plug->auxprop_store);
    assert_int_equal(f->plug->features, 0);
    /* init is silent */
    assert_string_equal(f->log, "");
}

static void test_unterminated_user(void **state)
{
    struct fix *f = *state;
    const char *names[] = {"*cmusaslsecretCRAM-MD5", NULL};
    const char buf[] = "alice@example.comXYZ"; /* only 17 octets are the user */

    plug_init(f);
    request(f, names);
    assert_int_equal(lookup(f, 0, buf, 17), SASL_OK);
    assert_int_equal(values_of(f, "*cmusaslsecretCRAM-MD5", NULL, NULL), 1);
    request(f, names);
    assert_int_equal(lookup(f, 0, buf, 20), SASL_NOUSER);
}

static void test_already_set_and_override(void **state)
{
    struct fix *f = *state;
    const char *names[] = {"*cmusaslsecretPLAIN", NULL};
    const char *v = NULL;
    size_t len = 0;

    plug_init(f);
    request(f, names);
    assert_int_equal(prop_set(f->sp.propctx, "*cmusaslsecretPLAIN", "preset", 6), SASL_OK);
    /* set by someone else, no OVERRIDE: left alone, store not consulted
     * (an unknown login still answers OK: nothing was looked up) */
    assert_int_equal(lookup(f, 0, "nobody", 6), SASL_OK);
    assert_int_equal(values_of(f, "*cmusaslsecretPLAIN", &len, &v), 1);
    assert_string_equal(v, "preset");
    assert_int_equal(lookup(f, 0, "alice@example.com", 17), SASL_OK);
    assert_int_equal(values_of(f, "*cmusaslsecretPLAIN", &len, &v), 1);
    assert_string_equal(v, "preset");
    /* OVERRIDE: replaced by the store's 33-octet value */
    assert_int_equal(lookup(f, SASL_AUXPROP_OVERRIDE, "alice@example.com", 17), SASL_OK);
    assert_int_equal(values_of(f, "*cmusaslsecretPLAIN", NULL, NULL), 1);
    assert_int_equal(prop_get(f->sp.propctx)[0].valsize, 33);
    /* OVERRIDE for an unknown login: NOUSER */
    assert_int_equal(lookup(f, SASL_AUXPROP_OVERRIDE, "nobody", 6), SASL_NOUSER);
}

static void test_authzid(void **state)
{
    struct fix *f = *state;
    const char *names[] = {"*userPassword", "userPassword", "cmusaslsecretCRAM-MD5", NULL};

    plug_init(f);
    request(f, names);
    /* authzid lookups never answer, never fail, for any login */
    assert_int_equal(lookup(f, SASL_AUXPROP_AUTHZID, "dave", 4), SASL_OK);
    assert_int_equal(lookup(f, SASL_AUXPROP_AUTHZID, "nobody", 6), SASL_OK);
    assert_int_equal(values_of(f, "userPassword", NULL, NULL), 0);
    assert_int_equal(values_of(f, "cmusaslsecretCRAM-MD5", NULL, NULL), 0);
    assert_int_equal(values_of(f, "*userPassword", NULL, NULL), 0);
    /* the authid lookup answers only the starred property */
    assert_int_equal(lookup(f, 0, "dave", 4), SASL_OK);
    assert_int_equal(values_of(f, "*userPassword", NULL, NULL), 1);
    assert_int_equal(values_of(f, "userPassword", NULL, NULL), 0);
}

static void test_scram_variants(void **state)
{
    static const struct {
        const char *mech;
        unsigned n;
        const char *prefix;
    } cases[] = {
        {NULL, 2, "SCRAM-SHA-256$"},        {"SCRAM-SHA-256", 1, "SCRAM-SHA-256$"},
        {"SCRAM-SHA-1", 1, "SCRAM-SHA-1$"}, {"SCRAM-SHA-1-PLUS", 1, "SCRAM-SHA-1$"},
        {"SCRAM-SHA-512", 0, NULL},
    };
    struct fix *f = *state;
    const char *names[] = {"*userPassword", "*authPassword", NULL};
    const char *v = NULL;
    size_t i;

    plug_init(f);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned n;
        f->mech = cases[i].mech;
        request(f, names);
        assert_int_equal(lookup(f, 0, "alice@example.com", 17), SASL_OK);
        n = values_of(f, "*authPassword", NULL, &v);
        if (n != cases[i].n || (n > 0 && strncmp(v, cases[i].prefix, strlen(cases[i].prefix))))
            fail_msg("mech %s: got %u values (%.16s), want %u (%s)",
                     cases[i].mech ? cases[i].mech : "none", n, n ? v : "", cases[i].n,
                     cases[i].prefix ? cases[i].prefix : "");
        assert_int_equal(values_of(f, "*userPassword", NULL, NULL), 0);
    }
}

static void test_outcomes_and_logs(void **state)
{
    struct fix *f = *state;
    const char *names[] = {"*userPassword", "*cmusaslsecretCRAM-MD5", NULL};

    plug_init(f);
    request(f, names);
    assert_int_equal(lookup(f, 0, "carol", 5), SASL_BADAUTH);
    assert_non_null(strstr(f->log, "2 authgate: login carol is disabled"));
    assert_int_equal(values_of(f, "*cmusaslsecretCRAM-MD5", NULL, NULL), 0);
    request(f, names);
    assert_int_equal(lookup(f, 0, "nobody\x01", 7), SASL_NOUSER);
    /* logins are escaped in logs; a malformed one is refused with the reason */
    assert_non_null(
        strstr(f->log, "authgate: login nobody\\x01 (7 octets) refused: invalid argument"));
    /* an over-long login: refused as unknown, and the log says why */
    {
        char big[400];
        memset(big, 'a', sizeof(big));
        request(f, names);
        assert_int_equal(lookup(f, 0, big, sizeof(big)), SASL_NOUSER);
        assert_non_null(strstr(f->log, " (400 octets) refused: input too long"));
    }
    request(f, names);
    assert_int_equal(lookup(f, 0, "nobody", 6), SASL_NOUSER);
    assert_non_null(strstr(f->log, "authgate: no login nobody"));
    /* nothing requested that we answer: OK without the store */
    {
        const char *other[] = {"*uidNumber", NULL};
        request(f, other);
        assert_int_equal(lookup(f, 0, "nobody", 6), SASL_OK);
    }
}

static void test_inactive(void **state)
{
    struct fix *f = *state;
    const char *names[] = {"*userPassword", NULL};

    f->opts[0] = "sasldb_path"; /* authgate_store unset, auxprop_plugin unset */
    plug_init(f);
    request(f, names);
    assert_int_equal(lookup(f, 0, "alice@example.com", 17), SASL_NOMECH);
    assert_int_equal(f->plug->auxprop_store(f->plug->glob_context, NULL, NULL, NULL, 0),
                     SASL_CONSTRAINT_VIOLAT);
    assert_int_equal(f->plug->auxprop_store(f->plug->glob_context, &f->sp, f->sp.propctx, "x", 1),
                     SASL_CONSTRAINT_VIOLAT);
    assert_string_equal(f->log, "");
}

static void test_active_by_auxprop_plugin(void **state)
{
    struct fix *f = *state;
    const char *names[] = {"*userPassword", NULL};

    f->opts[0] = "auxprop_plugin";
    f->opts[1] = "sasldb authgate";
    plug_init(f);
    request(f, names);
    /* active, with the default store */
    if (access("/var/lib/authgate", F_OK) == 0) {
        /* a real store on this machine: whatever it says, it was asked */
        assert_int_not_equal(lookup(f, 0, "alice@example.com", 17), SASL_NOMECH);
    } else {
        assert_int_equal(lookup(f, 0, "alice@example.com", 17), SASL_UNAVAIL);
        assert_non_null(strstr(f->log, "/var/lib/authgate"));
    }
}

static void test_store_requests(void **state)
{
    struct fix *f = *state;
    const char *set[] = {"userPassword", NULL};
    const char *del[] = {"userPassword", "*", NULL};
    const char *wipe[] = {"cmusaslsecretCRAM-MD5", "cmusaslsecretPLAIN", NULL};
    struct propctx *ctx = prop_new(0);

    f->opts[2] = "authgate_writable";
    f->opts[3] = "yes";
    plug_init(f);
    assert_int_equal(f->plug->auxprop_store(f->plug->glob_context, NULL, NULL, NULL, 0), SASL_OK);
    f->sp.user_realm = "example.com";
    assert_int_equal(prop_request(ctx, set), SASL_OK);
    assert_int_equal(prop_set(ctx, "userPassword", "Fr4nk-pw", 8), SASL_OK);
    /* user not NUL-terminated, realm appended */
    assert_int_equal(f->plug->auxprop_store(f->plug->glob_context, &f->sp, ctx, "frankXX", 5),
                     SASL_OK);
    assert_int_equal(teststore_verify(f->h.store, "frank@example.com", "Fr4nk-pw"), AUTHDB_OK);
    prop_dispose(&ctx);

    /* the wipe saslpasswd2 sends afterwards changes nothing */
    ctx = prop_new(0);
    assert_int_equal(prop_request(ctx, wipe), SASL_OK);
    assert_int_equal(prop_set(ctx, "cmusaslsecretCRAM-MD5", NULL, 0), SASL_OK);
    assert_int_equal(prop_set(ctx, "cmusaslsecretPLAIN", NULL, 0), SASL_OK);
    assert_int_equal(f->plug->auxprop_store(f->plug->glob_context, &f->sp, ctx, "frank", 5),
                     SASL_OK);
    assert_int_equal(teststore_verify(f->h.store, "frank@example.com", "Fr4nk-pw"), AUTHDB_OK);
    prop_dispose(&ctx);

    /* delete, twice */
    ctx = prop_new(0);
    assert_int_equal(prop_request(ctx, del), SASL_OK);
    assert_int_equal(prop_set(ctx, "userPassword", NULL, 0), SASL_OK);
    assert_int_equal(prop_set(ctx, "*", NULL, 0), SASL_OK);
    assert_int_equal(f->plug->auxprop_store(f->plug->glob_context, &f->sp, ctx, "frank", 5),
                     SASL_OK);
    assert_int_equal(teststore_has(f->h.store, "frank@example.com", NULL), 0);
    assert_int_equal(f->plug->auxprop_store(f->plug->glob_context, &f->sp, ctx, "frank", 5),
                     SASL_NOUSER);
    prop_dispose(&ctx);
    /* no password ever logged */
    assert_null(strstr(f->log, "Fr4nk-pw"));
}

static void test_store_read_only(void **state)
{
    struct fix *f = *state;
    const char *set[] = {"userPassword", NULL};
    struct propctx *ctx = prop_new(0);

    plug_init(f);
    assert_int_equal(f->plug->auxprop_store(f->plug->glob_context, NULL, NULL, NULL, 0),
                     SASL_CONSTRAINT_VIOLAT);
    assert_int_equal(prop_request(ctx, set), SASL_OK);
    assert_int_equal(prop_set(ctx, "userPassword", "Fr4nk-pw", 8), SASL_OK);
    assert_int_equal(f->plug->auxprop_store(f->plug->glob_context, &f->sp, ctx, "frank", 5),
                     SASL_CONSTRAINT_VIOLAT);
    assert_int_equal(teststore_has(f->h.store, "frank", NULL), 0);
    prop_dispose(&ctx);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_init_versions),   T(test_unterminated_user),        T(test_already_set_and_override),
        T(test_authzid),         T(test_scram_variants),           T(test_outcomes_and_logs),
        T(test_inactive),        T(test_active_by_auxprop_plugin), T(test_store_requests),
        T(test_store_read_only),
    };
#undef T
    return cmocka_run_group_tests_name("plugin-auxprop", tests, NULL, NULL);
}
