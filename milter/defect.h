/*
 * defect.h - why a From or Sender field body was refused.
 *
 * One code per class of malformed or hostile syntax the parser detects;
 * defect_name() gives a short token for logs and tests, defect_text() a
 * sentence for SMTP replies.  Both return static strings.
 */
#ifndef AUTHGATE_DEFECT_H
#define AUTHGATE_DEFECT_H

enum defect {
    DEFECT_NONE = 0,
    DEFECT_EMPTY,        /* no mailbox at all */
    DEFECT_TOOLONG,      /* field longer than MAILBOX_FIELD_MAX */
    DEFECT_TOOMANY,      /* more than MAILBOX_LIST_MAX mailboxes */
    DEFECT_NUL,          /* NUL octet */
    DEFECT_CTRL,         /* other control character (raw) */
    DEFECT_DECODED_CTRL, /* control character inside an encoded-word */
    DEFECT_EOL,          /* CR or LF not part of folding */
    DEFECT_UTF8,         /* malformed UTF-8 */
    DEFECT_UNTERMINATED, /* unterminated quoted string, comment or literal */
    DEFECT_NESTING,      /* comments nested deeper than MAILBOX_NEST_MAX */
    DEFECT_CHAR,         /* character not allowed where it stands */
    DEFECT_GROUP,        /* group syntax "name: ... ;" */
    DEFECT_ROUTE,        /* obsolete route "<@a,@b:u@d>" */
    DEFECT_ENCWORD,      /* encoded-word where an address belongs */
    DEFECT_QUOTED_AT,    /* quoted local part containing "@" */
    DEFECT_OBSOLETE,     /* other obsolete address syntax */
    DEFECT_NOADDR,       /* a display name without an address */
    DEFECT_SYNTAX,       /* anything else RFC 5322 does not allow */
    DEFECT_BIDI,         /* bidi override in a display name holding "@" */
    DEFECT_EMBEDDED,     /* more than MAILBOX_EMBEDDED_MAX addresses in names */
    DEFECT_END_
};

const char *defect_name(enum defect d);
const char *defect_text(enum defect d);

#endif
