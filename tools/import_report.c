/*
 * import_report.c - the problem report of every import (see import.h).
 *
 * Interface: import_report_init, import_report_add, import_report_print,
 * import_report_free.  Problems are kept with their line, severity and
 * login and printed in line order, as "FILE:LINE: error: LOGIN: text" on
 * standard error or as the "problems" array of the JSON document.  When a
 * problem cannot be recorded (out of memory) it is still counted, and the
 * report says that some are missing.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"

void import_report_init(import_report *r, const char *file)
{
    memset(r, 0, sizeof(*r));
    r->file = file;
}

void import_report_free(import_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->p[i].login);
        free(r->p[i].msg);
    }
    free(r->p);
    memset(r, 0, sizeof(*r));
}

void import_report_add(import_report *r, unsigned line, enum import_severity sev, const char *login,
                       const char *fmt, ...)
{
    import_problem *p;
    va_list ap;
    char msg[1024];

    if (sev == IMPORT_ERROR)
        r->errors++;
    else
        r->warnings++;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        import_problem *np = realloc(r->p, cap * sizeof(*np));
        if (np == NULL) {
            r->oom = 1;
            return;
        }
        r->p = np;
        r->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p = &r->p[r->n];
    p->line = line;
    p->sev = sev;
    p->login = login != NULL ? strdup(login) : NULL;
    p->msg = strdup(msg);
    if (p->msg == NULL || (login != NULL && p->login == NULL)) {
        free(p->login);
        free(p->msg);
        r->oom = 1;
        return;
    }
    r->n++;
}

static int import_problem_cmp(const void *a, const void *b)
{
    const import_problem *x = a, *y = b;

    return x->line < y->line ? -1 : x->line > y->line;
}

void import_report_print(cli *c, import_report *r)
{
    if (r->n > 1)
        qsort(r->p, r->n, sizeof(r->p[0]), import_problem_cmp);
    if (c->json) {
        json_key(&c->j, "problems");
        json_array_begin(&c->j);
    }
    for (size_t i = 0; i < r->n; i++) {
        const import_problem *p = &r->p[i];
        const char *sev = p->sev == IMPORT_ERROR ? "error" : "warning";
        if (c->json) {
            json_object_begin(&c->j);
            json_kv_uint(&c->j, "line", p->line);
            json_kv_string(&c->j, "severity", sev);
            json_kv_string(&c->j, "login", p->login);
            json_kv_string(&c->j, "message", p->msg);
            json_object_end(&c->j);
        } else {
            fprintf(c->err, "%s:%u: %s: %s%s%s\n", r->file, p->line, sev,
                    p->login != NULL ? p->login : "", p->login != NULL ? ": " : "", p->msg);
        }
    }
    if (c->json)
        json_array_end(&c->j);
    if (r->oom)
        fprintf(c->err, "%s: some problems could not be listed (out of memory)\n", r->file);
}
