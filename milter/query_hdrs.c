/*
 * query_hdrs.c - From/Sender fields of a raw header section (see
 * query_hdrs.h).
 */
#include "query_hdrs.h"

#include <string.h>
#include <strings.h>

#include "mailbox.h"

static int name_is(const char *name, size_t n, const char *want)
{
    size_t w = strlen(want);

    while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    return n == w && strncasecmp(name, want, w) == 0;
}

/* End of the field starting at i: the index of the LF that ends it (not
 * followed by SP/HTAB), or len when the section ends without one. */
static size_t field_end(const char *sec, size_t len, size_t i)
{
    const char *lf;

    for (;;) {
        lf = memchr(sec + i, '\n', len - i);
        if (lf == NULL)
            return len;
        i = (size_t)(lf - sec) + 1;
        if (i == len || (sec[i] != ' ' && sec[i] != '\t'))
            return (size_t)(lf - sec);
    }
}

static void keep(size_t count, const char *v, size_t vlen, const char **body, size_t *blen)
{
    if (count != 1)
        return;
    *body = vlen <= MAILBOX_FIELD_MAX ? v : NULL;
    *blen = vlen;
}

int query_hdrs_scan(const char *sec, size_t len, query_hdrs *out, const char **why)
{
    size_t i = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    while (i < len) {
        size_t end = field_end(sec, len, i), vstart, vend;
        const char *colon;
        if (sec[i] == ' ' || sec[i] == '\t') {
            *why = "header section starts with a continuation line";
            goto out;
        }
        colon = memchr(sec + i, ':', end - i);
        if (colon == NULL || memchr(sec + i, '\n', (size_t)(colon - sec) - i) != NULL) {
            *why = "header line without a colon";
            goto out;
        }
        if (colon == sec + i) {
            *why = "header field with an empty name";
            goto out;
        }
        vstart = (size_t)(colon - sec) + 1;
        if (vstart < end && sec[vstart] == ' ')
            vstart++;
        vend = end;
        if (vend < len && vend > vstart && sec[vend - 1] == '\r')
            vend--; /* CR LF ends the field */
        if (name_is(sec + i, (size_t)(colon - sec) - i, "From")) {
            out->nfrom++;
            keep(out->nfrom, sec + vstart, vend - vstart, &out->from, &out->from_len);
        } else if (name_is(sec + i, (size_t)(colon - sec) - i, "Sender")) {
            out->nsender++;
            keep(out->nsender, sec + vstart, vend - vstart, &out->sender, &out->sender_len);
        }
        out->fields++;
        i = end < len ? end + 1 : len;
    }
    rc = 0;
out:
    return rc;
}
