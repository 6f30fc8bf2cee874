/*
 * privs.h - users, groups and privileges of the daemon: who to run as,
 * dropping root for good, and keeping secrets out of core dumps.
 */
#ifndef AUTHD_PRIVS_H
#define AUTHD_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct privs_user {
    char name[64];
    uid_t uid;
    gid_t gid; /* primary group */
} privs_user;

/* What to do about the process's identity (privs_plan()). */
enum privs_plan {
    PRIVS_DROP = 1,  /* root: switch to authd_user after binding */
    PRIVS_KEEP_ROOT, /* root, and authd_user is "root": stay (allowed, logged) */
    PRIVS_KEEP_SELF, /* not root: run as the invoking user */
    PRIVS_REFUSE,    /* root without a usable authd_user */
};

/* Decide from the effective uid and the configured user name (may be
 * empty).  Pure. */
enum privs_plan privs_plan(uid_t euid, const char *authd_user);

/* Look up a user or group by name (or decimal id).  Returns 0, ENOENT for
 * an unknown name, or an errno value; why gets a sentence. */
int privs_user_lookup(const char *name, privs_user *out, char *why, size_t whylen);
int privs_group_lookup(const char *name, gid_t *out, char *why, size_t whylen);

/* Become u for good: supplementary groups from the group database
 * (initgroups), then real/effective/saved gid and uid.  Checks that root
 * cannot be regained.  Returns 0 or an errno value with why. */
int privs_drop(const privs_user *u, char *why, size_t whylen);

/* No core dumps: RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 (which also keeps
 * other processes of the same user from ptrace-attaching).  Call again
 * after privs_drop(): a uid change resets the dumpable flag. */
int privs_no_core(char *why, size_t whylen);

#endif /* AUTHD_PRIVS_H */
