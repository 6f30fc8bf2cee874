/*
 * milterload.c - rl-milter-load: send-as decisions asked of a running
 * authgate-milter over its real socket (the MTA side of the milter
 * protocol, milter/tests/mproto.c), in a loop, each answer checked against
 * the case.
 *
 * usage: rl-milter-load [-s SECONDS] [-n ROUNDS] [-S STOPFILE] [-t]
 *                       SOCKET CASEFILE
 * SOCKET: unix:/path or inet:port@host.  CASEFILE lines: LOGIN SENDER
 * EXPECT: the milter sees MAIL FROM:<SENDER> with {auth_authen}=LOGIN;
 * EXPECT is accept (continue), reject (a 5xx reply) or any (accept or
 * reject: a rule being changed).  A 4xx reply or tempfail is a temporary
 * failure: an error unless -t.  A lost connection is reconnected (counted
 * as "lost"; an error unless -t).  Each case ends with ABORT, as an MTA
 * does before the next transaction.  Loop control as rl-sasl-load.
 *
 * Output: "milter-load: decisions N accept A reject B temp C lost D wrong
 * E" plus up to 5 lines about the first unexpected answers.  Exit 0 when
 * nothing unexpected happened, 1 otherwise, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mproto.h"
#include "rlutil.h"

enum outcome { OUT_ACCEPT, OUT_REJECT, OUT_TEMP, OUT_LOST };

static const char *const out_names[] = {"accept", "reject", "temp", "lost"};

static enum outcome classify(const mproto_reply *r)
{
    if (r->cmd == 'c' || r->cmd == 'a')
        return OUT_ACCEPT;
    if (r->cmd == 'r' || (r->cmd == 'y' && r->text[0] == '5'))
        return OUT_REJECT;
    return OUT_TEMP;
}

static int connect_to(mproto *m, const char *spec)
{
    m->fd = -1;
    if (mproto_connect(m, spec) != 0 || mproto_negotiate(m, 0x1ff, 0x1fffff) != 0) {
        if (m->fd >= 0)
            close(m->fd);
        m->fd = -1;
        return -1;
    }
    return 0;
}

static enum outcome one(mproto *m, const char *spec, const rl_case *c, unsigned long seq,
                        mproto_reply *r)
{
    char qid[32], sender[RL_FIELD_MAX + 2];
    const char *mm[] = {"i", qid, "{auth_type}", "PLAIN", "{auth_authen}", c->f[0], NULL};

    if (m->fd < 0 && connect_to(m, spec) != 0)
        return OUT_LOST;
    snprintf(qid, sizeof(qid), "RL%08lX", seq);
    snprintf(sender, sizeof(sender), "<%s>", c->f[1]);
    if (mproto_macros(m, 'M', mm) != 0 || mproto_mail(m, sender, r) != 0 || mproto_abort(m) != 0) {
        close(m->fd);
        m->fd = -1;
        return OUT_LOST;
    }
    return classify(r);
}

int main(int argc, char **argv)
{
    unsigned long n = 0, cnt[4] = {0};
    int ch, rc = 2;
    char why[512];
    rl_loop lp = {0};
    rl_cases cases = {0};
    mproto m = {.fd = -1};
    mproto_reply *r = calloc(1, sizeof(*r));

    while ((ch = getopt(argc, argv, RL_LOOP_OPTS)) != -1)
        if (!rl_loop_opt(&lp, ch, optarg))
            goto usage;
    if (argc - optind != 2 || r == NULL)
        goto usage;
    if (rl_cases_load(argv[optind + 1], 3, &cases, why, sizeof(why)) != 0) {
        fprintf(stderr, "rl-milter-load: %s\n", why);
        goto out;
    }
    rl_loop_start(&lp);
    for (; !rl_loop_over(&lp); lp.done++) {
        for (size_t i = 0; i < cases.n; i++) {
            const rl_case *c = &cases.v[i];
            enum outcome o = one(&m, argv[optind], c, n, r);

            n++;
            cnt[o]++;
            if (rl_loop_judge(&lp, o == OUT_TEMP || o == OUT_LOST, out_names[o], c->f[2]))
                printf("milter-load: %s as %s: got %s (%s), want %s\n", c->f[0], c->f[1],
                       out_names[o], o == OUT_LOST ? m.err : r->text, c->f[2]);
            if (o == OUT_LOST)
                rl_sleep_us(20000);
        }
    }
    printf("milter-load: decisions %lu accept %lu reject %lu temp %lu lost %lu wrong %lu\n", n,
           cnt[OUT_ACCEPT], cnt[OUT_REJECT], cnt[OUT_TEMP], cnt[OUT_LOST], lp.wrong);
    rc = rl_loop_status(&lp);
    goto out;
usage:
    fprintf(stderr, "usage: rl-milter-load [-s SECONDS] [-n ROUNDS] [-S STOPFILE] [-t] SOCKET "
                    "CASEFILE\n");
out:
    mproto_close(&m);
    rl_cases_free(&cases);
    free(r);
    return rc;
}
