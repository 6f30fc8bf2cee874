/*
 * client.c - milter-client: one scripted MTA transaction against a milter,
 * printing every reply exactly, so integration tests can compare the
 * whole dialogue (miltertest cannot show the text of a MAIL reply).
 *
 * usage: milter-client [-v] [-A actions] [-P protocol] [-m name=value]...
 *                      [-f sender] [-h "Name: value"]... [-n count] [-s secs] socket
 * Offers Postfix's default actions and protocol flags unless -A/-P say
 * otherwise, sends the -m macros with MAIL, MAIL FROM:sender (default <>),
 * the -h headers, end of message (after -s seconds, to test draining); -n
 * repeats that on the same connection.
 * Output: "mail: REPLY", then for end of message each modification
 * ("eom: insert IDX NAME: VALUE", "eom: delete NAME IDX", "eom: add NAME:
 * VALUE", "eom: quarantine REASON", anything else as "eom: modification
 * 'C' ...") and "eom: REPLY", where REPLY is
 * continue, accept, reject, tempfail or "reply CODE XCODE TEXT".
 * Exit status: 0 when the dialogue completed, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mproto.h"

#define MAX_ITEMS 64

static void print_reply(const char *stage, const mproto_reply *r)
{
    for (size_t i = 0; i < r->nmods; i++) {
        const mproto_mod *m = &r->mods[i];
        if (m->cmd == 'i')
            printf("%s: insert %u %s: %s\n", stage, m->idx, m->name, m->value);
        else if (m->cmd == 'm' && m->value[0] == '\0')
            printf("%s: delete %s %u\n", stage, m->name, m->idx);
        else if (m->cmd == 'm')
            printf("%s: change %s %u: %s\n", stage, m->name, m->idx, m->value);
        else if (m->cmd == 'h')
            printf("%s: add %s: %s\n", stage, m->name, m->value);
        else if (m->cmd == 'q')
            printf("%s: quarantine %s\n", stage, m->name);
        else
            printf("%s: modification '%c' %s\n", stage, m->cmd, m->name);
    }
    switch (r->cmd) {
    case 'c':
        printf("%s: continue\n", stage);
        break;
    case 'a':
        printf("%s: accept\n", stage);
        break;
    case 'r':
        printf("%s: reject\n", stage);
        break;
    case 't':
        printf("%s: tempfail\n", stage);
        break;
    case 'y':
        printf("%s: reply %s\n", stage, r->text);
        break;
    default:
        printf("%s: '%c'\n", stage, r->cmd);
        break;
    }
}

int main(int argc, char **argv)
{
    const char *macros[2 * MAX_ITEMS + 1];
    char *headers[MAX_ITEMS];
    size_t nmac = 0, nhdr = 0;
    const char *sender = "<>";
    unsigned long actions = 0x1ff, protocol = 0x1fffff;
    int verbose = 0, count = 1, pause = 0, ch, rc = 1;
    static mproto_reply r;
    mproto m;

    while ((ch = getopt(argc, argv, "vA:P:m:f:h:n:s:")) != -1) {
        switch (ch) {
        case 'v':
            verbose = 1;
            break;
        case 'A':
            actions = strtoul(optarg, NULL, 0);
            break;
        case 'P':
            protocol = strtoul(optarg, NULL, 0);
            break;
        case 'm': {
            char *eq = strchr(optarg, '=');
            if (eq == NULL || nmac == MAX_ITEMS) {
                fprintf(stderr, "milter-client: -m name=value\n");
                return 2;
            }
            *eq = '\0';
            macros[2 * nmac] = optarg;
            macros[2 * nmac + 1] = eq + 1;
            nmac++;
            break;
        }
        case 'f':
            sender = optarg;
            break;
        case 'h':
            if (strchr(optarg, ':') == NULL || nhdr == MAX_ITEMS) {
                fprintf(stderr, "milter-client: -h \"Name: value\"\n");
                return 2;
            }
            headers[nhdr++] = optarg;
            break;
        case 'n':
            count = atoi(optarg);
            break;
        case 's':
            pause = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: milter-client [-v] [-A actions] [-P protocol] "
                            "[-m name=value]... [-f sender] [-h \"Name: value\"]... "
                            "[-n count] [-s secs] socket\n");
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "milter-client: socket missing\n");
        return 2;
    }
    macros[2 * nmac] = NULL;
    if (mproto_connect(&m, argv[optind]) != 0 || mproto_negotiate(&m, actions, protocol) != 0)
        goto out;
    if (verbose)
        printf("negotiate: actions=0x%lx protocol=0x%lx\n", m.actions, m.protocol);
    for (int i = 0; i < count; i++) {
        if (mproto_macros(&m, 'M', macros) != 0 || mproto_mail(&m, sender, &r) != 0)
            goto out;
        print_reply("mail", &r);
        if (r.cmd != 'c')
            continue;
        for (size_t h = 0; h < nhdr; h++) {
            char name[256];
            const char *colon = strchr(headers[h], ':'), *v = colon + 1;
            snprintf(name, sizeof(name), "%.*s", (int)(colon - headers[h]), headers[h]);
            if (*v == ' ')
                v++;
            if (mproto_header(&m, name, v, &r) != 0)
                goto out;
            if (r.cmd != 'c')
                print_reply("header", &r);
        }
        if (pause > 0) {
            printf("pause: %d\n", pause);
            fflush(stdout);
            sleep((unsigned)pause);
        }
        if (mproto_eoh(&m, &r) != 0 || mproto_eom(&m, &r) != 0)
            goto out;
        print_reply("eom", &r);
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "milter-client: %s\n", m.err);
    fflush(stdout);
    mproto_close(&m);
    return rc;
}
