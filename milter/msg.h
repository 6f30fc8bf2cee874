/*
 * msg.h - what one message's header fields tell the milter.
 *
 * The header callback feeds every field to msg_header(); the collector
 * keeps the first From and Sender bodies (up to MAILBOX_FIELD_MAX octets,
 * beyond that only "too long"), counts From, Sender and X-Authgate-Verdict
 * fields, and records the 1-based positions (among fields of that name) of
 * the Authentication-Results fields carrying our authserv-id, for
 * deletion.  Names compare case-insensitively, trailing blanks ignored.
 * Pure, no libmilter; one collector per connection, reset per message.
 */
#ifndef AUTHGATE_MSG_H
#define AUTHGATE_MSG_H

#include <stddef.h>

#include "sbuf.h"

/* Authentication-Results fields with our id that one message may carry. */
#define MSG_AUTHRES_MAX 10000

#define MSG_VERDICT_HEADER "X-Authgate-Verdict"
#define MSG_AUTHRES_HEADER "Authentication-Results"

typedef struct msg {
    size_t nfrom, nsender; /* fields seen */
    sbuf from, sender;     /* the first bodies */
    int from_toolong, sender_toolong;
    size_t nauthres; /* Authentication-Results fields seen */
    unsigned *ours;  /* positions of those with our authserv-id, ascending */
    size_t nours, ours_cap;
    size_t nverdict; /* X-Authgate-Verdict fields seen */
    int overflow;    /* more than MSG_AUTHRES_MAX of ours */
    int oom;         /* a copy failed: the message must be tempfailed */
} msg;

void msg_init(msg *m);
/* Forget the previous message (keeps memory). */
void msg_reset(msg *m);
void msg_free(msg *m);

/* One header field; authserv_id is ours. */
void msg_header(msg *m, const char *name, const char *value, const char *authserv_id);

/* The first From/Sender body, or NULL when none or too long. */
const char *msg_from(const msg *m, size_t *len);
const char *msg_sender(const msg *m, size_t *len);

#endif
