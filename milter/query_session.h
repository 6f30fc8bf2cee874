/*
 * query_session.h - one client connection of authgate-query, as bytes in
 * and bytes out: no sockets, no threads, no clocks (query_server does
 * those), so the tests and fuzz targets drive it directly.
 *
 * The first octet chooses the protocol for the whole connection: a digit
 * starts a netstring, so the connection speaks Postfix's socketmap
 * (query_socketmap.h: any number of requests, each answered in turn);
 * anything else is the line protocol (query_line.h: one request, one
 * response, then close).  The input buffer grows on demand up to the
 * protocol's bound (QUERY_SOCKETMAP_REQUEST_MAX plus framing, or
 * QUERY_LINE_MAX), so one connection holds at most one request's worth of
 * unanswered input.  Every answered request logs one line through lg:
 *   socketmap map=senders key="a@b" result=OK logins=2 skipped=0 reply="OK x,y"
 *   data id=... login="..." envfrom="..." from="..." verdict=reject
 *        class=mismatch rule="..." reason="..."   (like authgate-milter's)
 * with untrusted text escaped (authdb_log_escape).
 */
#ifndef AUTHGATE_QUERY_SESSION_H
#define AUTHGATE_QUERY_SESSION_H

#include <stddef.h>

#include "authdb.h"
#include "query_netstring.h"
#include "query_socketmap.h"
#include "sbuf.h"

enum query_proto { QUERY_PROTO_UNKNOWN = 0, QUERY_PROTO_SOCKETMAP, QUERY_PROTO_LINE };

typedef struct query_session {
    enum query_proto proto;
    char *buf; /* unanswered input */
    size_t len, cap;
    int eof;     /* the client will send nothing more */
    int closing; /* answered the last request this connection gets */
    int oom;     /* the buffer could not grow */
    unsigned long requests;
} query_session;

/* What the store and configuration are for one step. */
typedef struct query_env {
    authdb *h;               /* NULL: store unavailable (temporary failure) */
    const authdb_conf *conf; /* actions, report_only, ... */
    const authdb_log *lg;    /* decision log lines */
} query_env;

enum query_step {
    QUERY_STEP_MORE = 0, /* no whole request yet: read more */
    QUERY_STEP_REPLY,    /* out holds bytes to send; then step again */
    QUERY_STEP_CLOSE,    /* send what out holds (may be nothing), then close */
};

void query_session_init(query_session *s);
void query_session_free(query_session *s);

/* Where the next read may store input and how much.  0 when the buffer is
 * at its bound or cannot grow (out of memory): query_session_step then
 * never answers MORE. */
size_t query_session_room(query_session *s, char **at);
/* n octets were read into *at. */
void query_session_filled(query_session *s, size_t n);
/* The client closed its sending side. */
void query_session_eof(query_session *s);

/* Has the client sent part of a request that is not answered yet? */
int query_session_partial(const query_session *s);

/* Answer the next buffered request, if whole: appends the reply to out
 * (whose limit must hold QUERY_SOCKETMAP_REPLY_MAX plus framing).  After
 * QUERY_STEP_CLOSE the connection ends; a session that has answered the
 * line protocol's request always closes. */
enum query_step query_session_step(query_session *s, const query_env *env, sbuf *out);

/* Longest reply query_session_step can append: a socketmap reply and its
 * framing (a line-protocol response is far shorter). */
#define QUERY_SESSION_OUT_MAX (QUERY_SOCKETMAP_REPLY_MAX + QUERY_NETSTRING_DIGITS_MAX + 2)

#endif
