/*
 * tu.h - test utilities for suites that need a real store (authdb, plugin,
 * milter, tools tests).  Not part of any installed program.
 *
 * Every helper aborts the test (cmocka's fail) on unexpected errors of its
 * own, and returns the authdb status of the operation under test.
 */
#ifndef AUTHDB_TU_H
#define AUTHDB_TU_H

#include <stddef.h>

#include "authdb.h"

/* A fresh temp dir (removed by tu_cleanup), path into buf. */
void tu_tmpdir(char *buf, size_t sz);
/* A fresh store in <tmpdir>/store; settings: key, value, ..., NULL. */
void tu_new_store(char *buf, size_t sz, const char *const *settings);
void tu_cleanup(void);

int tu_mode(const char *path);
int tu_gid(const char *path);
int tu_count_entries(const char *dir);

/* Raw LMDB writes behind authdb's back (corruption, foreign data). */
void tu_raw_del(const char *envdir, const char *db, const char *key);
void tu_raw_meta_put(const char *envdir, const char *key, const void *val, size_t len);
void tu_raw_put(const char *envdir, const char *db, const char *key, const void *val, size_t len);

/* One authdb_write each. */
int tu_add_user(authdb *h, const char *login, const char *password, int mode);
int tu_put(authdb *h, const char *login, const authdb_secrets *s, int mode);
int tu_set_flags(authdb *h, const char *login, unsigned set, unsigned clear);
int tu_del_user(authdb *h, const char *login);
int tu_set_mechs(authdb *h, const char *login, unsigned mechs);
int tu_setting(authdb *h, const char *key, const char *value);
int tu_domain(authdb *h, const char *domain, int add);

struct tu_rule {
    const char *login;
    int action;
    const char *pattern;
};
/* Add rules until one with login == NULL. */
int tu_add_rules(authdb *h, const struct tu_rule *rules);

/* Comma-joined authdb_senders_for() result. */
int tu_senders(authdb *h, const char *address, char *buf, size_t sz);

/* Users user<i>@bulk.test for i in [from, to), with an imported hash (fast). */
int tu_bulk_users(authdb *h, unsigned from, unsigned to);
int tu_lookup_bulk(authdb *h, unsigned i);

#endif
