/*
 * plan.c - end-of-message plan (see plan.h).
 */
#include "plan.h"

#include <stdio.h>
#include <string.h>

static void set_reply(plan *p, const char *code, const char *xcode, const char *text)
{
    snprintf(p->code, sizeof(p->code), "%s", code);
    snprintf(p->xcode, sizeof(p->xcode), "%s", xcode);
    reply_escape(text, p->text, sizeof(p->text));
}

void plan_build(const msg *m, const policy_verdict *v, const char *authserv_id, const char *login,
                const char *mech, plan *p)
{
    memset(p, 0, sizeof(*p));
    p->m = m;
    p->disposition = PLAN_CONTINUE;
    if (m->oom) {
        p->disposition = PLAN_TEMPFAIL;
        set_reply(p, "451", "4.3.0", "Temporary failure: out of memory, try again later");
        return;
    }
    if (m->overflow) {
        p->disposition = PLAN_REJECT;
        set_reply(p, "550", "5.7.1", "Message rejected: too many Authentication-Results fields");
        return;
    }
    switch (v->action) {
    case AUTHDB_ACT_REJECT:
        p->disposition = PLAN_REJECT;
        set_reply(p, v->code, v->xcode, v->text);
        return;
    case AUTHDB_ACT_TEMPFAIL:
        p->disposition = PLAN_TEMPFAIL;
        set_reply(p, v->code, v->xcode, v->text);
        return;
    case AUTHDB_ACT_QUARANTINE:
        p->quarantine = 1;
        snprintf(p->reason, sizeof(p->reason), "authgate %s: %s", policy_class_name(v->cls),
                 v->text);
        break;
    case AUTHDB_ACT_HEADER:
        snprintf(p->verdict, sizeof(p->verdict), "%s; %s", policy_class_name(v->cls), v->text);
        break;
    default:
        break;
    }
    if (authres_build(authserv_id, login, mech, p->authres, sizeof(p->authres)) != 0) {
        /* Never a truncated or missing identity: refuse for now. */
        p->disposition = PLAN_TEMPFAIL;
        p->quarantine = 0;
        p->verdict[0] = '\0';
        set_reply(p, "451", "4.3.0", "Temporary failure: login too long to report");
    }
}

int plan_edits(const plan *p, plan_edit_cb cb, void *arg)
{
    const msg *m = p->m;
    int rc = 0;

    if (p->disposition != PLAN_CONTINUE)
        return 0;
    for (size_t i = m->nverdict; i > 0 && rc == 0; i--)
        rc = cb(arg, PLAN_DELETE, MSG_VERDICT_HEADER, (unsigned)i, NULL);
    for (size_t i = m->nours; i > 0 && rc == 0; i--)
        rc = cb(arg, PLAN_DELETE, MSG_AUTHRES_HEADER, m->ours[i - 1], NULL);
    if (rc == 0)
        rc = cb(arg, PLAN_INSERT, MSG_AUTHRES_HEADER, PLAN_AUTHRES_INDEX, p->authres);
    if (rc == 0 && p->verdict[0] != '\0')
        rc = cb(arg, PLAN_ADD, MSG_VERDICT_HEADER, 0, p->verdict);
    return rc;
}
