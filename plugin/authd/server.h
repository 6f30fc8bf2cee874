/*
 * server.h - the daemon's engine: one I/O thread that accepts connections
 * and reads requests without ever blocking on a client, and a bounded pool
 * of workers that verify complete requests against the store and answer.
 *
 * Bounds (all logged when hit, each refusal answered TEMP):
 *   - at most max_reading connections whose request is still arriving;
 *   - at most `queue` complete requests waiting for a worker;
 *   - every request must be answered within timeout_ms of its accept:
 *     a client still sending is cut off, a request that waited in the
 *     queue past its deadline is answered TEMP without hashing.
 */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

#include <stddef.h>

#include "authdb.h"
#include "sdnotify.h"
#include "storeref.h"

typedef struct server_params {
    unsigned threads;    /* workers (authd_threads) */
    unsigned timeout_ms; /* per request (authd_timeout) */
    size_t queue;        /* complete requests waiting for a worker */
    size_t max_reading;  /* connections whose request is being read */
    /* The service manager (may be NULL or inactive).  With a watchdog the
     * I/O thread sends the keep-alive every half deadline while the
     * workers make progress, and withholds it (logged) once they have had
     * work and finished nothing for the request timeout: the service
     * manager then kills and restarts the daemon, and every client waiting
     * on it reads end-of-file, a temporary failure, instead of waiting
     * forever (libsasl2 has no timeout).  A hung I/O thread or a stopped
     * process sends nothing either.  "STOPPING=1" is sent on SIGTERM. */
    const sdnotify *notify;
} server_params;

/* Called on the I/O thread for SIGHUP. */
typedef void (*server_reload_fn)(void *arg);

typedef struct server server;

/* Start the workers.  On success the server owns listen_fd (non-blocking,
 * listening) and closes it when it stops accepting; st and lg stay the
 * caller's and must outlive the server.  Returns 0 or an errno value. */
int server_new(const server_params *p, int listen_fd, storeref *st, const authdb_log *lg,
               server **out);

/* Timeout for connections accepted from now on (call from the reload
 * callback). */
void server_set_timeout(server *s, unsigned timeout_ms);

/* Run until SIGTERM or SIGINT arrives on sigfd (a non-blocking signalfd
 * for SIGTERM, SIGINT, SIGHUP): then stop accepting (the listening socket
 * is closed), finish every accepted request (reading ones until complete
 * or their deadline, queued and running ones until answered), stop the
 * workers and return 0.  SIGHUP calls reload(arg). */
int server_run(server *s, int sigfd, server_reload_fn reload, void *arg);

/* Free; NULL is fine.  Stops the workers if server_run() did not. */
void server_free(server *s);

#endif /* AUTHD_SERVER_H */
