/*
 * conn.h - one client connection: its request being read, its deadline,
 * its peer, its reply and its log line.
 *
 * A connection belongs to the I/O loop while its request is read, then to
 * one worker, which answers, logs and frees it.
 */
#ifndef AUTHD_CONN_H
#define AUTHD_CONN_H

#include <stdint.h>
#include <sys/types.h>

#include "authdb.h"
#include "proto.h"

/* conn_read() results beyond enum proto_status. */
enum {
    CONN_EOF = -100, /* the client closed before a complete request */
    CONN_EIO = -101, /* read error (errno in c->err) */
};

typedef struct conn {
    int fd;
    int err;             /* errno of the last failure */
    int64_t start_ms;    /* accepted at (monotonic) */
    int64_t deadline_ms; /* answer by (monotonic) */
    pid_t peer_pid;      /* SO_PEERCRED; -1 if unknown */
    uid_t peer_uid;
    proto_req req; /* holds the password: wiped by conn_free */
} conn;

/* Monotonic clock in milliseconds. */
int64_t conn_now_ms(void);

/* Take ownership of an accepted, non-blocking socket.  NULL: out of
 * memory (fd is then closed). */
conn *conn_new(int fd, int64_t now_ms, unsigned timeout_ms);

/* Read everything available into the request, straight into its field
 * buffers.  Returns PROTO_MORE (would block), PROTO_DONE, PROTO_ETOOLONG,
 * PROTO_ENUL, CONN_EOF or CONN_EIO. */
int conn_read(conn *c);

/* Send the answer (NO carries VERIFY_NO_TEXT).  Non-blocking: the reply
 * is a few octets into an empty socket buffer.  Returns 0 or an errno. */
int conn_reply(conn *c, enum proto_answer a, const char *no_text);

/* One log line for a decision: login, realm, service (escaped), result,
 * reason, peer and elapsed time.  Never the password.  prio is a syslog
 * priority; a = 0 logs result=NONE (nothing was answered). */
void conn_log(const conn *c, const authdb_log *lg, int prio, enum proto_answer a,
              const char *reason);

/* "OK", "NO", "TEMP"; "NONE" for anything else. */
const char *conn_result_name(enum proto_answer a);

/* Close, wipe (password included) and free.  NULL is fine. */
void conn_free(conn *c);

#endif /* AUTHD_CONN_H */
