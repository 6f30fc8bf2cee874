/*
 * query_netstring.c - netstring parsing and framing (see
 * query_netstring.h).
 */
#include "query_netstring.h"

#include <stdio.h>

int query_netstring_parse(const char *buf, size_t len, size_t max, const char **payload,
                          size_t *plen, size_t *used, const char **why)
{
    size_t n = 0, i = 0;
    int rc = QUERY_NETSTRING_MORE;

    *why = NULL;
    for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (i == QUERY_NETSTRING_DIGITS_MAX) {
            *why = "netstring length has too many digits";
            rc = QUERY_NETSTRING_ERROR;
            goto out;
        }
        if (i == 1 && buf[0] == '0') {
            *why = "netstring length has a leading zero";
            rc = QUERY_NETSTRING_ERROR;
            goto out;
        }
        n = n * 10 + (size_t)(buf[i] - '0');
        if (n > max) {
            *why = "netstring longer than this server accepts";
            rc = QUERY_NETSTRING_ERROR;
            goto out;
        }
    }
    if (i == len)
        goto out; /* digits so far (or nothing): more */
    if (i == 0 || buf[i] != ':') {
        *why = i == 0 ? "netstring does not start with a digit"
                      : "netstring length not followed by \":\"";
        rc = QUERY_NETSTRING_ERROR;
        goto out;
    }
    i++; /* ':' */
    if (len - i < n + 1)
        goto out; /* payload or ',' still to come */
    if (buf[i + n] != ',') {
        *why = "netstring payload not followed by \",\"";
        rc = QUERY_NETSTRING_ERROR;
        goto out;
    }
    *payload = buf + i;
    *plen = n;
    *used = i + n + 1;
    rc = QUERY_NETSTRING_OK;
out:
    return rc;
}

int query_netstring_append(sbuf *out, const char *data, size_t len)
{
    char head[32];
    int hl = snprintf(head, sizeof(head), "%zu:", len);

    if (sbuf_add(out, head, (size_t)hl) != 0 || sbuf_add(out, data, len) != 0 ||
        sbuf_addc(out, ',') != 0)
        return -1;
    return 0;
}
