/*
 * mailbox.h - parse the body of a From or Sender header field.
 *
 * RFC 5322 mailbox-list (From) / mailbox (Sender) with RFC 6532 UTF-8 and
 * RFC 2047 display names.  Accepted: display names (atoms, quoted strings,
 * the common "J. Doe" dots), angle addresses, bare addr-specs, comments
 * anywhere CFWS may stand (nested, with quoted-pairs), folding whitespace,
 * dot-atom or quoted local parts, dot-atom domains (U-labels too) and
 * domain literals.  Refused, with a defect code, never guessed at: group
 * syntax, obsolete routes, encoded-words in the local part or domain ("=?"
 * anywhere there), quoted local parts containing "@", other obsolete forms
 * (whitespace or comments inside a dot-atom, "a"."b" local parts),
 * NUL, control characters, malformed UTF-8, bare CR/LF, unterminated
 * constructs, fields over MAILBOX_FIELD_MAX octets, more than
 * MAILBOX_LIST_MAX mailboxes, comments nested deeper than MAILBOX_NEST_MAX,
 * control characters inside encoded-words, and a bidi override in a display
 * name or comment that contains "@".
 *
 * Besides the mailboxes, every address-looking token (addrscan.h) found in
 * a display name or comment, raw and RFC 2047-decoded, is listed in
 * embedded[], so the policy can check that names claim no address the login
 * may not use.  More than MAILBOX_EMBEDDED_MAX distinct tokens is a defect.
 */
#ifndef AUTHGATE_MAILBOX_H
#define AUTHGATE_MAILBOX_H

#include <stddef.h>

#include "defect.h"
#include "sbuf.h"

#define MAILBOX_FIELD_MAX    4096 /* octets of a field body */
#define MAILBOX_LIST_MAX     32   /* mailboxes in one field */
#define MAILBOX_NEST_MAX     16   /* comment nesting depth */
#define MAILBOX_EMBEDDED_MAX 16   /* distinct addresses in names and comments */

typedef struct mailbox {
    const char *addr;    /* addr-spec as written: local "@" domain, no CFWS */
    const char *local;   /* local part as written (quotes kept, unfolded) */
    const char *domain;  /* domain as written */
    const char *display; /* decoded display name (UTF-8), "" when none */
    size_t offset;       /* where the mailbox starts in the field */
} mailbox;

typedef struct mailbox_list {
    enum defect defect; /* DEFECT_NONE when the field parsed */
    size_t where;       /* offset of the defect in the field */
    size_t n;           /* mailboxes (0 when defect is set) */
    mailbox mb[MAILBOX_LIST_MAX];
    size_t nembedded; /* address-looking tokens in names and comments */
    const char *embedded[MAILBOX_EMBEDDED_MAX];
    /* private */
    sbuf arena;
    size_t off_[MAILBOX_LIST_MAX][4];
    size_t emb_off_[MAILBOX_EMBEDDED_MAX];
} mailbox_list;

/* Parse field[0..len) into *out (caller-provided, no initialization
 * needed; release with mailbox_list_free whatever the result).  Returns 0
 * when it parsed, 1 when out->defect says why not, -1 when out of memory.
 * Pure and thread-safe. */
int mailbox_parse(const char *field, size_t len, mailbox_list *out);
void mailbox_list_free(mailbox_list *l);

#endif
