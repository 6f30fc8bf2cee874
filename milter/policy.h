/*
 * policy.h - the send-as decision for one message, over the authdb API.
 *
 * Pure logic: no libmilter.  policy_mail() decides at MAIL FROM,
 * policy_headers() at end of message from the From and Sender fields.
 * Each opens one read transaction on the policy environment (only when it
 * needs the store) and ends it before returning.  The semantics, which
 * authgate-milter(8) documents word for word:
 *
 * Authenticated (a non-empty {auth_authen}, normalized by the store's rules):
 *   - MAIL FROM other than <> must be an address the login may use
 *     (authdb_sender_check), else mismatch; an unparseable one is malformed.
 *   - Exactly one From field with at least one mailbox; every mailbox
 *     allowed; more than one mailbox needs a Sender field.
 *   - Sender, when present: exactly one field with exactly one mailbox,
 *     allowed.
 *   - Every address-looking token in a display name or comment of From or
 *     Sender (mailbox.h) must be an address the login may use; one that
 *     cannot be normalized counts as not allowed.
 *   - MAIL FROM:<> does not exempt the headers.
 *   - Any defect of mailbox_parse(), several From or Sender fields, or a
 *     field too long to keep, is malformed.  Malformed is checked before
 *     mismatch.
 * Unauthenticated:
 *   - unauthenticated_action = reject: refused at MAIL with 530 5.7.0.
 *   - protect_local_domains = yes: an envelope sender, From or Sender
 *     mailbox in a local domain (authdb_domain_is_local) is
 *     unauthenticated-local; an envelope sender without "@" counts as local
 *     (the MTA qualifies it with its own domain); unparseable From/Sender
 *     fields are malformed.  Display names are not checked here.
 * Store errors, at any point, are a temporary failure (451 4.3.0), whatever
 * report_only says.
 *
 * Actions per class come from the configuration (mismatch_action,
 * malformed_action, unauthenticated_local_action); report_only turns every
 * action except the store's temporary failure into accept and keeps the one
 * that would have applied in verdict.would.
 */
#ifndef AUTHGATE_POLICY_H
#define AUTHGATE_POLICY_H

#include <stddef.h>

#include "authdb.h"
#include "reply.h"

enum policy_class {
    POLICY_PASS = 0,
    POLICY_MISMATCH,     /* the login may not use an address */
    POLICY_MALFORMED,    /* unparseable or hostile syntax */
    POLICY_UNAUTH,       /* unauthenticated, unauthenticated_action = reject */
    POLICY_UNAUTH_LOCAL, /* unauthenticated, claims a local domain */
    POLICY_TEMPFAIL,     /* the store failed */
};

enum policy_stage { POLICY_STAGE_MAIL = 1, POLICY_STAGE_HEADERS };

/* What the MTA told us about one message. */
typedef struct policy_input {
    const char *login;   /* {auth_authen}; NULL or "" when unauthenticated */
    const char *envfrom; /* MAIL FROM argument as given: "<a@b>", "<>" */
    /* End of message only: */
    size_t nfrom;     /* From fields seen */
    const char *from; /* the first one's body (NULL if none or too long) */
    size_t from_len;
    size_t nsender;     /* Sender fields seen */
    const char *sender; /* the first one's body (NULL if none or too long) */
    size_t sender_len;
} policy_input;

#define POLICY_REASON_MAX 480

typedef struct policy_verdict {
    enum policy_class cls;
    enum policy_stage stage;
    int action;                       /* AUTHDB_ACT_*: what to do now */
    int would;                        /* the action report_only suppressed, or 0 */
    char code[4];                     /* SMTP code ("" for accept and the like) */
    char xcode[8];                    /* enhanced status code */
    char text[REPLY_TEXT_MAX];        /* reply text, printable ASCII */
    char reason[POLICY_REASON_MAX];   /* for the log: class, field, details */
    char rule[AUTHDB_NAME_BUFSZ + 8]; /* deciding rule: "allow @d", "self", "none" */
} policy_verdict;

/* Decide at MAIL FROM.  h may be NULL (store unavailable): a decision that
 * needs the store is then a temporary failure.  Always fills *v. */
void policy_mail(authdb *h, const authdb_conf *conf, const policy_input *in, policy_verdict *v);

/* Decide at end of message from the header fields in *in. */
void policy_headers(authdb *h, const authdb_conf *conf, const policy_input *in, policy_verdict *v);

/* A malformed verdict for a problem found outside the From and Sender
 * fields (authgate-query: a header section too large to inspect whole):
 * class, action, codes and report_only exactly as for a malformed field.
 * text is the reply text, reason the log reason (both printable ASCII). */
void policy_malformed(const authdb_conf *conf, enum policy_stage stage, const char *text,
                      const char *reason, policy_verdict *v);

/* Keep the more severe of two verdicts in *acc (reject > tempfail >
 * quarantine > header > accept; the earlier one on a tie). */
void policy_merge(policy_verdict *acc, const policy_verdict *v);

/* "pass", "mismatch", "malformed", "unauthenticated", "unauthenticated-local",
 * "tempfail". */
const char *policy_class_name(enum policy_class c);
/* "accept", "reject", "tempfail", "quarantine", "header". */
const char *policy_action_name(int action);

#endif
