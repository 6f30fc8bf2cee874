/*
 * nullfilter.c - the benchmark's baseline: a libmilter filter that does
 * nothing, negotiating exactly the steps authgate-milter negotiates (no
 * connect, HELO, RCPT, DATA, end of header, body or unknown commands;
 * no reply to headers) and continuing everything.
 *
 * usage: milter-nullfilter SOCKET
 */
#include <stdio.h>
#include <string.h>

#include <libmilter/mfapi.h>

static sfsistat nf_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOBODY |
                               SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_HDR;

    (void)ctx;
    (void)f2;
    (void)f3;
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS);
    *pf1 = f1 & skip;
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat nf_envfrom(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

static sfsistat nf_header(SMFICTX *ctx, char *name, char *value)
{
    (void)ctx;
    (void)name;
    (void)value;
    return SMFIS_NOREPLY;
}

static sfsistat nf_eom(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
    struct smfiDesc d;

    if (argc != 2) {
        fprintf(stderr, "usage: milter-nullfilter SOCKET\n");
        return 2;
    }
    memset(&d, 0, sizeof(d));
    d.xxfi_name = "nullfilter";
    d.xxfi_version = SMFI_VERSION;
    d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
    d.xxfi_envfrom = nf_envfrom;
    d.xxfi_header = nf_header;
    d.xxfi_eom = nf_eom;
    d.xxfi_negotiate = nf_negotiate;
    if (smfi_register(d) != MI_SUCCESS || smfi_setconn(argv[1]) != MI_SUCCESS ||
        smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "milter-nullfilter: cannot listen on %s\n", argv[1]);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
