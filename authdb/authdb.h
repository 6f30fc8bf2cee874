/*
 * authdb.h - the authgate credential and policy store.
 *
 * One store is one directory holding two LMDB environments:
 *
 *   secrets/  per-login password hash, derived SASL secrets, flags.
 *             Read by the SASL plugin and authgate-authd (group
 *             "secrets_group"), written only by authgatectl.
 *   policy/   per-login send-as rules, local domains, the settings the
 *             milter needs.  Read by the milter and the query service
 *             (group "policy_group"), written only by authgatectl.
 *
 * A handle opens one or both environments.  Read-only handles need only
 * group access.  Handles are safe to use from several threads at once
 * (MDB_NOTLS, every read transaction lives inside one call or one
 * authdb_txn) and survive fork(): a child that uses a handle opened by its
 * parent gets a fresh environment of its own, and the parent's is never
 * touched.  Never open the same store twice in one process.
 *
 * Every function returning int returns AUTHDB_OK (0) or a status code:
 * one of enum authdb_status (negative, below -31000), an LMDB error code
 * (-30799..-30780, see lmdb.h), or a positive errno value.  authdb_strerror()
 * names all three.  Lookups are tri-state: AUTHDB_OK (found),
 * AUTHDB_NOTFOUND, or any other code, which callers must treat as a
 * temporary failure (authdb_is_tempfail() says which codes are).
 *
 * The library never prints, never exits and keeps no global state; it
 * knows nothing of SASL or libmilter.
 */
#ifndef AUTHDB_H
#define AUTHDB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------
 * Limits.  Inputs beyond them are refused with AUTHDB_ETOOLONG, never
 * truncated.
 */
#define AUTHDB_LOCAL_MAX    64  /* octets of a local part */
#define AUTHDB_DOMAIN_MAX   253 /* octets of a domain, A-label form */
#define AUTHDB_LOGIN_MAX    320 /* octets of a normalized login or address */
#define AUTHDB_PASSWORD_MAX 511 /* octets of a cleartext password (libxcrypt: < 512) */
#define AUTHDB_PATTERN_MAX  AUTHDB_LOGIN_MAX
#define AUTHDB_RULES_MAX    1000 /* send-as rules per login */
#define AUTHDB_REALM_MAX    255  /* octets of a DIGEST-MD5 realm */
#define AUTHDB_HASH_MAX     255  /* octets of a crypt(3) hash string */
#define AUTHDB_SETTING_MAX  255  /* octets of a setting's value */
#define AUTHDB_WHY_MAX      256  /* a good size for "why" buffers */

/* Buffer size that holds any normalized login or address plus NUL. */
#define AUTHDB_NAME_BUFSZ (AUTHDB_LOGIN_MAX + 1)

enum authdb_status {
    AUTHDB_OK = 0,
    AUTHDB_NOTFOUND = -31000, /* no such login, rule, domain or setting */
    AUTHDB_EINVAL,            /* malformed login, address, pattern or value */
    AUTHDB_ETOOLONG,          /* input longer than a documented limit */
    AUTHDB_ENOSTORE,          /* store directory or environment missing */
    AUTHDB_EFOREIGN,          /* directory is not an authgate store */
    AUTHDB_ENEWER,            /* store schema newer than this build reads */
    AUTHDB_ECORRUPT,          /* record or meta data fails validation */
    AUTHDB_EEXIST,            /* already exists */
    AUTHDB_ERDONLY,           /* write through a read-only handle */
    AUTHDB_ENOENV,            /* handle did not open the env the call needs */
    AUTHDB_EHASH,             /* crypt(3) or KDF failure */
    AUTHDB_EMISMATCH,         /* password does not match */
    AUTHDB_EDISABLED,         /* login is disabled */
    AUTHDB_ELIMIT,            /* a count limit (rules per login, ...) */
    AUTHDB_EBUSY,             /* transaction already active / retries exhausted */
    AUTHDB_ENOMEM,            /* out of memory */
    AUTHDB_EPERM,             /* permission denied on a store file */
    AUTHDB_EMANAGED,          /* local write to a store that follows a central one */
    AUTHDB_EREMOTE,           /* the central (PostgreSQL) store failed or is unreachable */
    AUTHDB_STATUS_END_
};

/* Human-readable text for any code (authdb, LMDB or errno).  Never NULL;
 * the string is static. */
const char *authdb_strerror(int code);

/* Non-zero when code must be reported as a temporary failure (4xx, SASL_FAIL,
 * "NO temporary ...").  False for OK, NOTFOUND, EINVAL, ETOOLONG, EMISMATCH,
 * EDISABLED, EEXIST, ELIMIT, ERDONLY, EMANAGED. */
int authdb_is_tempfail(int code);

/* ---------------------------------------------------------------------
 * Normalization (normalize.c): the one place logins and addresses become
 * keys.  Pure functions; they do not need a handle.
 *
 * Domains: lowercased, trailing dot removed, U-labels converted to IDNA
 * A-labels (libidn2, IDNA2008 with UTS#46 non-transitional mapping);
 * A-labels are validated.  Address literals ([192.0.2.1], [IPv6:...]) are
 * accepted as written, lowercased.
 * Local parts: a quoted local part whose content is a valid dot-atom is
 * unquoted ("john"@x == john@x); otherwise it is kept in minimal quoted form.
 * Unless case_sensitive, the local part is case-folded (ASCII tolower; UTF-8
 * local parts are NFC-normalized and case-folded).
 * Subaddress: with strip_subaddress and a delimiter set, everything from the
 * first delimiter in the local part is removed ("a+tag" -> "a"); a local part
 * that starts with a delimiter, or whose stripped form would end in a dot,
 * is left alone.
 * Logins are a bare local part ("alice") or an address ("alice@example.com");
 * subaddresses are never stripped from logins.
 */
typedef struct authdb_norm {
    int case_sensitive;        /* 0: fold local parts (default) */
    char subaddress_delims[9]; /* NUL-terminated set, e.g. "+"; "" = none */
} authdb_norm;

/* The defaults: case-insensitive local parts, delimiter "+". */
void authdb_norm_defaults(authdb_norm *n);

/* Normalize a login.  in need not be NUL-terminated.  On success writes a
 * NUL-terminated key of *outlen octets to out (outsz >= AUTHDB_NAME_BUFSZ is
 * always enough).  Errors: AUTHDB_EINVAL (syntax; *why, if given, gets a
 * static explanation), AUTHDB_ETOOLONG. */
int authdb_norm_login(const authdb_norm *n, const char *in, size_t inlen, char *out, size_t outsz,
                      size_t *outlen, const char **why);

/* Normalize an address (local@domain, required).  strip_subaddress as
 * described above.  Same contract as authdb_norm_login. */
int authdb_norm_address(const authdb_norm *n, const char *in, size_t inlen, int strip_subaddress,
                        char *out, size_t outsz, size_t *outlen, const char **why);

/* Normalize a bare domain to its A-label key. */
int authdb_norm_domain(const char *in, size_t inlen, char *out, size_t outsz, size_t *outlen,
                       const char **why);

/* ---------------------------------------------------------------------
 * Handles (store.c).
 */
typedef struct authdb authdb;

enum authdb_open_flags {
    AUTHDB_SECRETS = 1 << 0, /* open the secrets environment */
    AUTHDB_POLICY = 1 << 1,  /* open the policy environment */
    AUTHDB_WRITE = 1 << 2,   /* open read-write (authgatectl only) */
    AUTHDB_FORCE = 1 << 3,   /* write even if authgate-sync manages the store */
    AUTHDB_BOTH = AUTHDB_SECRETS | AUTHDB_POLICY,
};

/* Open the store in directory dir.  flags: at least one of AUTHDB_SECRETS,
 * AUTHDB_POLICY, optionally AUTHDB_WRITE and AUTHDB_FORCE.
 * dir may instead be a PostgreSQL URI ("postgresql://..." or
 * "postgres://...", libpq syntax) in programs that linked the authdb_pg
 * library (authdb_pg.h); elsewhere such a URI is AUTHDB_ENOSTORE.
 * A store that authgate-sync keeps in step with a central one ("managed")
 * refuses authdb_write() with AUTHDB_EMANAGED unless opened with
 * AUTHDB_FORCE; a forced write is recorded in the store so that the sync
 * stops and reports the drift until an explicit resync.  Creates no files: a missing store
 * or environment is AUTHDB_ENOSTORE.  Checks format and schema
 * (AUTHDB_EFOREIGN, AUTHDB_ENEWER), clears stale reader slots.  When the
 * reader table is full of live readers, a read-only open still succeeds
 * (the files are open, so the handle keeps working after a chroot or a
 * privilege drop) and the checks run at the first read transaction that
 * gets a slot; until then transactions fail with a temporary failure
 * (MDB_READERS_FULL), and a failed check is that transaction's error.  On failure
 * *out is NULL and, when why is non-NULL, why gets a sentence naming the path
 * and the problem.  The handle is freed with authdb_close(). */
int authdb_open(const char *dir, unsigned flags, authdb **out, char *why, size_t whylen);

/* authdb_open with a logger (may be NULL) that the handle keeps, by
 * pointer, until authdb_close: the store logs through it what happens
 * behind the caller's back (a change completed after a crash, see
 * authdb_write).  lg must outlive the handle. */
struct authdb_log;
int authdb_open_log(const char *dir, unsigned flags, const struct authdb_log *lg, authdb **out,
                    char *why, size_t whylen);

/* Close a handle; NULL is fine.  In a process that forked after the open,
 * only the child's own environment is closed (the parent's is left alone). */
void authdb_close(authdb *h);

/* The directory the handle was opened on (owned by the handle). */
const char *authdb_path(const authdb *h);

/* Options for authdb_create(). */
typedef struct authdb_create_opts {
    gid_t secrets_gid; /* group of secrets/ ((gid_t)-1: keep the process's) */
    gid_t policy_gid;  /* group of policy/ ((gid_t)-1: keep the process's) */
    size_t mapsize;    /* initial map size in bytes (0: default, 64 MiB) */
    /* Initial settings as key/value pairs ending with a NULL key; every key
     * must be one authdb_setting_info() knows.  May be NULL. */
    const char *const *settings;
} authdb_create_opts;

/* Create a new, empty store in dir (created if missing, mode 0755; an
 * existing authgate store is AUTHDB_EEXIST).  Modes are set explicitly,
 * whatever the umask:
 *   dir/secrets/          0750 root:secrets_gid   (setgid bit off)
 *   dir/secrets/data.mdb  0640, lock.mdb 0660
 *   dir/policy/           0750 root:policy_gid
 *   dir/policy/data.mdb   0640, lock.mdb 0660
 * When the caller is not root, ownership is the caller's. */
int authdb_create(const char *dir, const authdb_create_opts *opts, char *why, size_t whylen);

/* ---------------------------------------------------------------------
 * Transactions.  Read functions take an optional txn: NULL means "one short
 * read transaction just for this call".  Pass a txn to see one consistent
 * snapshot across several calls (the milter's per-message decision).  Keep
 * read transactions short: they pin old pages.
 */
typedef struct authdb_txn authdb_txn;

/* Begin a read transaction over the environments named by envs (subset of
 * the handle's).  End it with authdb_txn_end() in the same thread. */
int authdb_read_begin(authdb *h, unsigned envs, authdb_txn **out);
/* End a read transaction; NULL is fine. */
void authdb_txn_end(authdb_txn *txn);

/* Run fn inside one write transaction per environment of the handle, then
 * commit them: secrets first, then policy.  The two environments are two
 * LMDB files, so the commits are two steps; the write is still one
 * transaction across them:
 *  - each environment's part is atomic on its own: no reader ever sees
 *    half of one environment's part;
 *  - a write that changed both environments first records its policy
 *    changes (a journal) in the secrets commit.  If the process dies
 *    between the two commits, the next writer completes the policy part
 *    before anything else: any authgatectl command that opens the store for
 *    writing, authgate-sync's next round, any authdb_write, and
 *    authdb_open with AUTHDB_WRITE on both environments (logged at
 *    LOG_NOTICE through the handle's logger, authdb_open_log).  A read-only
 *    handle never writes; authdb_check reports the pending change as a
 *    warning.
 *  - until then, and for the instant between the commits of a running
 *    write, readers may see secrets ahead of policy.  For "user add" the
 *    login can already authenticate before its policy note (and any rule
 *    the same command adds) exists: authdb_senders_for does not list it
 *    as the user of its own address yet and no rule the command adds
 *    allows anything yet: send-as beyond what the login had fails closed.  For "user del" the login
 * can no longer authenticate while its rules linger, unusable, until completion. A writer whose
 * handle has only the policy environment cannot see a pending journal: its changes may be
 * overwritten by the completion of an earlier interrupted write that touched the same keys
 * (authgatectl opens both for every command that writes policy). If fn returns non-zero, everything
 * is aborted and that code returned. When an environment's map is full, everything is aborted, the
 * map grown and fn run again from the start: fn must depend only on arg and the store (reset any
 * output it accumulates at entry).  Requires an AUTHDB_WRITE handle. */
typedef int (*authdb_write_fn)(authdb_txn *txn, void *arg);
int authdb_write(authdb *h, authdb_write_fn fn, void *arg);

/* ---------------------------------------------------------------------
 * Settings (settings.c).  A fixed table of keys; each lives in one env
 * (local_part_case in both, kept equal).  Values are text.
 *
 *   mechanisms          secrets  which secrets a new password derives:
 *                                SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5
 *                                DIGEST-MD5 PLAIN CLEARTEXT
 *                                (default "SCRAM-SHA-256 SCRAM-SHA-1")
 *   scram_iterations    secrets  PBKDF2 iterations, >= 4096 (default 4096)
 *   password_hash       secrets  yescrypt | bcrypt | sha512-crypt
 *   digest_realm        secrets  realm for DIGEST-MD5 H(A1) (default "")
 *   local_part_case     both     insensitive | sensitive
 *   subaddress_delimiter policy  set of delimiter characters, "" = none ("+")
 *   self_send           policy   yes | no: an address login may send as
 *                                itself (default yes)
 */
typedef struct authdb_setting_info {
    const char *key;
    const char *default_value;
    const char *description; /* one line, for --help and man pages */
    unsigned envs;           /* AUTHDB_SECRETS and/or AUTHDB_POLICY */
} authdb_setting_info;

/* The i-th setting (0-based), or NULL past the end. */
const authdb_setting_info *authdb_setting_info_at(size_t i);
/* The setting named key, or NULL. */
const authdb_setting_info *authdb_setting_info_find(const char *key);

/* Validate and canonicalize a value for key (e.g. mechanism names upper-case,
 * deduplicated, in canonical order).  out gets the canonical text. */
int authdb_setting_check(const char *key, const char *value, char *out, size_t outsz,
                         const char **why);

/* Read a setting (stored value or default).  AUTHDB_NOTFOUND for an unknown
 * key; AUTHDB_ENOENV if the handle lacks the env that holds it. */
int authdb_setting_get(authdb *h, authdb_txn *txn, const char *key, char *out, size_t outsz);

/* Write a setting inside authdb_write().  The value is checked and
 * canonicalized.  local_part_case can only change while the store holds no
 * users and no rules (AUTHDB_EBUSY otherwise: keys depend on it). */
int authdb_setting_set(authdb_txn *txn, const char *key, const char *value, const char **why);

/* The store's normalization rules (local_part_case, subaddress_delimiter),
 * read from whichever env the handle has.  Readers cache nothing: call per
 * lookup or per message (it is cheap). */
int authdb_norm_get(authdb *h, authdb_txn *txn, authdb_norm *out);

/* ---------------------------------------------------------------------
 * Secrets (secret.c, pwhash.c, scram.c, legacy.c).
 */
enum authdb_mech {
    AUTHDB_MECH_SCRAM_SHA256 = 1 << 0,
    AUTHDB_MECH_SCRAM_SHA1 = 1 << 1,
    AUTHDB_MECH_CRAM_MD5 = 1 << 2,
    AUTHDB_MECH_DIGEST_MD5 = 1 << 3,
    AUTHDB_MECH_PLAIN = 1 << 4,     /* legacy cmusaslsecretPLAIN salted MD5 */
    AUTHDB_MECH_CLEARTEXT = 1 << 5, /* userPassword: opt-in only */
    AUTHDB_MECH_ALL_ = (1 << 6) - 1,
};

/* Parse "SCRAM-SHA-256 CRAM-MD5 ..." (space or comma separated, any case)
 * into a mask; format a mask back in canonical order. */
int authdb_mechs_parse(const char *text, unsigned *mask, const char **why);
void authdb_mechs_format(unsigned mask, char *out, size_t outsz);

enum authdb_secret_kind {
    AUTHDB_SECRET_HASH = 1,     /* crypt(3) string: $y$..., $2b$..., $6$... */
    AUTHDB_SECRET_SCRAM_SHA256, /* "SCRAM-SHA-256$<iter>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>"
                                 */
    AUTHDB_SECRET_SCRAM_SHA1,   /* same, "SCRAM-SHA-1$..." */
    AUTHDB_SECRET_CRAM_MD5,     /* 32 octets: HMAC-MD5 istate[4], ostate[4], network order */
    AUTHDB_SECRET_DIGEST_MD5,   /* 16 octets: MD5(login ":" realm ":" password) */
    AUTHDB_SECRET_PLAIN,        /* 33 octets: salt[16] NUL MD5(salt "sasldb" password) */
    AUTHDB_SECRET_CLEARTEXT,    /* the password itself (opt-in) */
    AUTHDB_SECRET_KIND_END_
};

/* Flags of a login. */
enum authdb_user_flags {
    AUTHDB_USER_DISABLED = 1 << 0,
};

/* A set of secrets for one login: derived from a password, built from an
 * imported hash, or read from the store.  Opaque; owns copies of every value
 * and wipes them on free. */
typedef struct authdb_secrets authdb_secrets;

/* Parameters for deriving secrets; get the store's with
 * authdb_derive_params_get() and override fields as needed. */
typedef struct authdb_derive_params {
    unsigned mechs;            /* AUTHDB_MECH_* mask */
    unsigned scram_iterations; /* >= 4096 */
    char password_hash[16];    /* "yescrypt", "bcrypt", "sha512-crypt" */
    char digest_realm[AUTHDB_REALM_MAX + 1];
} authdb_derive_params;

int authdb_derive_params_get(authdb *h, authdb_txn *txn, authdb_derive_params *out);

/* The store's parameters with a login's own mechanisms override applied
 * (an unknown login gets the store's). */
int authdb_derive_params_for(authdb *h, authdb_txn *txn, const char *login, size_t len,
                             authdb_derive_params *out);

/* Derive every secret p asks for from a cleartext password, for the
 * normalized login (DIGEST-MD5 hashes the login as given).  Pure: no store
 * access, safe to call from many threads at once (slow: one crypt(3) plus one
 * PBKDF2 per SCRAM variant).  password is not retained except as
 * AUTHDB_SECRET_CLEARTEXT when p->mechs asks for it. */
int authdb_secrets_derive(const authdb_derive_params *p, const char *login, const char *password,
                          size_t pwlen, authdb_secrets **out);

/* Secrets holding only an imported crypt(3) hash ($y$, $2a$/$2b$/$2y$,
 * $6$, $5$, $1$ accepted; the string is validated).  Such a login can use
 * PLAIN/LOGIN through authgate-authd only, until its next password change. */
int authdb_secrets_from_hash(const char *crypt_hash, authdb_secrets **out);

/* An empty set, to fill with authdb_secrets_add() (migrations that carry
 * stored values, not cleartext). */
int authdb_secrets_new(authdb_secrets **out);

/* Add one value of a kind the set does not hold yet, in the format the kind
 * has in the list above (checked: AUTHDB_EINVAL for a malformed value,
 * AUTHDB_EEXIST for a kind already present).  For AUTHDB_SECRET_DIGEST_MD5
 * the realm the H(A1) was computed for goes in realm (else NULL). */
int authdb_secrets_add(authdb_secrets *s, enum authdb_secret_kind kind, const void *val, size_t len,
                       const char *realm);

void authdb_secrets_free(authdb_secrets *s);

/* The value of one kind: AUTHDB_OK with *val and *len pointing into s (valid
 * until authdb_secrets_free; NUL-terminated for text kinds), or
 * AUTHDB_NOTFOUND. */
int authdb_secrets_value(const authdb_secrets *s, enum authdb_secret_kind kind, const void **val,
                         size_t *len);
/* Bit (1 << kind) set for every kind present. */
unsigned authdb_secrets_kinds(const authdb_secrets *s);
/* Flags (AUTHDB_USER_*) and last-change time of secrets read from the store. */
unsigned authdb_secrets_flags(const authdb_secrets *s);

/* Fetch everything the store holds for a login in one short read
 * transaction (the SASL plugin's lookup).  login is normalized here with the
 * store's rules; it need not be NUL-terminated.  AUTHDB_OK with *out set,
 * AUTHDB_NOTFOUND, AUTHDB_EINVAL/ETOOLONG for a login that cannot exist, or a
 * temporary failure.  Disabled logins are returned (check the flags). */
int authdb_secrets_lookup(authdb *h, const char *login, size_t len, authdb_secrets **out);

/* Verify a cleartext password for a login against its hash, in constant
 * time with respect to the password, and at the cost of one hash whether or
 * not the login exists (a dummy hash for unknown logins).  Returns
 * AUTHDB_OK, AUTHDB_EMISMATCH, AUTHDB_NOTFOUND (unknown login: the caller
 * must answer it exactly like EMISMATCH), AUTHDB_EDISABLED (password was
 * right or wrong: the caller cannot tell and must not), or a temporary
 * failure.  The password is never copied. */
int authdb_verify_password(authdb *h, const char *login, size_t len, const char *password,
                           size_t pwlen);

/* ---------------------------------------------------------------------
 * Users (user.c).  Writers take the txn given to an authdb_write() callback.
 */
typedef struct authdb_user {
    char login[AUTHDB_NAME_BUFSZ]; /* normalized */
    unsigned flags;                /* AUTHDB_USER_* */
    unsigned kinds;                /* (1 << AUTHDB_SECRET_*) present */
    unsigned mechs_override;       /* 0 = the store's mechanisms setting */
    int64_t created;               /* Unix time */
    int64_t changed;               /* Unix time of the last password change */
    char hash_scheme[16];          /* "yescrypt", "bcrypt", "sha512-crypt", ... */
} authdb_user;

/* Read one user's metadata (no secrets). */
int authdb_user_get(authdb *h, authdb_txn *txn, const char *login, size_t len, authdb_user *out);

enum authdb_put_mode {
    AUTHDB_PUT_CREATE = 1,  /* fail with AUTHDB_EEXIST if the login exists */
    AUTHDB_PUT_REPLACE = 2, /* fail with AUTHDB_NOTFOUND unless it exists */
    AUTHDB_PUT_UPSERT = 3,
};

/* Store secrets for a login (normalized here).  Replacing keeps flags,
 * created time and mechs override.  The txn must cover both environments
 * (AUTHDB_ENOENV otherwise): the policy environment notes that the login
 * exists, for authdb_senders_for.  A set without AUTHDB_SECRET_HASH is
 * AUTHDB_EINVAL. */
int authdb_user_put(authdb_txn *txn, const char *login, size_t len, const authdb_secrets *s,
                    enum authdb_put_mode mode);

/* Delete a login's secrets and its send-as rules (both envs: needs a handle
 * with both).  AUTHDB_NOTFOUND if it has neither. */
int authdb_user_del(authdb_txn *txn, const char *login, size_t len);

/* Set or clear AUTHDB_USER_* flags; set the per-user mechanisms override
 * (0 = follow the store).  AUTHDB_NOTFOUND for unknown logins. */
int authdb_user_set_flags(authdb_txn *txn, const char *login, size_t len, unsigned set,
                          unsigned clear);
int authdb_user_set_mechs(authdb_txn *txn, const char *login, size_t len, unsigned mechs);

/* Visit every user in key order.  A non-zero return from cb stops the walk
 * and is returned.  The user struct is valid only during the call. */
typedef int (*authdb_user_cb)(const authdb_user *u, void *arg);
int authdb_user_foreach(authdb *h, authdb_txn *txn, authdb_user_cb cb, void *arg);

/* Secrets of a user with the raw values (for export --with-secrets). */
int authdb_user_secrets(authdb *h, authdb_txn *txn, const char *login, size_t len,
                        authdb_secrets **out);

/* ---------------------------------------------------------------------
 * Send-as policy (policy.c).
 *
 * A rule belongs to a login and is an action (allow / deny) and a pattern:
 *   "local@domain"  that address (normalized, subaddress stripped)
 *   "@domain"       any address in exactly that domain (not subdomains)
 *   "*"             any address
 * May login L use address A?  A is normalized with subaddress stripping.
 * The most specific matching pattern decides (address > @domain > *); at
 * equal specificity deny beats allow.  When L is itself an address and the
 * self_send setting is yes, "allow L" is implied at address specificity (so
 * "deny L" as an address rule removes it).  No match: not allowed.
 */
enum authdb_rule_action { AUTHDB_ALLOW = 1, AUTHDB_DENY = 2 };
enum authdb_rule_kind { AUTHDB_RULE_ADDRESS = 1, AUTHDB_RULE_DOMAIN = 2, AUTHDB_RULE_ANY = 3 };

typedef struct authdb_rule {
    enum authdb_rule_action action;
    enum authdb_rule_kind kind;
    char pattern[AUTHDB_NAME_BUFSZ]; /* normalized: "a@b", "@b" or "*" */
} authdb_rule;

/* Parse and normalize a pattern ("*", "@domain", "address"). */
int authdb_rule_parse(const authdb_norm *n, const char *pattern, size_t len, authdb_rule *out,
                      const char **why);

/* Add a rule (no-op success if the identical rule exists; adding "allow X"
 * replaces "deny X" and vice versa).  AUTHDB_ELIMIT past AUTHDB_RULES_MAX. */
int authdb_rule_add(authdb_txn *txn, const char *login, size_t len, enum authdb_rule_action action,
                    const char *pattern, size_t plen);
/* Remove the rule with this pattern (either action); AUTHDB_NOTFOUND if none. */
int authdb_rule_del(authdb_txn *txn, const char *login, size_t len, const char *pattern,
                    size_t plen);

/* Visit the rules of one login (login != NULL) or of all logins, in order. */
typedef int (*authdb_rule_cb)(const char *login, const authdb_rule *r, void *arg);
int authdb_rule_foreach(authdb *h, authdb_txn *txn, const char *login, size_t len,
                        authdb_rule_cb cb, void *arg);

/* The outcome of a send-as decision. */
typedef struct authdb_verdict {
    int allowed;                     /* 1 allowed, 0 not */
    authdb_rule rule;                /* the deciding rule (when matched) */
    int matched;                     /* 0: nothing matched (default deny) */
    int implicit_self;               /* 1: decided by the self_send rule */
    char address[AUTHDB_NAME_BUFSZ]; /* the normalized address tested */
} authdb_verdict;

/* May login use address?  Both normalized here with the store's rules.
 * AUTHDB_OK with *out filled (allowed or not), AUTHDB_EINVAL/ETOOLONG for a
 * malformed login or address (with *why), or a temporary failure. */
int authdb_sender_check(authdb *h, authdb_txn *txn, const char *login, size_t llen,
                        const char *address, size_t alen, authdb_verdict *out, const char **why);

/* The logins that may use an address (Postfix smtpd_sender_login_maps):
 * every login with an allow rule for the address, its domain or "*" that is
 * not overridden by a deny, plus the address itself when self_send allows
 * and a login of that name exists (the policy environment notes every
 * login authdb_user_put stores: see there).
 * cb is called once per login, in key order. */
typedef int (*authdb_login_cb)(const char *login, void *arg);
int authdb_senders_for(authdb *h, authdb_txn *txn, const char *address, size_t alen,
                       authdb_login_cb cb, void *arg, const char **why);

/* ---------------------------------------------------------------------
 * Local domains (policy env).
 */
int authdb_domain_add(authdb_txn *txn, const char *domain, size_t len);
int authdb_domain_del(authdb_txn *txn, const char *domain, size_t len);
/* AUTHDB_OK if local, AUTHDB_NOTFOUND if not, else temporary failure. */
int authdb_domain_is_local(authdb *h, authdb_txn *txn, const char *domain, size_t len);
typedef int (*authdb_domain_cb)(const char *domain, void *arg);
int authdb_domain_foreach(authdb *h, authdb_txn *txn, authdb_domain_cb cb, void *arg);

/* ---------------------------------------------------------------------
 * Maintenance (maint.c).
 */

/* Consistent hot copy of the store to destdir (created, must not exist or
 * be empty), while others read and write.  Files 0640, directories 0750,
 * whatever the umask; groups copied from the source. */
int authdb_backup(authdb *h, const char *destdir, char *why, size_t whylen);

typedef struct authdb_stats {
    size_t users, users_disabled, rules, rule_logins, domains;
    size_t secrets_map_size, secrets_used, policy_map_size, policy_used; /* bytes */
    unsigned readers_max, secrets_readers, policy_readers;               /* slots in use */
    unsigned schema;
} authdb_stats;
int authdb_get_stats(authdb *h, authdb_stats *out);

/* Problems found by authdb_check(): each reported through cb with a
 * severity and a sentence. */
enum authdb_check_severity { AUTHDB_CHECK_WARN = 1, AUTHDB_CHECK_ERROR = 2 };
typedef void (*authdb_check_cb)(enum authdb_check_severity sev, const char *msg, void *arg);
/* Check schema, settings agreement between envs, record formats, rules for
 * logins without secrets (orphans), stale reader slots (cleared and
 * reported), file modes and groups, and whether a write interrupted
 * between the two environments awaits completion (a warning; the
 * cross-environment checks are skipped meanwhile, see authdb_write).  Returns AUTHDB_OK when no
 * ERROR was reported, AUTHDB_ECORRUPT otherwise, or a store error. */
int authdb_check(authdb *h, authdb_check_cb cb, void *arg);

/* ---------------------------------------------------------------------
 * authgate.conf (conf.c): one file for every program, one table-driven
 * parser.  Syntax: "key = value" lines; '#' starts a comment line; blank
 * lines ignored; values may be double-quoted; unknown keys, repeated keys,
 * values out of range are errors naming file and line.  The struct is
 * immutable once loaded.
 */
enum authdb_action {
    AUTHDB_ACT_ACCEPT = 1, /* accept (unauthenticated_action only) */
    AUTHDB_ACT_REJECT,     /* 5xx */
    AUTHDB_ACT_TEMPFAIL,   /* 4xx */
    AUTHDB_ACT_QUARANTINE, /* accept into the MTA's hold queue */
    AUTHDB_ACT_HEADER,     /* accept, add X-Authgate-Verdict */
};

typedef struct authdb_conf {
    /* store */
    char *store;         /* store directory (/var/lib/authgate) */
    char *secrets_group; /* group that may read secrets/ (authgate-secrets) */
    char *policy_group;  /* group that may read policy/ (authgate-policy) */
    /* authgate-milter */
    char *milter_socket; /* unix:/path or inet:port@host */
    char *milter_user;   /* user to run as */
    char *milter_pidfile;
    unsigned milter_socket_mode;
    char *authserv_id;          /* RFC 8601 authserv-id ("" = host name) */
    int unauthenticated_action; /* AUTHDB_ACT_ACCEPT or AUTHDB_ACT_REJECT */
    int protect_local_domains;  /* bool */
    int report_only;            /* bool */
    int mismatch_action;        /* AUTHDB_ACT_* except ACCEPT */
    int malformed_action;
    int unauthenticated_local_action; /* for protect_local_domains hits */
    unsigned milter_timeout;          /* seconds, libmilter smfi_settimeout */
    /* authgate-authd */
    char *authd_socket; /* UNIX socket path */
    char *authd_user;
    char *authd_socket_group;
    unsigned authd_socket_mode;
    unsigned authd_threads; /* concurrent verifications */
    unsigned authd_timeout; /* seconds per request */
    char *authd_pidfile;
    /* authgate-query */
    char *query_socket; /* UNIX socket path */
    char *query_user;
    char *query_socket_group;
    unsigned query_socket_mode;
    char *query_pidfile;
    unsigned query_timeout;      /* seconds for one request to arrive and its answer to leave */
    unsigned query_idle_timeout; /* seconds a connection may wait for its next request */
    unsigned query_connections;  /* connections served at once */
    /* authgate-sync */
    char *sync_central;      /* libpq connection string of the central store ("": none) */
    int sync_secrets;        /* bool: copy the secrets too (no: policy only) */
    unsigned sync_interval;  /* seconds between polls without a notification */
    unsigned sync_retry_max; /* longest back-off while the center is unreachable */
} authdb_conf;

enum authdb_conf_type {
    AUTHDB_CONF_STRING = 1,
    AUTHDB_CONF_BOOL,
    AUTHDB_CONF_UINT,
    AUTHDB_CONF_MODE,   /* octal file mode */
    AUTHDB_CONF_ACTION, /* accept|reject|tempfail|quarantine|header */
};

typedef struct authdb_conf_key {
    const char *key;
    enum authdb_conf_type type;
    size_t offset;             /* of the field in authdb_conf */
    const char *default_value; /* as text */
    unsigned long min, max;    /* for UINT and MODE; allowed actions mask for ACTION */
    const char *description;   /* one line */
} authdb_conf_key;

/* The i-th known key, or NULL past the end (for docs and --help). */
const authdb_conf_key *authdb_conf_key_at(size_t i);

/* Load path.  missing_ok: a missing file yields the defaults (used for the
 * default path only).  On error *out is NULL and why names file, line and
 * problem. */
int authdb_conf_load(const char *path, int missing_ok, authdb_conf **out, char *why, size_t whylen);
void authdb_conf_free(authdb_conf *c);

/* The default configuration file, and the environment variable that
 * overrides it for authgatectl. */
#define AUTHDB_CONF_DEFAULT "/etc/authgate/authgate.conf"
#define AUTHDB_CONF_ENV     "AUTHGATE_CONFIG"

/* ---------------------------------------------------------------------
 * Logging for the daemons and tools (log.c).  A logger is built once by
 * main and passed down; nothing global.  Lines go to syslog (facility mail)
 * and/or standard error ("ident[pid]: level: text").  Untrusted text must go
 * through authdb_log_escape() first.
 */
typedef struct authdb_log {
    char ident[32];
    int to_stderr;
    int to_syslog;
    int max_prio; /* LOG_INFO normally, LOG_DEBUG with -d */
} authdb_log;

void authdb_log_init(authdb_log *lg, const char *ident, int to_stderr, int to_syslog, int debug);
void authdb_logf(const authdb_log *lg, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy in[0..len) to out for logging: printable ASCII and valid UTF-8 kept,
 * everything else as \xHH, truncated with "..." to fit outsz (>= 4).
 * Returns out. */
char *authdb_log_escape(const char *in, size_t len, char *out, size_t outsz);

/* The schema version this build writes and reads. */
#define AUTHDB_SCHEMA 1

#ifdef __cplusplus
}
#endif
#endif /* AUTHDB_H */
