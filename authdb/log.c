/*
 * log.c - one logging path for the daemons and tools.
 *
 * Interface: authdb_log_init, authdb_logf, authdb_log_escape.
 *
 * A logger is a plain struct built by main and passed down.  Lines go to
 * syslog (facility mail, pid included) and/or standard error as
 * "ident[pid]: level: text".  The text is formatted once with vsnprintf
 * (lines longer than LOG_LINE_MAX are cut with "...").  Untrusted text
 * must be passed through authdb_log_escape() by the caller: it keeps
 * printable ASCII (but \\ and ") and valid UTF-8 and writes everything else
 * as \xHH, so a client cannot forge log lines or close a quoted field.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <unistr.h>

#include "authdb_private.h"

#define LOG_LINE_MAX 2048

void authdb_log_init(authdb_log *lg, const char *ident, int to_stderr, int to_syslog, int debug)
{
    memset(lg, 0, sizeof(*lg));
    snprintf(lg->ident, sizeof(lg->ident), "%s", ident);
    lg->to_stderr = to_stderr;
    lg->to_syslog = to_syslog;
    lg->max_prio = debug ? LOG_DEBUG : LOG_INFO;
    if (to_syslog)
        openlog(lg->ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static const char *prio_name(int prio)
{
    switch (prio) {
    case LOG_EMERG:
    case LOG_ALERT:
    case LOG_CRIT:
        return "fatal";
    case LOG_ERR:
        return "error";
    case LOG_WARNING:
        return "warning";
    case LOG_NOTICE:
        return "notice";
    case LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void authdb_logf(const authdb_log *lg, int prio, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    int n;

    if (lg == NULL || prio > lg->max_prio)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        memcpy(line + sizeof(line) - 4, "...", 4);
    if (lg->to_syslog)
        syslog(prio, "%s", line);
    if (lg->to_stderr)
        fprintf(stderr, "%s[%ld]: %s: %s\n", lg->ident, (long)getpid(), prio_name(prio), line);
}

char *authdb_log_escape(const char *in, size_t len, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i = 0;

    if (outsz < 4) {
        if (outsz > 0)
            out[0] = '\0';
        return out;
    }
    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        size_t take = 1;
        int plain = 0;

        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            plain = 1;
        } else if (c >= 0x80) {
            ucs4_t uc;
            int n = u8_mbtouc_unsafe(&uc, (const uint8_t *)in + i, len - i);
            if (n > 1 && uc != 0xfffd && !(uc >= 0x80 && uc < 0xa0) && uc != 0x2028 &&
                uc != 0x2029) {
                plain = 1;
                take = (size_t)n;
            }
        }
        if (plain) {
            if (o + take + 4 > outsz)
                goto full;
            memcpy(out + o, in + i, take);
            o += take;
        } else {
            if (o + 4 + 4 > outsz)
                goto full;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
        i += take;
    }
    out[o] = '\0';
    return out;
full:
    memcpy(out + o, "...", 4);
    return out;
}
