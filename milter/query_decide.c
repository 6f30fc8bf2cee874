/*
 * query_decide.c - line-protocol decisions (see query_decide.h).
 */
#include "query_decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "<envfrom>" in a fresh buffer, or NULL when out of memory. */
static char *bracket(const sbuf *envfrom)
{
    char *s = malloc(envfrom->len + 3);

    if (s != NULL)
        snprintf(s, envfrom->len + 3, "<%s>", sbuf_str(envfrom));
    return s;
}

static void oom(policy_verdict *v)
{
    memset(v, 0, sizeof(*v));
    v->cls = POLICY_TEMPFAIL;
    v->stage = POLICY_STAGE_MAIL;
    v->action = AUTHDB_ACT_TEMPFAIL;
    snprintf(v->code, sizeof(v->code), "451");
    snprintf(v->xcode, sizeof(v->xcode), "4.3.0");
    snprintf(v->text, sizeof(v->text), "Temporary failure: out of memory, try again later");
    snprintf(v->reason, sizeof(v->reason), "out of memory");
    snprintf(v->rule, sizeof(v->rule), "none");
}

int query_decide(authdb *h, const authdb_conf *conf, const query_request *rq, policy_verdict *v,
                 query_hdrs *hd, const char **why)
{
    policy_input in;
    policy_verdict mail;
    char *env = bracket(&rq->envfrom);
    int rc = 0;

    *why = NULL;
    memset(hd, 0, sizeof(*hd));
    if (env == NULL) {
        oom(v);
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.login = sbuf_str(&rq->login);
    in.envfrom = env;
    policy_mail(h, conf, &in, &mail);
    if (rq->cmd == QUERY_CMD_MAIL || mail.action == AUTHDB_ACT_REJECT ||
        mail.action == AUTHDB_ACT_TEMPFAIL) {
        *v = mail;
        goto out;
    }
    if (rq->headers.len >= QUERY_HEADERS_TRUNCATED) {
        policy_malformed(conf, POLICY_STAGE_HEADERS,
                         "Message rejected: header section too large to check",
                         "header section of 65536 octets or more (the MTA may have cut it)", v);
        policy_merge(v, &mail);
        goto out;
    }
    if (query_hdrs_scan(sbuf_str(&rq->headers), rq->headers.len, hd, why) != 0) {
        rc = -1;
        goto out;
    }
    in.nfrom = hd->nfrom;
    in.from = hd->from;
    in.from_len = hd->from_len;
    in.nsender = hd->nsender;
    in.sender = hd->sender;
    in.sender_len = hd->sender_len;
    policy_headers(h, conf, &in, v);
    policy_merge(v, &mail);
out:
    free(env);
    return rc;
}
