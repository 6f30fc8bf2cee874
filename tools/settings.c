/*
 * settings.c - "init", "settings show" and "settings set".
 *
 * init creates an empty store with explicit modes and groups (authdb_create)
 * and its initial settings; settings show/set read and change the store's
 * settings table (authdb_setting_*).  Setting names may be written with
 * '-' or '_'.  Diagnostics name the setting and the reason a value is
 * refused.
 */
#include <grp.h>
#include <string.h>

#include "cli.h"

/* Options of "init" that set a store setting: option name == key with '-'. */
static const cli_opt settings_init_opts[] = {
    {"mechanisms", "LIST",
     "secrets a new password derives (default \"SCRAM-SHA-256 SCRAM-SHA-1\")"},
    {"digest-realm", "REALM", "realm of the DIGEST-MD5 secret"},
    {"password-hash", "SCHEME", "yescrypt (default), bcrypt or sha512-crypt"},
    {"scram-iterations", "N", "PBKDF2 iterations of SCRAM secrets (>= 4096)"},
    {"local-part-case", "MODE", "insensitive (default) or sensitive"},
    {"subaddress-delimiter", "CHARS", "subaddress delimiters (default \"+\", \"\" none)"},
    {"self-send", "yes|no", "an address login may send as itself (default yes)"},
    {"secrets-group", "GROUP", "group that may read secrets/ (default: the configuration's)"},
    {"policy-group", "GROUP", "group that may read policy/ (default: the configuration's)"},
    {"map-size", "MIB", "initial map size of each environment in MiB (default 64; grows)"},
    {NULL, NULL, NULL},
};
#define SETTINGS_NKEYS 7 /* the first options above are settings */

/* "scram-iterations" -> "scram_iterations" into out (AUTHDB_SETTING_MAX+1). */
static void settings_key(const char *name, char *out, size_t outsz)
{
    size_t i;

    for (i = 0; name[i] != '\0' && i + 1 < outsz; i++)
        out[i] = name[i] == '-' ? '_' : name[i];
    out[i] = '\0';
}

static int settings_gid(cli *c, const char *opt, const char *conf_name, gid_t *gid)
{
    struct group *gr;

    *gid = (gid_t)-1;
    if (opt == NULL)
        opt = conf_name;
    if (opt == NULL || opt[0] == '\0')
        return CLI_OK;
    if ((gr = getgrnam(opt)) == NULL)
        return cli_fail(c, CLI_NOTFOUND,
                        "group \"%s\" does not exist (create it, or choose another with "
                        "--secrets-group/--policy-group or in authgate.conf)",
                        opt);
    *gid = gr->gr_gid;
    return CLI_OK;
}

static int settings_init(cli *c, const cli_args *a)
{
    char keys[SETTINGS_NKEYS][64], values[SETTINGS_NKEYS][AUTHDB_SETTING_MAX + 1];
    const char *pairs[2 * SETTINGS_NKEYS + 1];
    authdb_create_opts opts;
    unsigned long mib;
    char why[512], esc[CLI_ECHO_MAX];
    size_t np = 0;
    int rc;

    memset(&opts, 0, sizeof(opts));
    if ((rc = cli_opt_uint(c, a, "map-size", 1, 65536, 0, &mib)) != CLI_OK)
        return rc;
    opts.mapsize = (size_t)mib << 20;
    for (int k = 0; k < SETTINGS_NKEYS; k++) {
        const char *v = cli_arg(a, settings_init_opts[k].name), *reason = NULL;
        if (v == NULL)
            continue;
        settings_key(settings_init_opts[k].name, keys[np / 2], sizeof(keys[0]));
        rc = authdb_setting_check(keys[np / 2], v, values[np / 2], sizeof(values[0]), &reason);
        if (rc != AUTHDB_OK)
            return cli_fail(c, CLI_DATAERR, "--%s \"%s\": %s", settings_init_opts[k].name,
                            cli_esc(v, strlen(v), esc, sizeof(esc)),
                            reason != NULL ? reason : authdb_strerror(rc));
        pairs[np] = keys[np / 2];
        pairs[np + 1] = values[np / 2];
        np += 2;
    }
    pairs[np] = NULL;
    opts.settings = pairs;
    /* A central store has no files: access is PostgreSQL's roles. */
    if (!cli_store_is_uri(c) &&
        (rc = settings_gid(c, cli_arg(a, "secrets-group"), c->conf->secrets_group,
                           &opts.secrets_gid)) != CLI_OK)
        return rc;
    if (!cli_store_is_uri(c) &&
        (rc = settings_gid(c, cli_arg(a, "policy-group"), c->conf->policy_group,
                           &opts.policy_gid)) != CLI_OK)
        return rc;
    rc = authdb_create(cli_store_dir(c), &opts, why, sizeof(why));
    if (rc != AUTHDB_OK)
        return cli_fail(c, cli_exit_code(rc), "%s", why);
    if (c->json)
        json_kv_string(&c->j, "store", cli_store_dir(c));
    else
        fprintf(c->out, "created store %s\n", cli_store_dir(c));
    return CLI_OK;
}

static int settings_show(cli *c, const cli_args *a)
{
    const authdb_setting_info *info;
    char key[64], value[AUTHDB_SETTING_MAX + 1];
    authdb *h = NULL;
    int rc;

    if ((rc = cli_open(c, AUTHDB_BOTH, &h)) != CLI_OK)
        goto out;
    if (a->npos == 1) {
        settings_key(a->pos[0], key, sizeof(key));
        if (authdb_setting_info_find(key) == NULL) {
            rc = cli_fail(c, CLI_NOTFOUND, "unknown setting \"%s\"", a->pos[0]);
            goto out;
        }
        if ((rc = authdb_setting_get(h, NULL, key, value, sizeof(value))) != AUTHDB_OK) {
            rc = cli_fail_db(c, rc, "cannot read setting %s", key);
            goto out;
        }
        if (c->json)
            json_kv_string(&c->j, key, value);
        else
            fprintf(c->out, "%s\n", value);
        goto out;
    }
    if (c->json) {
        json_key(&c->j, "settings");
        json_object_begin(&c->j);
    }
    for (size_t i = 0; (info = authdb_setting_info_at(i)) != NULL; i++) {
        if ((rc = authdb_setting_get(h, NULL, info->key, value, sizeof(value))) != AUTHDB_OK) {
            rc = cli_fail_db(c, rc, "cannot read setting %s", info->key);
            goto out;
        }
        if (c->json)
            json_kv_string(&c->j, info->key, value);
        else
            fprintf(c->out, "%-22s %-28s # %s\n", info->key, value[0] ? value : "\"\"",
                    info->description);
    }
    if (c->json)
        json_object_end(&c->j);
    rc = CLI_OK;
out:
    authdb_close(h);
    return rc;
}

struct settings_set_arg {
    const char *key, *value;
    const char *why;
};

static int settings_set_fn(authdb_txn *txn, void *arg)
{
    struct settings_set_arg *s = arg;

    s->why = NULL;
    return authdb_setting_set(txn, s->key, s->value, &s->why);
}

static int settings_set(cli *c, const cli_args *a)
{
    struct settings_set_arg s;
    char key[64], canon[AUTHDB_SETTING_MAX + 1], esc[CLI_ECHO_MAX];
    const char *why = NULL;
    authdb *h = NULL;
    int rc;

    settings_key(a->pos[0], key, sizeof(key));
    if (authdb_setting_info_find(key) == NULL) {
        rc = cli_fail(c, CLI_NOTFOUND, "unknown setting \"%s\" (see authgatectl settings show)",
                      a->pos[0]);
        goto out;
    }
    if ((rc = authdb_setting_check(key, a->pos[1], canon, sizeof(canon), &why)) != AUTHDB_OK) {
        rc = cli_fail(c, CLI_DATAERR, "%s \"%s\": %s", key,
                      cli_esc(a->pos[1], strlen(a->pos[1]), esc, sizeof(esc)),
                      why != NULL ? why : authdb_strerror(rc));
        goto out;
    }
    if ((rc = cli_open(c, AUTHDB_BOTH | AUTHDB_WRITE, &h)) != CLI_OK)
        goto out;
    s.key = key;
    s.value = canon;
    rc = authdb_write(h, settings_set_fn, &s);
    if (rc == AUTHDB_EBUSY && strcmp(key, "local_part_case") == 0) {
        rc = cli_fail(c, CLI_DATAERR,
                      "local_part_case can only change while the store has no users and no rules");
        goto out;
    }
    if (rc != AUTHDB_OK) {
        rc = s.why != NULL ? cli_fail(c, cli_exit_code(rc), "%s: %s", key, s.why)
                           : cli_fail_db(c, rc, "cannot set %s", key);
        goto out;
    }
    if (c->json) {
        json_kv_string(&c->j, "key", key);
        json_kv_string(&c->j, "value", canon);
    } else {
        fprintf(c->out, "%s = %s\n", key, canon);
    }
    rc = CLI_OK;
out:
    authdb_close(h);
    return rc;
}

const cli_cmd settings_cmds[] = {
    {"init", "", "create an empty store",
     "Create an empty store in the store directory (--store, or \"store\" in authgate.conf):\n"
     "secrets/ readable by the secrets group, policy/ by the policy group, files 0640\n"
     "and lock files 0660 whatever the umask.  Settings given here are stored at once;\n"
     "see \"authgatectl settings show\" for what each means.  The maps grow by\n"
     "themselves when full (--map-size only sets where they start).",
     settings_init_opts, 0, 0,
     "  0 store created\n  3 a group does not exist\n  4 a store exists there\n"
     "  5 a setting value is invalid\n" CLI_EXITS_COMMON,
     settings_init},
    {"settings show", "[KEY]", "print the store's settings",
     "Print every setting with its value and meaning, or only the value of KEY.", NULL, 0, 1,
     "  0 printed\n  3 unknown KEY\n" CLI_EXITS_COMMON, settings_show},
    {"settings set", "KEY VALUE", "change one setting",
     "Check, canonicalize and store one setting in one transaction.  Keys:\n"
     "  mechanisms            SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 DIGEST-MD5 PLAIN CLEARTEXT\n"
     "                        (applies to passwords set from now on)\n"
     "  scram_iterations      PBKDF2 iterations, >= 4096\n"
     "  password_hash         yescrypt | bcrypt | sha512-crypt\n"
     "  digest_realm          realm of the DIGEST-MD5 secret\n"
     "  local_part_case       insensitive | sensitive (only while the store is empty)\n"
     "  subaddress_delimiter  characters that start a subaddress (\"\" none)\n"
     "  self_send             yes | no: an address login may send as itself",
     NULL, 2, 2,
     "  0 changed\n  3 unknown KEY\n  5 invalid VALUE, or local_part_case with "
     "users\n" CLI_EXITS_COMMON,
     settings_set},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};
