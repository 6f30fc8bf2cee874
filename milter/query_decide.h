/*
 * query_decide.h - the milter's decision for one line-protocol request.
 *
 * "mail" runs policy_mail() on the login and "<envfrom>", exactly what
 * authgate-milter does at MAIL FROM.  "data" does what the milter does
 * through end of message: policy_mail() first (a reject or tempfail there
 * is the answer, as the milter would have refused MAIL), then
 * policy_headers() on the From and Sender fields query_hdrs_scan() finds
 * in the raw header section, merged with the MAIL verdict by
 * policy_merge() in the milter's order.  Same store, same configuration
 * (actions per class, report_only, protect_local_domains,
 * unauthenticated_action), same parser: the same verdict.
 *
 * One addition the milter does not need: Exim truncates
 * $message_headers_raw at QUERY_HEADERS_TRUNCATED octets, and the fields
 * cut off could be a second From.  A section that long is therefore
 * malformed ("header section too large to check"), before anything else
 * in it is looked at.
 */
#ifndef AUTHGATE_QUERY_DECIDE_H
#define AUTHGATE_QUERY_DECIDE_H

#include "authdb.h"
#include "policy.h"
#include "query_hdrs.h"
#include "query_line.h"

/* Exim 4.96's limit for $message_headers_raw (observed: the value of a
 * message with larger headers is exactly this long). */
#define QUERY_HEADERS_TRUNCATED 65536

/* Decide rq (parsed).  h may be NULL (store unavailable: tempfail).
 * Returns 0 with *v filled, or -1 with *why when the header section is not
 * one (a client error: answer query_line_error).  *hd (zeroed first) gets
 * what the header section held, when it was scanned (for the log). */
int query_decide(authdb *h, const authdb_conf *conf, const query_request *rq, policy_verdict *v,
                 query_hdrs *hd, const char **why);

#endif
