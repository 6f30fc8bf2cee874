/*
 * msg.c - per-message header collector (see msg.h).
 */
#include "msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "mailbox.h"

void msg_init(msg *m)
{
    memset(m, 0, sizeof(*m));
    sbuf_init(&m->from, MAILBOX_FIELD_MAX);
    sbuf_init(&m->sender, MAILBOX_FIELD_MAX);
}

void msg_reset(msg *m)
{
    m->nfrom = m->nsender = m->nauthres = m->nours = m->nverdict = 0;
    m->from_toolong = m->sender_toolong = m->overflow = m->oom = 0;
    sbuf_reset(&m->from);
    sbuf_reset(&m->sender);
}

void msg_free(msg *m)
{
    sbuf_free(&m->from);
    sbuf_free(&m->sender);
    free(m->ours);
    memset(m, 0, sizeof(*m));
}

static int name_is(const char *name, const char *want)
{
    size_t n = strlen(name), w = strlen(want);

    while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    return n == w && strncasecmp(name, want, w) == 0;
}

/* Keep the first body of a field in b. */
static void keep(msg *m, sbuf *b, size_t count, int *toolong, const char *value)
{
    if (count != 1)
        return;
    if (sbuf_adds(b, value) == 0)
        return;
    if (sbuf_error(b) == E2BIG)
        *toolong = 1;
    else
        m->oom = 1;
}

static void add_ours(msg *m, unsigned pos)
{
    if (m->nours == MSG_AUTHRES_MAX) {
        m->overflow = 1;
        return;
    }
    if (m->nours == m->ours_cap) {
        size_t cap = m->ours_cap ? m->ours_cap * 2 : 8;
        unsigned *n = realloc(m->ours, cap * sizeof(*n));
        if (n == NULL) {
            m->oom = 1;
            return;
        }
        m->ours = n;
        m->ours_cap = cap;
    }
    m->ours[m->nours++] = pos;
}

void msg_header(msg *m, const char *name, const char *value, const char *authserv_id)
{
    if (name == NULL || value == NULL)
        return;
    if (name_is(name, "From")) {
        m->nfrom++;
        keep(m, &m->from, m->nfrom, &m->from_toolong, value);
    } else if (name_is(name, "Sender")) {
        m->nsender++;
        keep(m, &m->sender, m->nsender, &m->sender_toolong, value);
    } else if (name_is(name, MSG_AUTHRES_HEADER)) {
        m->nauthres++;
        if (authres_is_ours(value, strlen(value), authserv_id))
            add_ours(m, (unsigned)m->nauthres);
    } else if (name_is(name, MSG_VERDICT_HEADER)) {
        m->nverdict++;
    }
}

const char *msg_from(const msg *m, size_t *len)
{
    *len = m->from.len;
    return m->nfrom > 0 && !m->from_toolong ? sbuf_str(&m->from) : NULL;
}

const char *msg_sender(const msg *m, size_t *len)
{
    *len = m->sender.len;
    return m->nsender > 0 && !m->sender_toolong ? sbuf_str(&m->sender) : NULL;
}
