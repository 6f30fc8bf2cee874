/*
 * mproto.h - the MTA side of the milter protocol (version 6), for the
 * integration client and the benchmark.  Test code, never installed.
 *
 * One mproto is one connection to a filter.  Calls are synchronous; every
 * function returns 0 or -1 with a sentence in m->err.
 */
#ifndef AUTHGATE_MPROTO_H
#define AUTHGATE_MPROTO_H

#include <stddef.h>

#define MPROTO_MODS_MAX 64

typedef struct mproto_mod {
    char cmd;       /* 'h' add, 'i' insert, 'm' change/delete header, 'q' quarantine,
                       '+' '-' recipients, 'b' body, 'e' sender */
    unsigned idx;   /* insert / change index */
    char name[128]; /* header name (or quarantine reason) */
    char value[1024];
} mproto_mod;

typedef struct mproto_reply {
    char cmd;        /* 'c' continue, 'a' accept, 'r' reject, 't' tempfail, 'y' reply code */
    char text[1024]; /* for 'y': "550 5.7.1 text" */
    size_t nmods;    /* end of message: modifications before the reply */
    mproto_mod mods[MPROTO_MODS_MAX];
} mproto_reply;

typedef struct mproto {
    int fd;
    unsigned long actions, protocol; /* as negotiated by the filter */
    char err[256];
} mproto;

/* "unix:/path", "local:/path" or "inet:port@host". */
int mproto_connect(mproto *m, const char *spec);
/* Offer the given actions and protocol flags (what Postfix 3.7 offers by
 * default: mproto_negotiate(m, 0x1ff, 0x1fffff)). */
int mproto_negotiate(mproto *m, unsigned long actions, unsigned long protocol);
/* Macros for a stage ('M' MAIL, 'E' end of message...): name, value, ...,
 * NULL. */
int mproto_macros(mproto *m, char stage, const char *const *kv);
int mproto_mail(mproto *m, const char *sender, mproto_reply *r);
/* A header; no reply is read when the filter negotiated SMFIP_NR_HDR. */
int mproto_header(mproto *m, const char *name, const char *value, mproto_reply *r);
/* End of header (skipped when the filter negotiated SMFIP_NOEOH). */
int mproto_eoh(mproto *m, mproto_reply *r);
int mproto_eom(mproto *m, mproto_reply *r);
int mproto_abort(mproto *m);
void mproto_close(mproto *m);

#endif
