/*
 * fuzz_from.c - libFuzzer target: the From/Sender parser.
 *
 * Feeds the input as a field body to mailbox_parse() and checks what every
 * caller relies on: a parsed field lists 1..MAILBOX_LIST_MAX mailboxes
 * whose addr-spec is local "@" domain, free of CR, LF and NUL, and whose
 * display names and embedded addresses are well-formed UTF-8 without
 * control characters; a refused field lists nothing.  Any violation aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s)
{
    size_t len = strlen(s);

    if (!utf8_valid(s, len))
        abort();
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mailbox_list l;
    int rc = mailbox_parse((const char *)data, size, &l);

    if (rc == 0) {
        if (l.n == 0 || l.n > MAILBOX_LIST_MAX || l.defect != DEFECT_NONE)
            abort();
        for (size_t i = 0; i < l.n; i++) {
            const mailbox *m = &l.mb[i];
            size_t ll = strlen(m->local), dl = strlen(m->domain);
            if (ll == 0 || dl == 0 || strlen(m->addr) != ll + 1 + dl ||
                memcmp(m->addr, m->local, ll) != 0 || m->addr[ll] != '@' ||
                strcmp(m->addr + ll + 1, m->domain) != 0)
                abort();
            if (strpbrk(m->addr, "\r\n") != NULL || m->offset >= size)
                abort();
            check_text(m->addr);
            check_text(m->display);
        }
        for (size_t i = 0; i < l.nembedded; i++) {
            if (strchr(l.embedded[i], '@') == NULL)
                abort();
            check_text(l.embedded[i]);
        }
    } else if (rc == 1) {
        if (l.defect == DEFECT_NONE || l.n != 0 || l.nembedded != 0)
            abort();
    }
    mailbox_list_free(&l);
    return 0;
}
