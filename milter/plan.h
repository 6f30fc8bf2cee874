/*
 * plan.h - what to do at end of message, decided without libmilter.
 *
 * plan_build() turns the final policy verdict and the header collector's
 * findings into a disposition (continue, reject, tempfail), the reply
 * codes and escaped text for smfi_setreply, a quarantine reason, and the
 * header edits: delete every X-Authgate-Verdict and every
 * Authentication-Results carrying our authserv-id, then insert our own
 * Authentication-Results at PLAN_AUTHRES_INDEX and, for the "header"
 * action, add X-Authgate-Verdict.  plan_edits() lists the edits in the
 * order they must be applied: deletions first, each name from its highest
 * position down (positions shift otherwise), then the insertions.
 * A rejected or tempfailed message gets no edits.
 */
#ifndef AUTHGATE_PLAN_H
#define AUTHGATE_PLAN_H

#include "authres.h"
#include "msg.h"
#include "policy.h"
#include "reply.h"

/* smfi_insheader position: 0 is the very top, 1 just below the MTA's own
 * Received field. */
#define PLAN_AUTHRES_INDEX 1

enum plan_disposition { PLAN_CONTINUE = 1, PLAN_REJECT, PLAN_TEMPFAIL };

typedef struct plan {
    enum plan_disposition disposition;
    char code[4], xcode[8];
    char text[2 * REPLY_TEXT_MAX];     /* escaped for smfi_setreply */
    int quarantine;                    /* 1: smfi_quarantine(reason) */
    char reason[REPLY_TEXT_MAX + 64];  /* quarantine reason */
    char authres[AUTHRES_MAX];         /* our Authentication-Results body */
    char verdict[REPLY_TEXT_MAX + 64]; /* X-Authgate-Verdict body, "" for none */
    const msg *m;
} plan;

void plan_build(const msg *m, const policy_verdict *v, const char *authserv_id, const char *login,
                const char *mech, plan *p);

enum plan_edit_kind { PLAN_DELETE = 1, PLAN_INSERT, PLAN_ADD };

/* One header edit: delete the idx-th field called name, insert name:value
 * at position idx, or add name:value at the end.  A non-zero return stops
 * the walk and is returned by plan_edits. */
typedef int (*plan_edit_cb)(void *arg, enum plan_edit_kind kind, const char *name, unsigned idx,
                            const char *value);
int plan_edits(const plan *p, plan_edit_cb cb, void *arg);

#endif
