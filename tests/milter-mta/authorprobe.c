/*
 * authorprobe.c - a test-only milter that proves what the MTA hands a
 * milter at MAIL FROM, so the {auth_author} checks of the milter-mta tests
 * cannot pass by accident (an attack input that never reached the milter
 * would prove nothing).
 *
 * usage: milter-mta-authorprobe SOCKET   (unix:/path or inet:port@host)
 *
 * At MAIL FROM it writes one line to standard output:
 *     mail_from=<x@remote.example> auth_authen=(none) auth_author=<v@example.com>
 * ("(none)" for a missing or empty macro; control characters and spaces
 * as '?'), one write(2) per line.  It changes nothing and never rejects.
 * The socket is world-accessible (umask 0): Postfix connects as postfix.
 * Exit status 1 when the socket cannot be set up.  Not installed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

enum { PROBE_VALUE_MAX = 512, PROBE_LINE_MAX = 2048 };

/* Copy src to dst (capacity cap > 0) as one token of a record line. */
static void probe_clean(char *dst, size_t cap, const char *src)
{
    size_t i = 0;

    if (src == NULL || src[0] == '\0')
        src = "(none)";
    for (; src[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x21 || c == 0x7f) ? '?' : (char)c;
    }
    dst[i] = '\0';
}

static sfsistat probe_envfrom(SMFICTX *ctx, char **argv)
{
    char from[PROBE_VALUE_MAX], authen[PROBE_VALUE_MAX], author[PROBE_VALUE_MAX];
    char line[PROBE_LINE_MAX];
    int len;

    probe_clean(from, sizeof(from), argv != NULL ? argv[0] : NULL);
    probe_clean(authen, sizeof(authen), smfi_getsymval(ctx, "{auth_authen}"));
    probe_clean(author, sizeof(author), smfi_getsymval(ctx, "{auth_author}"));
    len = snprintf(line, sizeof(line), "mail_from=%s auth_authen=%s auth_author=%s\n", from, authen,
                   author);
    if (len > 0 && write(STDOUT_FILENO, line, (size_t)len) != (ssize_t)len)
        fprintf(stderr, "authorprobe: write: %s\n", strerror(errno));
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
    struct smfiDesc desc = {
        .xxfi_name = "authorprobe",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = 0,
        .xxfi_envfrom = probe_envfrom,
    };
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: milter-mta-authorprobe SOCKET\n");
        goto out;
    }
    umask(0);
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
        smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "authorprobe: cannot listen on %s\n", argv[1]);
        goto out;
    }
    rc = smfi_main() == MI_SUCCESS ? 0 : 1;
out:
    return rc;
}
