/*
 * authlog-milter - the lab's probe filter: proves that an MTA started by
 * tests/lab/lab.sh really talks to a milter and passes it the SASL macros.
 *
 * usage: authlog-milter SOCKET      (SOCKET as libmilter takes it:
 *                                    unix:/path or inet:port@127.0.0.1)
 *
 * At MAIL FROM it writes one line to standard output:
 *     mail_from=<a@b> auth_type=PLAIN auth_authen=labuser
 * (a missing macro is written as "(none)"; control characters as '?').
 * At end of message it adds the header "X-Lab-Auth-Authen: <login>" ("none"
 * when {auth_authen} was not set).  It never rejects anything.
 *
 * Records go to standard output with one write(2) per line, so lab.sh points
 * stdout at a file (O_APPEND) and several worker threads cannot interleave a
 * record.  The socket is created world-accessible (umask 0): Postfix talks
 * to it as user postfix.  Diagnostics go to standard error; exit status 1
 * when the socket cannot be set up.  Test-only code, not installed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

enum { RECORD_MAX = 2048 };

/* Copies src into dst (capacity cap, cap > 0), replacing control
 * characters and spaces so one record stays one parseable line. */
static void authlog_clean(char *dst, size_t cap, const char *src)
{
    size_t i = 0;

    if (src == NULL)
        src = "(none)";
    for (; src[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x21 || c == 0x7f) ? '?' : (char)c;
    }
    dst[i] = '\0';
}

/* Writes all of buf to standard output; 0 on success, -1 on error. */
static int authlog_write(const char *buf, size_t len)
{
    int rc = 0;

    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -1;
            goto out;
        }
        buf += n;
        len -= (size_t)n;
    }
out:
    return rc;
}

static sfsistat authlog_envfrom(SMFICTX *ctx, char **argv)
{
    char from[512], type[128], authen[512], record[RECORD_MAX];
    const char *login = smfi_getsymval(ctx, "{auth_authen}");
    char *old = smfi_getpriv(ctx);
    char *copy = NULL;
    int len;

    authlog_clean(from, sizeof(from), argv != NULL ? argv[0] : NULL);
    authlog_clean(type, sizeof(type), smfi_getsymval(ctx, "{auth_type}"));
    authlog_clean(authen, sizeof(authen), login);
    len = snprintf(record, sizeof(record), "mail_from=%s auth_type=%s auth_authen=%s\n", from, type,
                   authen);
    if (len > 0 && authlog_write(record, (size_t)len) != 0)
        fprintf(stderr, "authlog-milter: write: %s\n", strerror(errno));

    /* Remember the login for the header at end of message. */
    if (login != NULL && login[0] != '\0')
        copy = strdup(authen);
    free(old);
    smfi_setpriv(ctx, copy);
    return SMFIS_CONTINUE;
}

static sfsistat authlog_eom(SMFICTX *ctx)
{
    const char *login = smfi_getpriv(ctx);
    char value[512];

    snprintf(value, sizeof(value), "%s", login != NULL ? login : "none");
    if (smfi_addheader(ctx, "X-Lab-Auth-Authen", value) != MI_SUCCESS)
        fprintf(stderr, "authlog-milter: smfi_addheader failed\n");
    return SMFIS_CONTINUE;
}

static sfsistat authlog_close(SMFICTX *ctx)
{
    free(smfi_getpriv(ctx));
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
    struct smfiDesc desc = {
        .xxfi_name = "authlog",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = SMFIF_ADDHDRS,
        .xxfi_envfrom = authlog_envfrom,
        .xxfi_eom = authlog_eom,
        .xxfi_close = authlog_close,
    };
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: authlog-milter SOCKET\n");
        goto out;
    }
    umask(0);
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
        smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "authlog-milter: cannot listen on %s\n", argv[1]);
        goto out;
    }
    rc = smfi_main() == MI_SUCCESS ? 0 : 1;
out:
    return rc;
}
