/*
 * teststore.h - make and change real authgate stores (authdb, LMDB) for the
 * plugin's tests and benchmark.
 *
 * Every change runs in a child process, as authgatectl would: the test
 * process may hold the plugin's handle on the same store, and LMDB forbids
 * two handles on one environment in a process.
 */
#ifndef TESTSTORE_H
#define TESTSTORE_H

/* Create a store in dir whose "mechanisms" setting is mechs (NULL: the
 * default) and "digest_realm" is realm (NULL: default).  Returns an authdb
 * code. */
int teststore_create(const char *dir, const char *mechs, const char *realm);

/* Set login's password (created if missing).  mechs: the login's override
 * ("" or NULL: follow the store).  Returns an authdb code. */
int teststore_put(const char *dir, const char *login, const char *password, const char *mechs);

/* Disable (1) or enable (0) a login. */
int teststore_disable(const char *dir, const char *login, int disabled);

/* Delete a login. */
int teststore_delete(const char *dir, const char *login);

/* Does the store hold login?  1 yes, 0 no, negative authdb code on error.
 * *disabled (if not NULL) gets its flag. */
int teststore_has(const char *dir, const char *login, int *disabled);

/* Is password login's password (checked against the stored hash)?  An
 * authdb code: AUTHDB_OK, AUTHDB_EMISMATCH, AUTHDB_NOTFOUND, ... */
int teststore_verify(const char *dir, const char *login, const char *password);

/* Overwrite secrets/data.mdb with garbage of the same size. */
int teststore_corrupt(const char *dir);

#endif /* TESTSTORE_H */
