/*
 * test_facts.c - what libsasl2 2.1.28 on this machine asks of an auxprop
 * plugin, pinned down with the recording plugin "probe" (probeprop.c).
 *
 * For each server mechanism, a full in-process exchange with the right
 * password (probe answers *userPassword) must succeed and the recorded
 * lookups must be exactly the expected sequence: how many calls, authid or
 * authzid, which user string (realm appended or not), which properties
 * requested and already set.  These are the facts the authgate plugin is
 * built on (DESIGN.md section 2); if libsasl2 changes, this test says how.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

struct facts {
    harness h;
    char logpath[PATH_MAX];
};

static int facts_setup(void **state)
{
    struct facts *f = calloc(1, sizeof(*f));

    if (f == NULL || harness_setup(&f->h) != 0)
        return -1;
    snprintf(f->logpath, sizeof(f->logpath), "%s/probe.log", f->h.root);
    *state = f;
    return 0;
}

static int facts_teardown(void **state)
{
    struct facts *f = *state;
    harness_teardown(&f->h);
    free(f);
    return 0;
}

static void facts_read(const struct facts *f, char *buf, size_t bufsz)
{
    FILE *in = fopen(f->logpath, "r");
    size_t n = 0;

    if (in != NULL) {
        n = fread(buf, 1, bufsz - 1, in);
        fclose(in);
    }
    buf[n] = '\0';
}

struct fact_case {
    const char *mech;
    const char *realm;  /* server user_realm */
    const char *authid; /* as the client sends it */
    const char *want;   /* the probe's log, exactly */
};

static const struct fact_case fact_cases[] = {
    {"PLAIN", NULL, "alice",
     "lookup authid alice PLAIN -\n"
     "lookup authzid alice PLAIN -\n"
     "lookup authid alice PLAIN *userPassword,*cmusaslsecretPLAIN\n"
     "lookup authzid alice PLAIN *userPassword=1,*cmusaslsecretPLAIN\n"},
    {"LOGIN", "example.com", "alice",
     "lookup authid alice@example.com LOGIN -\n"
     "lookup authzid alice@example.com LOGIN -\n"
     "lookup authid alice@example.com LOGIN *userPassword,*cmusaslsecretPLAIN\n"
     "lookup authzid alice@example.com LOGIN *userPassword=1,*cmusaslsecretPLAIN\n"},
    {"CRAM-MD5", "example.com", "alice",
     "lookup authid alice@example.com CRAM-MD5 *userPassword,*cmusaslsecretCRAM-MD5\n"
     "lookup authzid alice@example.com CRAM-MD5 *userPassword=1,*cmusaslsecretCRAM-MD5\n"},
    {"CRAM-MD5", "example.com", "alice@other.org",
     "lookup authid alice@other.org CRAM-MD5 *userPassword,*cmusaslsecretCRAM-MD5\n"
     "lookup authzid alice@other.org CRAM-MD5 *userPassword=1,*cmusaslsecretCRAM-MD5\n"},
    {"DIGEST-MD5", NULL, "alice",
     "lookup authid alice DIGEST-MD5 *userPassword,*cmusaslsecretDIGEST-MD5\n"
     "lookup authzid alice DIGEST-MD5 *userPassword=1,*cmusaslsecretDIGEST-MD5\n"},
    {"SCRAM-SHA-1", NULL, "alice",
     "lookup authid alice SCRAM-SHA-1 *userPassword,*authPassword\n"
     "lookup authzid alice SCRAM-SHA-1 *userPassword=1,*authPassword\n"},
    {"SCRAM-SHA-256", "example.com", "alice",
     "lookup authid alice@example.com SCRAM-SHA-256 *userPassword,*authPassword\n"
     "lookup authzid alice@example.com SCRAM-SHA-256 *userPassword=1,*authPassword\n"},
};

static void test_lookup_sequences(void **state)
{
    struct facts *f = *state;
    char got[8192];
    size_t i;

    assert_int_equal(harness_conf(&f->h, "facts",
                                  "pwcheck_method: auxprop\nauxprop_plugin: probe\n"
                                  "probe_log: %s\nprobe_password: S3cret\n",
                                  f->logpath),
                     0);
    assert_int_equal(harness_init(&f->h, "facts"), SASL_OK);
    for (i = 0; i < sizeof(fact_cases) / sizeof(fact_cases[0]); i++) {
        const struct fact_case *c = &fact_cases[i];
        int rc;

        remove(f->logpath);
        rc = harness_auth(&f->h, c->mech, c->realm, c->authid, NULL, "S3cret", NULL, NULL, 0);
        facts_read(f, got, sizeof(got));
        if (rc != SASL_OK || strcmp(got, c->want) != 0)
            fail_msg("%s realm %s authid %s: got rc %d and\n%s\nwant rc 0 and\n%s", c->mech,
                     c->realm ? c->realm : "(null)", c->authid, rc, got, c->want);
    }
    harness_done(&f->h);
}

/* sasl_checkpass (what PLAIN and LOGIN call, and what an MTA calls for
 * pwcheck): canonicalization appends the realm, then one authid and one
 * authzid lookup requesting both password properties; no mechanism runs. */
static void test_checkpass_sequence(void **state)
{
    struct facts *f = *state;
    const char *want = "lookup authid alice@example.com - *userPassword,*cmusaslsecretPLAIN\n"
                       "lookup authzid alice@example.com - *userPassword=1,*cmusaslsecretPLAIN\n";
    char got[8192];
    int rc;

    assert_int_equal(harness_conf(&f->h, "facts",
                                  "pwcheck_method: auxprop\nauxprop_plugin: probe\n"
                                  "probe_log: %s\nprobe_password: S3cret\n",
                                  f->logpath),
                     0);
    assert_int_equal(harness_init(&f->h, "facts"), SASL_OK);
    remove(f->logpath);
    rc = harness_checkpass("example.com", "alice", "S3cret");
    facts_read(f, got, sizeof(got));
    harness_done(&f->h);
    if (rc != SASL_OK || strcmp(got, want) != 0)
        fail_msg("checkpass: got rc %d and\n%s\nwant rc 0 and\n%s", rc, got, want);
}

/* One probe by sasl_setpass itself, then one per SCRAM variant's setpass
 * (SHA-1, -224, -256, -384, -512): each probes before looking at
 * scram_secret_generate. */
#define FACTS_SCRAM_PROBES                                                                         \
    "store - probe -\n"                                                                            \
    "store - probe -\n"                                                                            \
    "store - probe -\n"                                                                            \
    "store - probe -\n"                                                                            \
    "store - probe -\n"

/* sasl_setpass: probe, then userPassword for the user exactly as given
 * (no realm appended although the connection has one). */
static void test_setpass_sequence(void **state)
{
    struct facts *f = *state;
    const char *want = "store - probe -\n"
                       "store alice ctx userPassword=1\n" FACTS_SCRAM_PROBES;
    sasl_conn_t *conn = NULL;
    char got[8192];
    int rc;

    assert_int_equal(
        harness_conf(&f->h, "facts", "auxprop_plugin: probe\nprobe_log: %s\n", f->logpath), 0);
    assert_int_equal(harness_init(&f->h, "facts"), SASL_OK);
    assert_int_equal(sasl_server_new("smtp", "mx.test", "example.com", NULL, NULL, NULL, 0, &conn),
                     SASL_OK);
    remove(f->logpath);
    rc = sasl_setpass(conn, "alice", "S3cret", 6, NULL, 0, SASL_SET_CREATE);
    facts_read(f, got, sizeof(got));
    sasl_dispose(&conn);
    harness_done(&f->h);
    if (rc != SASL_OK || strcmp(got, want) != 0)
        fail_msg("setpass: got rc %d and\n%s\nwant rc 0 and\n%s", rc, got, want);
}

/* saslpasswd2 -c -u DOM: the user as typed (realm only in sparams), then a
 * store wiping the three cmusaslsecret properties.  -d: userPassword and
 * "*" without values, then the same wipe. */
static void test_saslpasswd2_sequence(void **state)
{
    struct facts *f = *state;
    char *create[] = {HARNESS_SASLPASSWD2, "-p", "-c", "-u", "example.com", "alice", NULL};
    char *del[] = {HARNESS_SASLPASSWD2, "-d", "alice", NULL};
    const char *wipe =
        "store alice ctx cmusaslsecretCRAM-MD5=0,cmusaslsecretDIGEST-MD5=0,cmusaslsecretPLAIN=0\n";
    char want[2048], out[4096], got[8192];
    int rc;

    assert_int_equal(
        harness_conf(&f->h, "saslpasswd", "auxprop_plugin: probe\nprobe_log: %s\n", f->logpath), 0);
    remove(f->logpath);
    rc = harness_run(&f->h, create, "S3cret", out, sizeof(out));
    facts_read(f, got, sizeof(got));
    snprintf(want, sizeof(want), "store - probe -\nstore alice ctx userPassword=1\n%s%s",
             FACTS_SCRAM_PROBES, wipe);
    if (rc != 0 || strcmp(got, want) != 0)
        fail_msg("saslpasswd2 -c: got exit %d (%s) and\n%s\nwant exit 0 and\n%s", rc, out, got,
                 want);

    remove(f->logpath);
    rc = harness_run(&f->h, del, NULL, out, sizeof(out));
    facts_read(f, got, sizeof(got));
    snprintf(want, sizeof(want), "store - probe -\nstore alice ctx userPassword=0,*=0\n%s%s",
             FACTS_SCRAM_PROBES, wipe);
    if (rc != 0 || strcmp(got, want) != 0)
        fail_msg("saslpasswd2 -d: got exit %d (%s) and\n%s\nwant exit 0 and\n%s", rc, out, got,
                 want);
}

/* Two groups: "core" (no argument) needs only libsasl2; "tools" runs
 * saslpasswd2 and is a meson "skip" (exit 77) without it. */
int main(int argc, char **argv)
{
    const struct CMUnitTest core[] = {
        cmocka_unit_test_setup_teardown(test_lookup_sequences, facts_setup, facts_teardown),
        cmocka_unit_test_setup_teardown(test_checkpass_sequence, facts_setup, facts_teardown),
        cmocka_unit_test_setup_teardown(test_setpass_sequence, facts_setup, facts_teardown),
    };
    const struct CMUnitTest tools[] = {
        cmocka_unit_test_setup_teardown(test_saslpasswd2_sequence, facts_setup, facts_teardown),
    };
    const char *missing;
    int rc;

    if (argc > 1 && strcmp(argv[1], "tools") == 0) {
        missing = harness_tools_missing();
        if (missing != NULL) {
            printf("skipped: %s is missing (package sasl2-bin)\n", missing);
            rc = 77;
        } else {
            rc = cmocka_run_group_tests_name("plugin-facts-tools", tools, NULL, NULL);
        }
    } else {
        rc = cmocka_run_group_tests_name("plugin-facts", core, NULL, NULL);
    }
    return rc;
}
