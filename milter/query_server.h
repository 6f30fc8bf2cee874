/*
 * query_server.h - authgate-query's connections: the accept loop, one
 * thread per connection (at most max_conns at once; further clients wait
 * in the listen queue), timeouts, and the drain at shutdown.
 *
 * A connection thread runs a query_session: it reads what the client
 * sends, answers every whole request with the configuration generation
 * and store that are current at that moment (runtime.h: a SIGHUP reload
 * reaches long-lived Postfix connections at their next request), and
 * writes the answer back.  Limits:
 *   idle_timeout  seconds a connection may wait for its next request (and
 *                 for its first);
 *   timeout       seconds from a request's first octet until it is whole,
 *                 and for its answer to be written;
 * a client that exceeds either is disconnected (logged).
 * query_server_run() returns when on_signal asks it to stop: it closes
 * the listening socket, lets every connection finish the request it is
 * reading or answering (closing idle ones at once), and waits up to
 * timeout + 1 seconds for them.
 */
#ifndef AUTHGATE_QUERY_SERVER_H
#define AUTHGATE_QUERY_SERVER_H

#include "authdb.h"
#include "runtime.h"

typedef struct query_server query_server;

typedef struct query_server_opts {
    unsigned timeout;      /* query_timeout */
    unsigned idle_timeout; /* query_idle_timeout */
    unsigned max_conns;    /* query_connections */
} query_server_opts;

/* lfd: a listening socket (the server closes it when run returns).  rt and
 * lg must outlive the server.  0 or -1 with why. */
int query_server_new(int lfd, runtime *rt, const authdb_log *lg, const query_server_opts *o,
                     query_server **out, char *why, size_t whylen);

/* Called by query_server_run for every octet read from sigfd (one per
 * signal); a non-zero return stops the server. */
typedef int (*query_server_signal_fn)(void *arg, int sig);

/* Serve until on_signal says stop, then drain.  Returns the number of
 * connections still running after the drain: when it is not 0 the server
 * must not be freed (the process should just exit). */
unsigned query_server_run(query_server *s, int sigfd, query_server_signal_fn on_signal, void *arg);

void query_server_free(query_server *s);

#endif
