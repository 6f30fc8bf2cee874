/*
 * filter.h - the libmilter adapter: callbacks translating between
 * libmilter and the plain modules (policy, msg, plan).
 *
 * Negotiation asks for SMFIF_ADDHDRS | SMFIF_CHGHDRS (plus
 * SMFIF_QUARANTINE when an action is "quarantine", SMFIF_SETSYMLIST when
 * offered, to request the macros it reads), skips every stage it does not
 * use (connect, HELO, RCPT, DATA, end of header, body, unknown commands)
 * and sets SMFIP_NR_HDR, because the header callback never replies.  It
 * refuses an MTA that cannot change headers (the MTA then applies its own
 * failure action: tempfail by default in Postfix, and with F=T in
 * Sendmail).
 *
 * Per-connection state lives only in smfi_setpriv (libmilter may run one
 * connection's callbacks on different threads); a message pins one
 * configuration generation from MAIL to end of message; every decision
 * logs one line.
 */
#ifndef AUTHGATE_FILTER_H
#define AUTHGATE_FILTER_H

#include <libmilter/mfapi.h>

#include "authdb.h"
#include "runtime.h"

/* The process-wide context the callbacks reach through filter_set(). */
typedef struct filter_ctx {
    runtime *rt;
    const authdb_log *lg;
} filter_ctx;

/* The description to pass to smfi_register (xxfi_name "authgate-milter"). */
struct smfiDesc filter_desc(void);

/* Make fc the context of every callback; called once by main before
 * smfi_main (libmilter passes no user pointer to its callbacks). */
void filter_set(filter_ctx *fc);

#endif
