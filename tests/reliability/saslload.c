/*
 * saslload.c - rl-sasl-load: authentications through the real libsasl2
 * with the authgate plugin, in this process, in a loop, each answer checked
 * against what the case says.  The reliability tests run several of these
 * beside a writer that is being killed, a map that grows, or a reader
 * table that fills up.
 *
 * usage: rl-sasl-load [-s SECONDS] [-n ROUNDS] [-S STOPFILE] [-t] [-q]
 *                     STORE CASEFILE
 * CASEFILE lines: MECH LOGIN PASSWORD EXPECT, EXPECT one of
 *   ok    the exchange must succeed (SASL_OK)
 *   fail  it must fail as a wrong password or unknown login would
 *         (SASL_BADAUTH, SASL_NOUSER, SASL_NOVERIFY)
 *   any   ok or fail (a login being changed); never a temporary failure
 * Any other outcome is a temporary failure (SASL_FAIL, SASL_UNAVAIL,
 * SASL_NOMEM, ...).  Temporary failures are errors unless -t (where the
 * test allows "temporary failures at worst").  An answer of the wrong kind
 * (ok where fail was expected or the reverse) is always an error: "wrong".
 * Cases run in order, round after round, until -s seconds, -n rounds, or
 * the STOPFILE exists (default: one round).
 *
 * MECH is a SASL mechanism (PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1
 * SCRAM-SHA-256) or CHECKPASS (sasl_checkpass, i.e. pwcheck_method auxprop
 * against the legacy PLAIN secret).  The plugin comes from
 * AUTHGATE_PLUGIN_PATH (the harness of plugin/tests; set by meson).
 *
 * Output: one line "sasl-load: exchanges N ok A fail B temp C wrong D",
 * and up to 5 lines describing the first unexpected answers.  Exit 0 when
 * nothing unexpected happened, 1 otherwise, 2 on a usage or setup error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sasl/sasl.h>

#include "harness.h"
#include "rlutil.h"

enum outcome { OUT_OK, OUT_FAIL, OUT_TEMP };

static enum outcome classify(int rc)
{
    switch (rc) {
    case SASL_OK:
        return OUT_OK;
    case SASL_BADAUTH:
    case SASL_NOUSER:
    case SASL_NOVERIFY:
        return OUT_FAIL;
    default:
        return OUT_TEMP;
    }
}

static const char *outcome_name(enum outcome o)
{
    return o == OUT_OK ? "ok" : o == OUT_FAIL ? "fail" : "temp";
}

static int one(harness *h, const rl_case *c)
{
    if (strcmp(c->f[0], "CHECKPASS") == 0)
        return harness_checkpass(NULL, c->f[1], c->f[2]);
    return harness_auth(h, c->f[0], NULL, c->f[1], NULL, c->f[2], NULL, NULL, 0);
}

int main(int argc, char **argv)
{
    unsigned long n = 0, cnt[3] = {0, 0, 0};
    int ch, rc = 2;
    char why[512];
    rl_loop lp = {0};
    rl_cases cases = {0};
    harness h;
    int setup = 0;

    while ((ch = getopt(argc, argv, RL_LOOP_OPTS "q")) != -1)
        if (ch != 'q' && !rl_loop_opt(&lp, ch, optarg))
            goto usage;
    if (argc - optind != 2)
        goto usage;
    if (rl_cases_load(argv[optind + 1], 4, &cases, why, sizeof(why)) != 0) {
        fprintf(stderr, "rl-sasl-load: %s\n", why);
        goto out;
    }
    if (harness_setup(&h) != 0) {
        fprintf(stderr, "rl-sasl-load: cannot make the scratch SASL tree\n");
        goto out;
    }
    setup = 1;
    if (harness_conf(&h, "rl",
                     "pwcheck_method: auxprop\nauxprop_plugin: authgate\nauthgate_store: %s\n"
                     "mech_list: PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256\n",
                     argv[optind]) != 0 ||
        harness_init(&h, "rl") != SASL_OK) {
        fprintf(stderr, "rl-sasl-load: sasl_server_init failed\n");
        goto out;
    }
    rl_loop_start(&lp);
    for (; !rl_loop_over(&lp); lp.done++) {
        for (size_t i = 0; i < cases.n; i++) {
            const rl_case *c = &cases.v[i];
            int r = one(&h, c);
            enum outcome o = classify(r);

            n++;
            cnt[o]++;
            if (rl_loop_judge(&lp, o == OUT_TEMP, outcome_name(o), c->f[3]))
                printf("sasl-load: %s %s: got %s (%s), want %s\n", c->f[0], c->f[1],
                       outcome_name(o), sasl_errstring(r, NULL, NULL), c->f[3]);
        }
    }
    printf("sasl-load: exchanges %lu ok %lu fail %lu temp %lu wrong %lu\n", n, cnt[OUT_OK],
           cnt[OUT_FAIL], cnt[OUT_TEMP], lp.wrong);
    rc = rl_loop_status(&lp);
    goto out;
usage:
    fprintf(stderr, "usage: rl-sasl-load [-s SECONDS] [-n ROUNDS] [-S STOPFILE] [-t] STORE "
                    "CASEFILE\n");
out:
    if (setup)
        harness_teardown(&h);
    rl_cases_free(&cases);
    return rc;
}
