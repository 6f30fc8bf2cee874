/*
 * query_session.c - one connection's protocol state (see query_session.h).
 */
#include "query_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "policy.h"
#include "query_decide.h"
#include "query_line.h"
#include "query_netstring.h"
#include "query_socketmap.h"

/* Input bound of a socketmap connection: one request and its framing. */
#define SOCKETMAP_IN_MAX (QUERY_SOCKETMAP_REQUEST_MAX + QUERY_NETSTRING_DIGITS_MAX + 2)
#define FIRST_CAP        4096
#define LOGVAL           256 /* escaped octets of one untrusted log value */

void query_session_init(query_session *s)
{
    memset(s, 0, sizeof(*s));
}

void query_session_free(query_session *s)
{
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

static size_t bound(const query_session *s)
{
    return s->proto == QUERY_PROTO_SOCKETMAP ? SOCKETMAP_IN_MAX : QUERY_LINE_MAX;
}

size_t query_session_room(query_session *s, char **at)
{
    size_t max = bound(s), cap;
    char *nb;

    if (s->len == s->cap && s->cap < max && !s->oom) {
        cap = s->cap == 0 ? FIRST_CAP : s->cap * 2;
        if (cap > max)
            cap = max;
        nb = realloc(s->buf, cap);
        if (nb == NULL) {
            s->oom = 1;
        } else {
            s->buf = nb;
            s->cap = cap;
        }
    }
    *at = s->buf + s->len;
    return s->cap - s->len;
}

void query_session_filled(query_session *s, size_t n)
{
    s->len += n;
    if (s->proto == QUERY_PROTO_UNKNOWN && s->len > 0)
        s->proto = s->buf[0] >= '0' && s->buf[0] <= '9' ? QUERY_PROTO_SOCKETMAP : QUERY_PROTO_LINE;
}

void query_session_eof(query_session *s)
{
    s->eof = 1;
}

int query_session_partial(const query_session *s)
{
    return s->len > 0;
}

static void consume(query_session *s, size_t n)
{
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
}

static void log_socketmap(const query_env *env, const query_socketmap_result *r, const sbuf *reply)
{
    char name[64], key[LOGVAL], rep[LOGVAL];
    int bad = r->status == QUERY_SOCKETMAP_TEMP || r->status == QUERY_SOCKETMAP_PERM;

    authdb_log_escape(r->name, r->name_len, name, sizeof(name));
    authdb_log_escape(r->key != NULL ? r->key : "", r->key_len, key, sizeof(key));
    authdb_log_escape(sbuf_str(reply), reply->len, rep, sizeof(rep));
    authdb_logf(env->lg, bad ? LOG_WARNING : LOG_INFO,
                "socketmap map=%s key=\"%s\" result=%s logins=%zu skipped=%zu reply=\"%s\"", name,
                key, query_socketmap_status_name(r->status), r->logins, r->skipped, rep);
    if (r->skipped > 0)
        authdb_logf(env->lg, LOG_WARNING,
                    "socketmap key=\"%s\": %zu logins left out of the reply: a login holding a "
                    "comma, white space or a control character cannot be listed for Postfix",
                    key, r->skipped);
}

/* Frame payload as the socketmap reply. */
static void put_netstring(sbuf *out, const sbuf *payload)
{
    if (query_netstring_append(out, sbuf_str(payload), payload->len) != 0) {
        sbuf_reset(out);
        query_netstring_append(out, "TEMP out of memory", 18);
    }
}

static enum query_step step_socketmap(query_session *s, const query_env *env, sbuf *out)
{
    const char *payload = NULL, *why = NULL;
    size_t plen = 0, used = 0;
    query_socketmap_result res;
    sbuf reply;
    enum query_step st = QUERY_STEP_MORE;
    int r;

    sbuf_init(&reply, QUERY_SOCKETMAP_REPLY_MAX);
    r = query_netstring_parse(s->buf, s->len, QUERY_SOCKETMAP_REQUEST_MAX, &payload, &plen, &used,
                              &why);
    if (r == QUERY_NETSTRING_MORE) {
        if (s->eof || s->oom) {
            if (s->oom)
                authdb_logf(env->lg, LOG_ERR, "socketmap: out of memory: connection closed");
            else
                authdb_logf(env->lg, LOG_WARNING,
                            "socketmap: client closed in the middle of a request");
            st = QUERY_STEP_CLOSE;
        }
        goto out;
    }
    if (r == QUERY_NETSTRING_ERROR) {
        authdb_logf(env->lg, LOG_WARNING, "socketmap: %s: answered PERM, connection closed", why);
        sbuf_adds(&reply, "PERM ");
        sbuf_adds(&reply, why);
        put_netstring(out, &reply);
        st = QUERY_STEP_CLOSE;
        goto out;
    }
    query_socketmap_answer(env->h, payload, plen, &reply, &res);
    log_socketmap(env, &res, &reply);
    put_netstring(out, &reply);
    consume(s, used);
    s->requests++;
    st = QUERY_STEP_REPLY;
out:
    sbuf_free(&reply);
    return st;
}

static void log_line(const query_env *env, const query_request *rq, const query_hdrs *hd,
                     const policy_verdict *v)
{
    char id[64], login[LOGVAL], env_[LOGVAL], from[LOGVAL], would[64] = "";

    authdb_log_escape(sbuf_str(&rq->id), rq->id.len, id, sizeof(id));
    authdb_log_escape(sbuf_str(&rq->login), rq->login.len, login, sizeof(login));
    authdb_log_escape(sbuf_str(&rq->envfrom), rq->envfrom.len, env_, sizeof(env_));
    authdb_log_escape(hd->from != NULL ? hd->from : "", hd->from != NULL ? hd->from_len : 0, from,
                      sizeof(from));
    if (v->would != 0)
        snprintf(would, sizeof(would), " would=%s (report_only)", policy_action_name(v->would));
    authdb_logf(env->lg, v->cls == POLICY_PASS ? LOG_INFO : LOG_NOTICE,
                "%s id=%s login=\"%s\" envfrom=\"<%s>\" from=\"%s\" verdict=%s%s class=%s "
                "rule=\"%s\" reason=\"%s\"",
                query_cmd_name(rq->cmd), id[0] != '\0' ? id : "-", login, env_, from,
                policy_action_name(v->action), would, policy_class_name(v->cls), v->rule,
                v->reason);
}

/* The line protocol: one request, one response, close. */
static enum query_step step_line(query_session *s, const query_env *env, sbuf *out)
{
    const char *lf = memchr(s->buf, '\n', s->len), *why = NULL;
    size_t len = lf != NULL ? (size_t)(lf - s->buf) : s->len;
    char resp[QUERY_RESPONSE_MAX], w[LOGVAL];
    size_t rlen;
    query_request rq;
    query_hdrs hd;
    policy_verdict v;
    enum query_step st = QUERY_STEP_CLOSE;

    query_request_init(&rq);
    memset(&hd, 0, sizeof(hd));
    if (lf == NULL && !s->eof && !s->oom && s->len < QUERY_LINE_MAX) {
        st = QUERY_STEP_MORE;
        goto out;
    }
    if (lf == NULL && s->len >= QUERY_LINE_MAX)
        why = "request line longer than 131072 octets";
    else if (lf == NULL && s->oom)
        why = "out of memory reading the request";
    else if (query_line_parse(s->buf, len, &rq, &why) == 0)
        query_decide(env->h, env->conf, &rq, &v, &hd, &why);
    if (why != NULL) {
        authdb_log_escape(why, strlen(why), w, sizeof(w));
        authdb_logf(env->lg, LOG_WARNING, "line protocol: bad request: %s: answered tempfail", w);
        rlen = query_line_error(why, resp, sizeof(resp));
    } else {
        log_line(env, &rq, &hd, &v);
        rlen = query_line_response(&v, resp, sizeof(resp));
    }
    sbuf_add(out, resp, rlen);
    s->requests++;
    s->closing = 1;
out:
    query_request_free(&rq);
    return st;
}

enum query_step query_session_step(query_session *s, const query_env *env, sbuf *out)
{
    enum query_step st = QUERY_STEP_MORE;

    if (s->closing) {
        st = QUERY_STEP_CLOSE;
    } else if (s->len == 0) {
        st = s->eof || s->oom ? QUERY_STEP_CLOSE : QUERY_STEP_MORE;
    } else if (s->proto == QUERY_PROTO_SOCKETMAP) {
        st = step_socketmap(s, env, out);
    } else {
        st = step_line(s, env, out);
    }
    return st;
}
