/*
 * policy.c - the send-as decision (see policy.h for the semantics).
 *
 * Every untrusted piece that reaches a reply text goes through
 * reply_sanitize() first, so text and reason are printable ASCII.
 */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mailbox.h"

/* How much of an address or login a reply quotes. */
#define QUOTE_MAX 160

typedef struct ctx {
    authdb *h;
    const authdb_conf *conf;
    authdb_txn *txn;
    const char *login;
    size_t llen;
    policy_verdict *v;
} ctx;

enum { CHECK_ALLOWED = 0, CHECK_DENIED, CHECK_INVALID, CHECK_TEMPFAIL };

static const char *quote(const char *s, size_t len, char *buf, size_t bufsz)
{
    return reply_sanitize(s, len, buf, bufsz);
}

static void set_text(policy_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_text(policy_verdict *v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v->text, sizeof(v->text), fmt, ap);
    va_end(ap);
}

static void set_reason(policy_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_reason(policy_verdict *v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
}

static void verdict_init(policy_verdict *v, enum policy_stage stage)
{
    memset(v, 0, sizeof(*v));
    v->cls = POLICY_PASS;
    v->stage = stage;
    v->action = AUTHDB_ACT_ACCEPT;
    snprintf(v->rule, sizeof(v->rule), "none");
}

static void store_failed(ctx *c, int rc)
{
    policy_verdict *v = c->v;

    v->cls = POLICY_TEMPFAIL;
    set_text(v, "Temporary failure reading the send-as policy, try again later");
    set_reason(v, "store error: %s", authdb_strerror(rc));
}

/* The read transaction, begun on first use. */
static int ctx_txn(ctx *c)
{
    int rc = AUTHDB_ENOSTORE;

    if (c->txn != NULL)
        return 0;
    if (c->h != NULL)
        rc = authdb_read_begin(c->h, AUTHDB_POLICY, &c->txn);
    if (rc != AUTHDB_OK) {
        c->txn = NULL;
        store_failed(c, rc);
        return -1;
    }
    return 0;
}

static void ctx_end(ctx *c)
{
    if (c->txn != NULL)
        authdb_txn_end(c->txn);
    c->txn = NULL;
}

static void rule_text(const authdb_verdict *av, char *out, size_t outsz)
{
    if (av->implicit_self)
        snprintf(out, outsz, "self");
    else if (av->matched)
        snprintf(out, outsz, "%s %s", av->rule.action == AUTHDB_ALLOW ? "allow" : "deny",
                 av->rule.pattern);
    else
        snprintf(out, outsz, "none");
}

/* May the login use addr?  CHECK_*; on CHECK_TEMPFAIL the verdict is set. */
static int check(ctx *c, const char *addr, size_t alen, char *rule, size_t rulesz, const char **why)
{
    authdb_verdict av;
    int rc;

    *why = NULL;
    if (ctx_txn(c) != 0)
        return CHECK_TEMPFAIL;
    rc = authdb_sender_check(c->h, c->txn, c->login, c->llen, addr, alen, &av, why);
    if (rc == AUTHDB_OK) {
        rule_text(&av, rule, rulesz);
        return av.allowed ? CHECK_ALLOWED : CHECK_DENIED;
    }
    if (rc == AUTHDB_EINVAL || rc == AUTHDB_ETOOLONG) {
        if (*why == NULL)
            *why = authdb_strerror(rc);
        return CHECK_INVALID;
    }
    store_failed(c, rc);
    return CHECK_TEMPFAIL;
}

/* Is the domain of addr local?  1 yes, 0 no, -1 invalid, -2 tempfail. */
static int domain_local(ctx *c, const char *addr, size_t alen)
{
    const char *at = NULL;
    int rc;

    for (size_t i = 0; i < alen; i++)
        if (addr[i] == '@')
            at = addr + i;
    if (at == NULL)
        return 1; /* the MTA qualifies it with its own domain */
    if (ctx_txn(c) != 0)
        return -2;
    rc = authdb_domain_is_local(c->h, c->txn, at + 1, alen - (size_t)(at + 1 - addr));
    if (rc == AUTHDB_OK)
        return 1;
    if (rc == AUTHDB_NOTFOUND)
        return 0;
    if (rc == AUTHDB_EINVAL || rc == AUTHDB_ETOOLONG)
        return -1;
    store_failed(c, rc);
    return -2;
}

/* The address in a MAIL FROM argument: 0 null sender, 1 address in
 * a and alen, -1 malformed. */
static int envelope_addr(const char *s, const char **a, size_t *alen)
{
    size_t len;

    if (s == NULL)
        return -1;
    while (*s == ' ')
        s++;
    len = strlen(s);
    while (len > 0 && s[len - 1] == ' ')
        len--;
    if (len > 0 && s[0] == '<') {
        if (len < 2 || s[len - 1] != '>')
            return -1;
        s++;
        len -= 2;
    }
    if (len == 0)
        return 0;
    if (s[0] == '@')
        return -1; /* source route */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7F || ch == '<' || ch == '>')
            return -1;
    }
    *a = s;
    *alen = len;
    return 1;
}

/* Fill action, code and text defaults from the class, stage and
 * configuration. */
static void finish(const authdb_conf *conf, policy_verdict *v)
{
    int act = AUTHDB_ACT_ACCEPT;

    switch (v->cls) {
    case POLICY_PASS:
        act = AUTHDB_ACT_ACCEPT;
        break;
    case POLICY_MISMATCH:
        act = conf->mismatch_action;
        break;
    case POLICY_MALFORMED:
        act = conf->malformed_action;
        break;
    case POLICY_UNAUTH:
        act = AUTHDB_ACT_REJECT;
        break;
    case POLICY_UNAUTH_LOCAL:
        act = conf->unauthenticated_local_action;
        break;
    case POLICY_TEMPFAIL:
        act = AUTHDB_ACT_TEMPFAIL;
        break;
    }
    v->action = act;
    v->code[0] = v->xcode[0] = '\0';
    if (v->cls == POLICY_TEMPFAIL) {
        snprintf(v->code, sizeof(v->code), "451");
        snprintf(v->xcode, sizeof(v->xcode), "4.3.0");
        return; /* never accepted, report_only or not */
    }
    if (act == AUTHDB_ACT_REJECT) {
        if (v->cls == POLICY_UNAUTH) {
            snprintf(v->code, sizeof(v->code), "530");
            snprintf(v->xcode, sizeof(v->xcode), "5.7.0");
        } else if (v->stage == POLICY_STAGE_MAIL) {
            snprintf(v->code, sizeof(v->code), "553");
            snprintf(v->xcode, sizeof(v->xcode), v->cls == POLICY_MALFORMED ? "5.1.7" : "5.7.1");
        } else {
            snprintf(v->code, sizeof(v->code), "550");
            snprintf(v->xcode, sizeof(v->xcode), "5.7.1");
        }
    } else if (act == AUTHDB_ACT_TEMPFAIL) {
        snprintf(v->code, sizeof(v->code), "451");
        snprintf(v->xcode, sizeof(v->xcode), "4.7.1");
    }
    if (conf->report_only && act != AUTHDB_ACT_ACCEPT) {
        v->would = act;
        v->action = AUTHDB_ACT_ACCEPT;
    }
}

/* Called when a check found something invalid: is it the login?  0 when
 * the login is fine; else -1 with the verdict set (mismatch, or tempfail
 * when the store failed). */
static int login_ok(ctx *c)
{
    authdb_norm n;
    char key[AUTHDB_NAME_BUFSZ], q[QUOTE_MAX];
    size_t klen;
    const char *why = NULL;
    int rc;

    if (ctx_txn(c) != 0)
        return -1;
    rc = authdb_norm_get(c->h, c->txn, &n);
    if (rc != AUTHDB_OK) {
        store_failed(c, rc);
        return -1;
    }
    rc = authdb_norm_login(&n, c->login, c->llen, key, sizeof(key), &klen, &why);
    if (rc == AUTHDB_OK)
        return 0;
    c->v->cls = POLICY_MISMATCH;
    quote(c->login, c->llen, q, sizeof(q));
    set_text(c->v, "Login %s may not send mail: it is not a valid login", q);
    set_reason(c->v, "login not valid: %s", why != NULL ? why : authdb_strerror(rc));
    return -1;
}

void policy_mail(authdb *h, const authdb_conf *conf, const policy_input *in, policy_verdict *v)
{
    ctx c = {h, conf, NULL, in->login, in->login ? strlen(in->login) : 0, v};
    const char *a = NULL;
    size_t alen = 0;
    char qa[QUOTE_MAX], ql[QUOTE_MAX];
    int env, r;
    const char *why;

    verdict_init(v, POLICY_STAGE_MAIL);
    env = envelope_addr(in->envfrom, &a, &alen);
    if (env > 0)
        quote(a, alen, qa, sizeof(qa));
    if (c.llen == 0) {
        set_reason(v, "unauthenticated");
        if (conf->unauthenticated_action == AUTHDB_ACT_REJECT) {
            v->cls = POLICY_UNAUTH;
            set_text(v, "Authentication required");
            set_reason(v, "unauthenticated");
        } else if (conf->protect_local_domains && env != 0) {
            r = env < 0 ? -1 : domain_local(&c, a, alen);
            if (r == 1) {
                v->cls = POLICY_UNAUTH_LOCAL;
                set_text(v,
                         "Sender address <%s> rejected: authentication required for a local "
                         "domain",
                         qa);
                set_reason(v, "unauthenticated envelope sender <%s> in a local domain", qa);
            } else if (r == -1) {
                v->cls = POLICY_MALFORMED;
                set_text(v, "Sender address rejected: malformed address");
                set_reason(v, "malformed envelope sender");
            }
        }
        goto out;
    }
    quote(in->login, c.llen, ql, sizeof(ql));
    if (env == 0) {
        set_reason(v, "null sender: headers decide");
        goto out;
    }
    if (env < 0) {
        v->cls = POLICY_MALFORMED;
        set_text(v, "Sender address rejected: malformed address");
        set_reason(v, "malformed envelope sender");
        goto out;
    }
    switch (check(&c, a, alen, v->rule, sizeof(v->rule), &why)) {
    case CHECK_ALLOWED:
        set_reason(v, "envelope sender <%s> allowed", qa);
        break;
    case CHECK_DENIED:
        v->cls = POLICY_MISMATCH;
        set_text(v, "Sender address <%s> rejected: not owned by login %s", qa, ql);
        set_reason(v, "envelope sender <%s> not allowed for %s", qa, ql);
        break;
    case CHECK_INVALID:
        if (login_ok(&c) != 0)
            break; /* the login is at fault: verdict set */
        v->cls = POLICY_MALFORMED;
        set_text(v, "Sender address <%s> rejected: malformed address", qa);
        set_reason(v, "malformed envelope sender <%s>: %s", qa, why);
        break;
    default:
        break; /* tempfail set */
    }
out:
    ctx_end(&c);
    finish(conf, v);
}

/* Parse one field into *l; on a defect set a malformed verdict. */
static int parse_field(ctx *c, const char *name, size_t count, const char *body, size_t len,
                       mailbox_list *l)
{
    policy_verdict *v = c->v;
    int rc;

    memset(l, 0, sizeof(*l));
    if (count > 1) {
        v->cls = POLICY_MALFORMED;
        set_text(v, "Message rejected: %zu %s header fields", count, name);
        set_reason(v, "%zu %s fields", count, name);
        return -1;
    }
    if (body == NULL) {
        v->cls = POLICY_MALFORMED;
        set_text(v, "Message rejected: %s header field too long", name);
        set_reason(v, "%s field too long", name);
        return -1;
    }
    rc = mailbox_parse(body, len, l);
    if (rc < 0) {
        v->cls = POLICY_TEMPFAIL;
        set_text(v, "Temporary failure: out of memory, try again later");
        set_reason(v, "out of memory parsing %s", name);
        return -1;
    }
    if (rc > 0) {
        v->cls = POLICY_MALFORMED;
        set_text(v, "Message rejected: malformed %s header: %s", name, defect_text(l->defect));
        set_reason(v, "%s field: %s at octet %zu", name, defect_name(l->defect), l->where);
        return -1;
    }
    return 0;
}

/* Check every mailbox and embedded address of one field. */
static int check_field(ctx *c, const char *name, const mailbox_list *l, int first)
{
    policy_verdict *v = c->v;
    char qa[QUOTE_MAX], ql[QUOTE_MAX], rule[sizeof(v->rule)];
    const char *why;
    int r;

    quote(c->login, c->llen, ql, sizeof(ql));
    for (size_t i = 0; i < l->n; i++) {
        const char *a = l->mb[i].addr;
        quote(a, strlen(a), qa, sizeof(qa));
        r = check(c, a, strlen(a), rule, sizeof(rule), &why);
        if (r == CHECK_TEMPFAIL)
            return -1;
        if (r == CHECK_INVALID && login_ok(c) != 0)
            return -1; /* the login is at fault: verdict set */
        if (r == CHECK_INVALID) {
            v->cls = POLICY_MALFORMED;
            set_text(v, "Message rejected: %s address <%s> is malformed", name, qa);
            set_reason(v, "%s address <%s> malformed: %s", name, qa, why);
            return -1;
        }
        if (r == CHECK_DENIED) {
            v->cls = POLICY_MISMATCH;
            snprintf(v->rule, sizeof(v->rule), "%s", rule);
            set_text(v, "%s address <%s> rejected: not owned by login %s", name, qa, ql);
            set_reason(v, "%s <%s> not allowed for %s", name, qa, ql);
            return -1;
        }
        if (first && i == 0)
            snprintf(v->rule, sizeof(v->rule), "%s", rule);
    }
    for (size_t i = 0; i < l->nembedded; i++) {
        const char *a = l->embedded[i];
        quote(a, strlen(a), qa, sizeof(qa));
        r = check(c, a, strlen(a), rule, sizeof(rule), &why);
        if (r == CHECK_TEMPFAIL || (r == CHECK_INVALID && login_ok(c) != 0))
            return -1;
        if (r != CHECK_ALLOWED) {
            v->cls = POLICY_MISMATCH;
            snprintf(v->rule, sizeof(v->rule), "%s", r == CHECK_DENIED ? rule : "invalid");
            set_text(v, "%s display name claims <%s>, which login %s may not use", name, qa, ql);
            set_reason(v, "%s display name or comment claims <%s>, not allowed for %s", name, qa,
                       ql);
            return -1;
        }
    }
    return 0;
}

static void headers_auth(ctx *c, const policy_input *in, mailbox_list *from, mailbox_list *sender)
{
    policy_verdict *v = c->v;

    if (in->nfrom == 0) {
        v->cls = POLICY_MALFORMED;
        set_text(v, "Message rejected: no From header field");
        set_reason(v, "no From field");
        return;
    }
    if (parse_field(c, "From", in->nfrom, in->from, in->from_len, from) != 0)
        return;
    if (in->nsender > 0 &&
        parse_field(c, "Sender", in->nsender, in->sender, in->sender_len, sender) != 0)
        return;
    if (in->nsender > 0 && sender->n != 1) {
        v->cls = POLICY_MALFORMED;
        set_text(v, "Message rejected: Sender header field holds %zu mailboxes", sender->n);
        set_reason(v, "Sender field holds %zu mailboxes", sender->n);
        return;
    }
    if (from->n > 1 && in->nsender == 0) {
        v->cls = POLICY_MALFORMED;
        set_text(v, "Message rejected: several From mailboxes need a Sender header field");
        set_reason(v, "%zu From mailboxes without Sender", from->n);
        return;
    }
    if (check_field(c, "From", from, 1) != 0)
        return;
    if (in->nsender > 0 && check_field(c, "Sender", sender, 0) != 0)
        return;
    set_reason(v, "From%s allowed", in->nsender > 0 ? " and Sender" : "");
}

static int unauth_field(ctx *c, const char *name, const mailbox_list *l)
{
    policy_verdict *v = c->v;
    char qa[QUOTE_MAX];

    for (size_t i = 0; i < l->n; i++) {
        const char *a = l->mb[i].addr;
        int r = domain_local(c, a, strlen(a));
        quote(a, strlen(a), qa, sizeof(qa));
        if (r == -2)
            return -1;
        if (r == -1) {
            v->cls = POLICY_MALFORMED;
            set_text(v, "Message rejected: %s address <%s> is malformed", name, qa);
            set_reason(v, "%s address <%s> has an invalid domain", name, qa);
            return -1;
        }
        if (r == 1) {
            v->cls = POLICY_UNAUTH_LOCAL;
            set_text(v, "%s address <%s> rejected: authentication required for a local domain",
                     name, qa);
            set_reason(v, "unauthenticated %s <%s> in a local domain", name, qa);
            return -1;
        }
    }
    return 0;
}

static void headers_unauth(ctx *c, const policy_input *in, mailbox_list *from, mailbox_list *sender)
{
    if (!c->conf->protect_local_domains) {
        set_reason(c->v, "unauthenticated");
        return;
    }
    if (in->nfrom > 0 && parse_field(c, "From", in->nfrom, in->from, in->from_len, from) != 0)
        return;
    if (in->nsender > 0 &&
        parse_field(c, "Sender", in->nsender, in->sender, in->sender_len, sender) != 0)
        return;
    if (unauth_field(c, "From", from) != 0 || unauth_field(c, "Sender", sender) != 0)
        return;
    set_reason(c->v, "unauthenticated, no local domain claimed");
}

/* A malformed-class reply to an authenticated client names the login too
 * (issue 5: header verdicts name the offending address and the login; a
 * malformed field may have no address to name). */
static void name_login(ctx *c)
{
    policy_verdict *v = c->v;
    char ql[QUOTE_MAX];
    size_t len = strlen(v->text);

    quote(c->login, c->llen, ql, sizeof(ql));
    if (len + strlen(" (login )") + strlen(ql) < sizeof(v->text))
        snprintf(v->text + len, sizeof(v->text) - len, " (login %s)", ql);
}

void policy_headers(authdb *h, const authdb_conf *conf, const policy_input *in, policy_verdict *v)
{
    ctx c = {h, conf, NULL, in->login, in->login ? strlen(in->login) : 0, v};
    mailbox_list from, sender;

    verdict_init(v, POLICY_STAGE_HEADERS);
    memset(&from, 0, sizeof(from));
    memset(&sender, 0, sizeof(sender));
    if (c.llen > 0) {
        headers_auth(&c, in, &from, &sender);
        if (v->cls == POLICY_MALFORMED)
            name_login(&c);
    } else
        headers_unauth(&c, in, &from, &sender);
    ctx_end(&c);
    mailbox_list_free(&from);
    mailbox_list_free(&sender);
    finish(conf, v);
}

void policy_malformed(const authdb_conf *conf, enum policy_stage stage, const char *text,
                      const char *reason, policy_verdict *v)
{
    verdict_init(v, stage);
    v->cls = POLICY_MALFORMED;
    reply_sanitize(text, strlen(text), v->text, sizeof(v->text));
    reply_sanitize(reason, strlen(reason), v->reason, sizeof(v->reason));
    finish(conf, v);
}

static int severity(const policy_verdict *v)
{
    int act = v->would != 0 ? v->would : v->action;

    switch (act) {
    case AUTHDB_ACT_REJECT:
        return 4;
    case AUTHDB_ACT_TEMPFAIL:
        return 3;
    case AUTHDB_ACT_QUARANTINE:
        return 2;
    case AUTHDB_ACT_HEADER:
        return 1;
    default:
        return v->cls != POLICY_PASS ? 1 : 0;
    }
}

void policy_merge(policy_verdict *acc, const policy_verdict *v)
{
    if (severity(v) > severity(acc))
        *acc = *v;
}

const char *policy_class_name(enum policy_class c)
{
    static const char *const names[] = {
        "pass", "mismatch", "malformed", "unauthenticated", "unauthenticated-local", "tempfail"};
    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "unknown";
}

const char *policy_action_name(int action)
{
    switch (action) {
    case AUTHDB_ACT_ACCEPT:
        return "accept";
    case AUTHDB_ACT_REJECT:
        return "reject";
    case AUTHDB_ACT_TEMPFAIL:
        return "tempfail";
    case AUTHDB_ACT_QUARANTINE:
        return "quarantine";
    case AUTHDB_ACT_HEADER:
        return "header";
    default:
        return "unknown";
    }
}
