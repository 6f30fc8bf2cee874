/*
 * filter.c - libmilter callbacks (see filter.h).
 *
 * The callbacks only translate: macros and arguments in, policy_* and
 * plan_* decide, smfi_* carry the result out.  libmilter hands callbacks
 * no user pointer, so the process context is one pointer written once by
 * filter_set() before smfi_main() starts any thread, and only read after.
 */
#include "filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "msg.h"
#include "plan.h"
#include "policy.h"

/* Set once before libmilter starts threads (see the file comment). */
static filter_ctx *fctx;

#define LOGVAL 256 /* escaped octets of one untrusted log value */

/* One connection. */
typedef struct conn {
    int nr_hdr;     /* SMFIP_NR_HDR negotiated */
    int in_message; /* between MAIL and end of message / abort */
    gen *g;         /* pinned for the message */
    msg m;
    char *login;         /* {auth_authen} or NULL */
    char *mech;          /* {auth_type} or NULL */
    char *envfrom;       /* MAIL FROM argument */
    char qid[64];        /* queue id, "" if unknown */
    policy_verdict mail; /* the MAIL stage's verdict, if it let the message go on */
} conn;

static conn *conn_get(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            return NULL;
        msg_init(&c->m);
        if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
            msg_free(&c->m);
            free(c);
            return NULL;
        }
    }
    return c;
}

static void set_qid(SMFICTX *ctx, conn *c)
{
    const char *q = smfi_getsymval(ctx, "i");

    if (q != NULL && q[0] != '\0')
        authdb_log_escape(q, strlen(q), c->qid, sizeof(c->qid));
}

/* End the message in progress, if any. */
static void message_end(conn *c)
{
    if (!c->in_message)
        return;
    runtime_release(fctx->rt, c->g);
    c->g = NULL;
    free(c->login);
    free(c->mech);
    free(c->envfrom);
    c->login = c->mech = c->envfrom = NULL;
    c->qid[0] = '\0';
    msg_reset(&c->m);
    c->in_message = 0;
    runtime_msg_end(fctx->rt);
}

static void log_decision(const conn *c, const policy_verdict *v, const char *from)
{
    char login[LOGVAL], env[LOGVAL], fr[LOGVAL];
    const char *l = c->login != NULL ? c->login : "";
    const char *e = c->envfrom != NULL ? c->envfrom : "";
    const char *verdict = policy_action_name(v->action);
    char would[64] = "";

    authdb_log_escape(l, strlen(l), login, sizeof(login));
    authdb_log_escape(e, strlen(e), env, sizeof(env));
    authdb_log_escape(from != NULL ? from : "", from != NULL ? strlen(from) : 0, fr, sizeof(fr));
    if (v->would != 0)
        snprintf(would, sizeof(would), " would=%s (report_only)", policy_action_name(v->would));
    authdb_logf(fctx->lg, v->cls == POLICY_PASS ? LOG_INFO : LOG_NOTICE,
                "qid=%s login=\"%s\" envfrom=\"%s\" from=\"%s\" verdict=%s%s class=%s "
                "rule=\"%s\" reason=\"%s\"",
                c->qid[0] ? c->qid : "-", login, env, fr, verdict, would, policy_class_name(v->cls),
                v->rule, v->reason);
}

static sfsistat refuse(SMFICTX *ctx, const char *code, const char *xcode, const char *escaped,
                       sfsistat st)
{
    if (smfi_setreply(ctx, (char *)code, (char *)xcode, (char *)escaped) != MI_SUCCESS)
        authdb_logf(fctx->lg, LOG_WARNING, "smfi_setreply %s %s failed", code, xcode);
    return st;
}

static int needs_quarantine(const authdb_conf *conf)
{
    return conf->mismatch_action == AUTHDB_ACT_QUARANTINE ||
           conf->malformed_action == AUTHDB_ACT_QUARANTINE ||
           conf->unauthenticated_local_action == AUTHDB_ACT_QUARANTINE;
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOBODY |
                               SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA;
    unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
    gen *g = runtime_acquire(fctx->rt);
    conn *c = conn_get(ctx);
    sfsistat st = SMFIS_CONTINUE;

    (void)f2;
    (void)f3;
    if (needs_quarantine(g->conf))
        want |= SMFIF_QUARANTINE;
    if (c == NULL || (f0 & want) != want) {
        authdb_logf(fctx->lg, LOG_ERR,
                    "MTA offers actions 0x%lx, authgate-milter needs 0x%lx: refusing the "
                    "connection",
                    f0, want);
        st = SMFIS_REJECT;
        goto out;
    }
    *pf0 = want | (f0 & SMFIF_SETSYMLIST);
    *pf1 = f1 & skip;
    if (f1 & SMFIP_NR_HDR) {
        *pf1 |= SMFIP_NR_HDR;
        c->nr_hdr = 1;
    }
    *pf2 = 0;
    *pf3 = 0;
    if (f0 & SMFIF_SETSYMLIST) {
        smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen} {auth_type}");
        smfi_setsymlist(ctx, SMFIM_EOM, "i");
    }
out:
    runtime_release(fctx->rt, g);
    return st;
}

/* Copy a macro: 0 (NULL when absent or empty), -1 when out of memory (an
 * identity lost to a failed copy must never read as "unauthenticated"). */
static int copy_macro(SMFICTX *ctx, const char *name, char **out)
{
    const char *v = smfi_getsymval(ctx, (char *)name);

    *out = NULL;
    if (v == NULL || v[0] == '\0')
        return 0;
    *out = strdup(v);
    return *out != NULL ? 0 : -1;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    conn *c = conn_get(ctx);
    policy_input in;
    policy_verdict v;
    plan p;
    sfsistat st = SMFIS_CONTINUE;

    if (c == NULL) {
        st = refuse(ctx, "451", "4.3.0", "Temporary failure: out of memory", SMFIS_TEMPFAIL);
        goto out;
    }
    message_end(c); /* a MAIL without an abort for the previous one */
    if (runtime_msg_begin(fctx->rt) != 0) {
        st = refuse(ctx, "451", "4.3.2", "authgate-milter is restarting, try again later",
                    SMFIS_TEMPFAIL);
        goto out;
    }
    c->in_message = 1;
    c->g = runtime_acquire(fctx->rt);
    c->envfrom = strdup(argv != NULL && argv[0] != NULL ? argv[0] : "");
    if (copy_macro(ctx, "{auth_authen}", &c->login) != 0 ||
        copy_macro(ctx, "{auth_type}", &c->mech) != 0 || c->envfrom == NULL) {
        message_end(c);
        st = refuse(ctx, "451", "4.3.0", "Temporary failure: out of memory", SMFIS_TEMPFAIL);
        goto out;
    }
    set_qid(ctx, c);
    memset(&in, 0, sizeof(in));
    in.login = c->login;
    in.envfrom = c->envfrom;
    policy_mail(runtime_store(fctx->rt, c->g), c->g->conf, &in, &v);
    if (v.action == AUTHDB_ACT_REJECT || v.action == AUTHDB_ACT_TEMPFAIL) {
        plan_build(&c->m, &v, c->g->authserv_id, c->login, c->mech, &p);
        log_decision(c, &v, NULL);
        message_end(c);
        st = refuse(ctx, p.code, p.xcode, p.text,
                    v.action == AUTHDB_ACT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL);
        goto out;
    }
    c->mail = v;
out:
    return st;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    conn *c = smfi_getpriv(ctx);

    if (c != NULL && c->in_message)
        msg_header(&c->m, name, value, c->g->authserv_id);
    return c != NULL && c->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

typedef struct edit_arg {
    SMFICTX *ctx;
    const authdb_log *lg;
} edit_arg;

static int apply_edit(void *arg, enum plan_edit_kind kind, const char *name, unsigned idx,
                      const char *value)
{
    edit_arg *a = arg;
    int rc;

    switch (kind) {
    case PLAN_DELETE:
        rc = smfi_chgheader(a->ctx, (char *)name, (int)idx, NULL);
        break;
    case PLAN_INSERT:
        rc = smfi_insheader(a->ctx, (int)idx, (char *)name, (char *)value);
        break;
    default:
        rc = smfi_addheader(a->ctx, (char *)name, (char *)value);
        break;
    }
    if (rc != MI_SUCCESS)
        authdb_logf(a->lg, LOG_ERR, "changing header %s (%u) failed", name, idx);
    return rc == MI_SUCCESS ? 0 : -1;
}

static void tempfail_plan(plan *p, const char *text)
{
    p->disposition = PLAN_TEMPFAIL;
    snprintf(p->code, sizeof(p->code), "451");
    snprintf(p->xcode, sizeof(p->xcode), "4.3.0");
    reply_escape(text, p->text, sizeof(p->text));
}

static sfsistat cb_eom(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);
    policy_input in;
    policy_verdict v;
    plan p;
    edit_arg ea = {ctx, fctx->lg};
    sfsistat st = SMFIS_CONTINUE;

    if (c == NULL || !c->in_message) {
        st = refuse(ctx, "451", "4.3.0", "Temporary failure: lost message state", SMFIS_TEMPFAIL);
        goto out;
    }
    set_qid(ctx, c);
    memset(&in, 0, sizeof(in));
    in.login = c->login;
    in.envfrom = c->envfrom;
    in.nfrom = c->m.nfrom;
    in.from = msg_from(&c->m, &in.from_len);
    in.nsender = c->m.nsender;
    in.sender = msg_sender(&c->m, &in.sender_len);
    policy_headers(runtime_store(fctx->rt, c->g), c->g->conf, &in, &v);
    policy_merge(&v, &c->mail);
    plan_build(&c->m, &v, c->g->authserv_id, c->login, c->mech, &p);
    if (p.disposition == PLAN_TEMPFAIL && v.action != AUTHDB_ACT_TEMPFAIL) {
        /* The plan refused what the policy let through (memory, limits). */
        v.cls = POLICY_TEMPFAIL;
        v.action = AUTHDB_ACT_TEMPFAIL;
        v.would = 0;
        snprintf(v.reason, sizeof(v.reason), "%.300s", p.text);
    } else if (p.disposition == PLAN_REJECT && v.action != AUTHDB_ACT_REJECT) {
        v.cls = POLICY_MALFORMED;
        v.action = AUTHDB_ACT_REJECT;
        v.would = 0;
        snprintf(v.reason, sizeof(v.reason), "%.300s", p.text);
    }
    /* Log before the header edits: the edit packets and the final reply
     * then leave back to back, and the MTA reads them in one go. */
    log_decision(c, &v, in.from);
    if (p.disposition == PLAN_CONTINUE && plan_edits(&p, apply_edit, &ea) != 0) {
        /* A forged Authentication-Results might survive: never accept. */
        authdb_logf(fctx->lg, LOG_ERR, "qid=%s header change failed: message tempfailed",
                    c->qid[0] ? c->qid : "-");
        tempfail_plan(&p, "Temporary failure changing headers, try again later");
    }
    if (p.disposition == PLAN_CONTINUE && p.quarantine &&
        smfi_quarantine(ctx, p.reason) != MI_SUCCESS) {
        authdb_logf(fctx->lg, LOG_ERR, "qid=%s quarantine failed: message tempfailed",
                    c->qid[0] ? c->qid : "-");
        tempfail_plan(&p, "Temporary failure quarantining, try again later");
    }
    if (p.disposition == PLAN_REJECT)
        st = refuse(ctx, p.code, p.xcode, p.text, SMFIS_REJECT);
    else if (p.disposition == PLAN_TEMPFAIL)
        st = refuse(ctx, p.code, p.xcode, p.text, SMFIS_TEMPFAIL);
    message_end(c);
out:
    return st;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c != NULL)
        message_end(c);
    return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
    conn *c = smfi_getpriv(ctx);

    if (c != NULL) {
        message_end(c);
        msg_free(&c->m);
        free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc filter_desc(void)
{
    struct smfiDesc d;

    memset(&d, 0, sizeof(d));
    d.xxfi_name = "authgate-milter";
    d.xxfi_version = SMFI_VERSION;
    d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
    d.xxfi_envfrom = cb_envfrom;
    d.xxfi_header = cb_header;
    d.xxfi_eom = cb_eom;
    d.xxfi_abort = cb_abort;
    d.xxfi_close = cb_close;
    d.xxfi_negotiate = cb_negotiate;
    return d;
}

void filter_set(filter_ctx *fc)
{
    fctx = fc;
}
