/*
 * defect.c - names and sentences for enum defect (see defect.h).
 */
#include "defect.h"

static const struct {
    const char *name;
    const char *text;
} defects[DEFECT_END_] = {
    [DEFECT_NONE] = {"none", "no defect"},
    [DEFECT_EMPTY] = {"empty", "no mailbox in the field"},
    [DEFECT_TOOLONG] = {"too-long", "field too long"},
    [DEFECT_TOOMANY] = {"too-many", "too many mailboxes"},
    [DEFECT_NUL] = {"nul", "NUL character"},
    [DEFECT_CTRL] = {"control", "control character"},
    [DEFECT_DECODED_CTRL] = {"encoded-control", "control character in an encoded-word"},
    [DEFECT_EOL] = {"bare-eol", "line break that is not folding"},
    [DEFECT_UTF8] = {"utf8", "malformed UTF-8"},
    [DEFECT_UNTERMINATED] = {"unterminated",
                             "unterminated quoted string, comment or domain literal"},
    [DEFECT_NESTING] = {"nesting", "comments nested too deeply"},
    [DEFECT_CHAR] = {"char", "character not allowed here"},
    [DEFECT_GROUP] = {"group", "group syntax"},
    [DEFECT_ROUTE] = {"route", "obsolete source route"},
    [DEFECT_ENCWORD] = {"encoded-address", "encoded-word where an address belongs"},
    [DEFECT_QUOTED_AT] = {"quoted-at", "quoted local part containing @"},
    [DEFECT_OBSOLETE] = {"obsolete", "obsolete address syntax"},
    [DEFECT_NOADDR] = {"no-address", "display name without an address"},
    [DEFECT_SYNTAX] = {"syntax", "syntax error"},
    [DEFECT_BIDI] = {"bidi", "bidirectional override in a name containing @"},
    [DEFECT_EMBEDDED] = {"embedded", "too many addresses in display names"},
};

const char *defect_name(enum defect d)
{
    return (unsigned)d < DEFECT_END_ ? defects[d].name : "unknown";
}

const char *defect_text(enum defect d)
{
    return (unsigned)d < DEFECT_END_ ? defects[d].text : "unknown defect";
}
