/*
 * test_props.c - props.c: property names, values from real derived
 * secrets, outcome mapping.  Table-driven.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sasl/sasl.h>

#include "plugin_private.h"

static void test_props_kind(void **state)
{
    static const struct {
        const char *name;
        int authzid;
        int want;
    } cases[] = {
        {"*userPassword", 0, PROPS_USERPASSWORD},
        {"*userpassword", 0, PROPS_USERPASSWORD},
        {"*authPassword", 0, PROPS_AUTHPASSWORD},
        {"*cmusaslsecretCRAM-MD5", 0, PROPS_CRAM},
        {"*cmusaslsecretDIGEST-MD5", 0, PROPS_DIGEST},
        {"*cmusaslsecretPLAIN", 0, PROPS_PLAIN},
        /* authzid properties never get secrets */
        {"userPassword", 1, -1},
        {"*userPassword", 1, -1},
        {"cmusaslsecretPLAIN", 1, -1},
        /* unstarred names in an authid lookup belong to the authzid */
        {"userPassword", 0, -1},
        /* not ours */
        {"*cmusaslsecretOTP", 0, -1},
        {"*uidNumber", 0, -1},
        {"*", 0, -1},
        {"", 0, -1},
        {NULL, 0, -1},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = props_kind(cases[i].name, cases[i].authzid);
        if (got != cases[i].want)
            fail_msg("props_kind(\"%s\", %d): got %d, want %d",
                     cases[i].name ? cases[i].name : "NULL", cases[i].authzid, got, cases[i].want);
    }
}

/* Collects emitted values. */
struct got_values {
    size_t n;
    size_t len[4];
    char val[4][256];
    int fail_with; /* make emit fail */
};

static int collect(void *arg, const char *val, size_t len)
{
    struct got_values *g = arg;

    if (g->fail_with != 0)
        return g->fail_with;
    if (g->n < 4 && len < sizeof(g->val[0])) {
        memcpy(g->val[g->n], val, len);
        g->len[g->n] = len;
    }
    g->n++;
    return SASL_OK;
}

static authdb_secrets *derive(unsigned mechs)
{
    authdb_derive_params p;
    authdb_secrets *s = NULL;

    memset(&p, 0, sizeof(p));
    p.mechs = mechs;
    p.scram_iterations = 4096;
    snprintf(p.password_hash, sizeof(p.password_hash), "yescrypt");
    snprintf(p.digest_realm, sizeof(p.digest_realm), "mx.test");
    assert_int_equal(authdb_secrets_derive(&p, "alice@example.com", "S3cret", 6, &s), AUTHDB_OK);
    return s;
}

static void test_props_values(void **state)
{
    static const struct {
        unsigned mechs;
        int kind;
        const char *mech;
        int want_n;
        size_t want_len;     /* of the first value (0: text, check prefix) */
        const char *prefix0; /* of the first value, text kinds */
        const char *prefix1; /* of the second value */
    } cases[] = {
        {AUTHDB_MECH_ALL_, PROPS_USERPASSWORD, NULL, 1, 6, "S3cret", NULL},
        {AUTHDB_MECH_ALL_ & ~AUTHDB_MECH_CLEARTEXT, PROPS_USERPASSWORD, "PLAIN", 0, 0, NULL, NULL},
        {AUTHDB_MECH_ALL_, PROPS_CRAM, "CRAM-MD5", 1, 32, NULL, NULL},
        {AUTHDB_MECH_ALL_, PROPS_DIGEST, "DIGEST-MD5", 1, 16, NULL, NULL},
        {AUTHDB_MECH_ALL_, PROPS_PLAIN, NULL, 1, 33, NULL, NULL},
        {AUTHDB_MECH_SCRAM_SHA256, PROPS_CRAM, "CRAM-MD5", 0, 0, NULL, NULL},
        /* SCRAM: both values unless the running mechanism is known */
        {AUTHDB_MECH_ALL_, PROPS_AUTHPASSWORD, NULL, 2, 0, "SCRAM-SHA-256$4096:", "SCRAM-SHA-1$"},
        {AUTHDB_MECH_ALL_, PROPS_AUTHPASSWORD, "PLAIN", 2, 0, "SCRAM-SHA-256$", "SCRAM-SHA-1$"},
        {AUTHDB_MECH_ALL_, PROPS_AUTHPASSWORD, "SCRAM-SHA-256", 1, 0, "SCRAM-SHA-256$", NULL},
        {AUTHDB_MECH_ALL_, PROPS_AUTHPASSWORD, "SCRAM-SHA-256-PLUS", 1, 0, "SCRAM-SHA-256$", NULL},
        {AUTHDB_MECH_ALL_, PROPS_AUTHPASSWORD, "scram-sha-1", 1, 0, "SCRAM-SHA-1$", NULL},
        {AUTHDB_MECH_ALL_, PROPS_AUTHPASSWORD, "SCRAM-SHA-512", 0, 0, NULL, NULL},
        /* a login without the running variant gets nothing (535, not 454) */
        {AUTHDB_MECH_SCRAM_SHA256, PROPS_AUTHPASSWORD, "SCRAM-SHA-1", 0, 0, NULL, NULL},
        {AUTHDB_MECH_SCRAM_SHA1, PROPS_AUTHPASSWORD, NULL, 1, 0, "SCRAM-SHA-1$", NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        authdb_secrets *s = derive(cases[i].mechs);
        struct got_values g;
        const char *why = NULL;
        int n;

        memset(&g, 0, sizeof(g));
        n = props_values(cases[i].kind, s, cases[i].mech, collect, &g, &why);
        authdb_secrets_free(s);
        if (n != cases[i].want_n || g.n != (size_t)cases[i].want_n)
            fail_msg("case %zu (%s, mech %s): got %d values (%zu emitted), want %d", i,
                     props_name(cases[i].kind), cases[i].mech ? cases[i].mech : "NULL", n, g.n,
                     cases[i].want_n);
        if (n > 0 && cases[i].want_len != 0 && g.len[0] != cases[i].want_len)
            fail_msg("case %zu: got length %zu, want %zu", i, g.len[0], cases[i].want_len);
        if (n > 0 && cases[i].prefix0 != NULL &&
            strncmp(g.val[0], cases[i].prefix0, strlen(cases[i].prefix0)) != 0)
            fail_msg("case %zu: got value \"%.20s...\", want prefix \"%s\"", i, g.val[0],
                     cases[i].prefix0);
        if (n > 1 && cases[i].prefix1 != NULL &&
            strncmp(g.val[1], cases[i].prefix1, strlen(cases[i].prefix1)) != 0)
            fail_msg("case %zu: got second value \"%.20s...\", want prefix \"%s\"", i, g.val[1],
                     cases[i].prefix1);
    }
}

static void test_props_values_emit_error(void **state)
{
    authdb_secrets *s = derive(AUTHDB_MECH_ALL_);
    struct got_values g;
    const char *why = NULL;
    int n;

    (void)state;
    memset(&g, 0, sizeof(g));
    g.fail_with = SASL_NOMEM;
    n = props_values(PROPS_AUTHPASSWORD, s, NULL, collect, &g, &why);
    authdb_secrets_free(s);
    if (n != SASL_NOMEM)
        fail_msg("got %d, want SASL_NOMEM (%d): an emit error must stop and be returned", n,
                 SASL_NOMEM);
}

static void test_props_lookup_status(void **state)
{
    static const struct {
        int in, want;
    } cases[] = {
        {AUTHDB_OK, SASL_OK},
        {AUTHDB_NOTFOUND, SASL_NOUSER},
        {AUTHDB_EINVAL, SASL_NOUSER},
        {AUTHDB_ETOOLONG, SASL_NOUSER},
        {AUTHDB_ENOSTORE, SASL_UNAVAIL},
        {AUTHDB_EFOREIGN, SASL_UNAVAIL},
        {AUTHDB_ENEWER, SASL_UNAVAIL},
        {AUTHDB_ECORRUPT, SASL_UNAVAIL},
        {AUTHDB_EPERM, SASL_UNAVAIL},
        {AUTHDB_ENOMEM, SASL_UNAVAIL},
        {AUTHDB_EBUSY, SASL_UNAVAIL},
        {-30796 /* MDB_CORRUPTED */, SASL_UNAVAIL},
        {-30791 /* MDB_READERS_FULL */, SASL_UNAVAIL},
        {13 /* EACCES */, SASL_UNAVAIL},
        {5 /* EIO */, SASL_UNAVAIL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = props_lookup_status(cases[i].in);
        if (got != cases[i].want)
            fail_msg("props_lookup_status(%d %s): got %d, want %d", cases[i].in,
                     authdb_strerror(cases[i].in), got, cases[i].want);
    }
    assert_int_equal(props_disabled_status(), SASL_BADAUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_props_kind),
        cmocka_unit_test(test_props_values),
        cmocka_unit_test(test_props_values_emit_error),
        cmocka_unit_test(test_props_lookup_status),
    };
    return cmocka_run_group_tests_name("plugin-props", tests, NULL, NULL);
}
