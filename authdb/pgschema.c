/*
 * pgschema.c - the central store's schema: create, check, migrate.
 *
 * Interface (pg_private.h): pgschema_create, pgschema_check,
 * pgschema_upgrade; authdb_pg_upgrade (authdb_pg.h).
 *
 * Schema "authgate", version AUTHDB_PG_SCHEMA (table schema_version):
 *   secrets_meta, secrets_users, policy_meta, policy_rules, policy_domains
 *       (key bytea primary key, value bytea): the LMDB databases of the
 *       same names, byte for byte (records as authdb writes them);
 *   policy_ruleidx (key bytea, value bytea, primary key (key, value)):
 *       the dupsort index, one row per pair;
 *   changes (seq bigserial, tbl, key, value): one row per changed key
 *       (value only for policy_ruleidx), written by trigger log_change,
 *       which first takes pg_advisory_xact_lock(PG_LOCK_KEY): writers are
 *       serialized, so seq order is commit order and a reader that saw seq
 *       N has seen every change up to N.  The first change of a
 *       transaction sends pg_notify('authgate_changes', seq), delivered at
 *       commit.  TRUNCATE of a data table is refused (it would bypass the
 *       log);
 *   horizon (through bigint): changes up to it may have been pruned; a node
 *       behind it reloads everything;
 *   views users, rules, domains, settings: the records decoded, for
 *       admins (read-only, never used by authgate).
 * Roles (created by the admin, see guide-fleet.md), granted here when they
 * exist: authgate_admin writes the data tables; authgate_node reads
 * everything; authgate_policy_node reads all but the secrets tables.
 * Migrations: migrations[v] takes version v to v + 1, in the same
 * transaction as the version bump.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_private.h"

static const char schema_sql[] =
    "CREATE SCHEMA authgate;"
    "CREATE TABLE authgate.schema_version (version integer NOT NULL CHECK (version > 0));"
    "CREATE TABLE authgate.horizon (through bigint NOT NULL DEFAULT 0);"
    "INSERT INTO authgate.horizon VALUES (0);"
    "CREATE TABLE authgate.secrets_meta (key bytea PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE authgate.secrets_users (key bytea PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE authgate.policy_meta (key bytea PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE authgate.policy_rules (key bytea PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE authgate.policy_ruleidx (key bytea NOT NULL, value bytea NOT NULL,"
    "  PRIMARY KEY (key, value));"
    "CREATE TABLE authgate.policy_domains (key bytea PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE authgate.changes (seq bigserial PRIMARY KEY, tbl text NOT NULL,"
    "  key bytea NOT NULL, value bytea, at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX changes_tbl_seq ON authgate.changes (tbl, seq);"
    /* The change log.  SECURITY DEFINER: writers need no right on it. */
    "CREATE FUNCTION authgate.log_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
    "  SET search_path = pg_catalog, pg_temp AS $f$"
    "DECLARE s bigint;"
    "BEGIN"
    "  PERFORM pg_advisory_xact_lock(" PG_LOCK_KEY ");"
    "  IF TG_OP <> 'INSERT' THEN"
    "    INSERT INTO authgate.changes (tbl, key, value) VALUES (TG_TABLE_NAME, OLD.key,"
    "      CASE WHEN TG_TABLE_NAME = 'policy_ruleidx' THEN OLD.value END) RETURNING seq INTO s;"
    "  END IF;"
    "  IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR OLD.key IS DISTINCT FROM NEW.key"
    "      OR TG_TABLE_NAME = 'policy_ruleidx') THEN"
    "    INSERT INTO authgate.changes (tbl, key, value) VALUES (TG_TABLE_NAME, NEW.key,"
    "      CASE WHEN TG_TABLE_NAME = 'policy_ruleidx' THEN NEW.value END) RETURNING seq INTO s;"
    "  END IF;"
    "  IF current_setting('authgate.notified', true) IS DISTINCT FROM"
    "      pg_current_xact_id()::text THEN"
    "    PERFORM pg_notify('" PG_CHANNEL "', s::text);"
    "    PERFORM set_config('authgate.notified', pg_current_xact_id()::text, true);"
    "  END IF;"
    "  RETURN NULL;"
    "END $f$;"
    "CREATE FUNCTION authgate.no_truncate() RETURNS trigger LANGUAGE plpgsql AS $f$"
    "BEGIN RAISE EXCEPTION 'authgate: TRUNCATE bypasses the change log; use DELETE'; END $f$;"
    /* Decoders for the admin views. */
    "CREATE FUNCTION authgate.text_of(b bytea) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $f$"
    "BEGIN RETURN convert_from(b, 'UTF8');"
    "EXCEPTION WHEN others THEN RETURN encode(b, 'escape'); END $f$;"
    "CREATE FUNCTION authgate.le_int(b bytea, o integer, n integer) RETURNS bigint"
    "  LANGUAGE sql IMMUTABLE AS $f$"
    "  SELECT coalesce(sum(get_byte(b, o + i)::bigint << (8 * i)), 0)::bigint"
    "  FROM generate_series(0, n - 1) AS i $f$;"
    "CREATE FUNCTION authgate.hash_scheme(r bytea) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $f$"
    "DECLARE h text;"
    "BEGIN"
    "  IF length(r) < 24 OR get_byte(r, 20) <> 1 THEN RETURN NULL; END IF;"
    "  h := authgate.text_of(substring(r FROM 24 FOR authgate.le_int(r, 21, 2)::integer));"
    "  RETURN CASE WHEN h LIKE '$y$%' THEN 'yescrypt' WHEN h LIKE '$2_$%' THEN 'bcrypt'"
    "    WHEN h LIKE '$6$%' THEN 'sha512-crypt' WHEN h LIKE '$5$%' THEN 'sha256-crypt'"
    "    WHEN h LIKE '$1$%' THEN 'md5-crypt' ELSE 'unknown' END;"
    "EXCEPTION WHEN others THEN RETURN NULL; END $f$;"
    "CREATE FUNCTION authgate.decode_rules(r bytea)"
    "  RETURNS TABLE (action text, kind text, pattern text) LANGUAGE plpgsql IMMUTABLE AS $f$"
    "DECLARE o integer := 4; n integer; l integer;"
    "BEGIN"
    "  n := authgate.le_int(r, 2, 2);"
    "  FOR i IN 1..n LOOP"
    "    l := authgate.le_int(r, o + 2, 2);"
    "    action := CASE get_byte(r, o) WHEN 1 THEN 'allow' WHEN 2 THEN 'deny' ELSE '?' END;"
    "    kind := CASE get_byte(r, o + 1) WHEN 1 THEN 'address' WHEN 2 THEN 'domain'"
    "      WHEN 3 THEN 'any' ELSE '?' END;"
    "    pattern := authgate.text_of(substring(r FROM o + 5 FOR l));"
    "    RETURN NEXT;"
    "    o := o + 4 + l;"
    "  END LOOP;"
    "EXCEPTION WHEN others THEN RETURN; END $f$;"
    "CREATE VIEW authgate.users AS SELECT authgate.text_of(key) AS login,"
    "  (get_byte(value, 1) & 1) <> 0 AS disabled, get_byte(value, 1) AS flags,"
    "  authgate.hash_scheme(value) AS hash_scheme,"
    "  to_timestamp(authgate.le_int(value, 4, 8)) AS created,"
    "  to_timestamp(authgate.le_int(value, 12, 8)) AS changed"
    "  FROM authgate.secrets_users WHERE length(value) >= 20;"
    "CREATE VIEW authgate.rules AS SELECT authgate.text_of(r.key) AS login, d.action, d.kind,"
    "  d.pattern FROM authgate.policy_rules r, LATERAL authgate.decode_rules(r.value) d;"
    "CREATE VIEW authgate.domains AS SELECT authgate.text_of(key) AS domain"
    "  FROM authgate.policy_domains;"
    "CREATE VIEW authgate.settings AS"
    "  SELECT 'secrets' AS env, authgate.text_of(substring(key FROM 3)) AS setting,"
    "    authgate.text_of(value) AS value FROM authgate.secrets_meta"
    "    WHERE substring(key FROM 1 FOR 2) = 's:'"
    "  UNION ALL SELECT 'policy', authgate.text_of(substring(key FROM 3)),"
    "    authgate.text_of(value) FROM authgate.policy_meta"
    "    WHERE substring(key FROM 1 FOR 2) = 's:';";

static const char *const data_tables[] = {
    "secrets_meta", "secrets_users",  "policy_meta",
    "policy_rules", "policy_ruleidx", "policy_domains",
};
#define DATA_TABLES (sizeof(data_tables) / sizeof(data_tables[0]))

/* Grants to the roles that exist; run at create and after migrations. */
static const char grants_sql[] =
    "DO $g$ BEGIN"
    "  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authgate_admin') THEN"
    "    GRANT USAGE ON SCHEMA authgate TO authgate_admin;"
    "    GRANT SELECT, INSERT, UPDATE, DELETE ON authgate.secrets_meta, authgate.secrets_users,"
    "      authgate.policy_meta, authgate.policy_rules, authgate.policy_ruleidx,"
    "      authgate.policy_domains TO authgate_admin;"
    "    GRANT SELECT ON authgate.schema_version, authgate.horizon, authgate.changes,"
    "      authgate.users, authgate.rules, authgate.domains, authgate.settings"
    "      TO authgate_admin;"
    "  END IF;"
    "  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authgate_node') THEN"
    "    GRANT USAGE ON SCHEMA authgate TO authgate_node;"
    "    GRANT SELECT ON authgate.schema_version, authgate.horizon, authgate.changes,"
    "      authgate.secrets_meta, authgate.secrets_users, authgate.policy_meta,"
    "      authgate.policy_rules, authgate.policy_ruleidx, authgate.policy_domains"
    "      TO authgate_node;"
    "  END IF;"
    "  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authgate_policy_node') THEN"
    "    GRANT USAGE ON SCHEMA authgate TO authgate_policy_node;"
    "    GRANT SELECT ON authgate.schema_version, authgate.horizon, authgate.changes,"
    "      authgate.policy_meta, authgate.policy_rules, authgate.policy_ruleidx,"
    "      authgate.policy_domains TO authgate_policy_node;"
    "  END IF;"
    "END $g$;";

/* migrations[v]: SQL taking schema v to v + 1 (none yet: version 1 is the
 * first). */
static const char *const migrations[AUTHDB_PG_SCHEMA + 1] = {NULL};

int pgschema_check(PGconn *c, unsigned *version, char *why, size_t whylen)
{
    PGresult *r = NULL;
    char err[512];
    int rc;

    *version = 0;
    rc = pgconn_exec(c,
                     "SELECT version FROM authgate.schema_version"
                     " WHERE to_regclass('authgate.schema_version') IS NOT NULL",
                     0, NULL, NULL, 0, &r, err, sizeof(err));
    if (rc == AUTHDB_ENOSTORE || (rc == AUTHDB_OK && PQntuples(r) == 0)) {
        snprintf(why, whylen,
                 "%s: no authgate schema in this database (create it with authgatectl init "
                 "--store URI)",
                 PQdb(c));
        rc = AUTHDB_ENOSTORE;
        goto out;
    }
    if (rc != AUTHDB_OK) {
        snprintf(why, whylen, "%s", err);
        goto out;
    }
    *version = (unsigned)pgconn_u64(r, 0, 0);
    if (*version > AUTHDB_PG_SCHEMA) {
        snprintf(why, whylen,
                 "%s: the central store's schema %u is newer than this authgate reads (schema "
                 "%d); upgrade authgate",
                 PQdb(c), *version, AUTHDB_PG_SCHEMA);
        rc = AUTHDB_ENEWER;
    }
out:
    PQclear(r);
    return rc;
}

struct meta_put_ctx {
    PGconn *c;
    const char *table;
    char *err;
    size_t errlen;
};

static int meta_put(void *arg, const char *key, const void *val, size_t len)
{
    struct meta_put_ctx *m = arg;
    char sql[160];
    const char *vals[2] = {key, val};
    int lens[2] = {(int)strlen(key), (int)len};

    snprintf(sql, sizeof(sql), "INSERT INTO authgate.%s (key, value) VALUES ($1, $2)", m->table);
    return pgconn_exec(m->c, sql, 2, vals, lens, 1, NULL, m->err, m->errlen);
}

static int create_meta(PGconn *c, int which, const authdb_create_opts *o, const char *idhex,
                       char *why, size_t whylen)
{
    struct meta_put_ctx m = {c, which == ENV_SECRETS ? "secrets_meta" : "policy_meta", why, whylen};
    uint32_t schema = htole32(AUTHDB_SCHEMA);
    int64_t now = (int64_t)time(NULL);
    const char *format = which == ENV_SECRETS ? STORE_FORMAT_SEC : STORE_FORMAT_POL;
    int rc;

    rc = meta_put(&m, "format", format, strlen(format));
    if (rc == AUTHDB_OK)
        rc = meta_put(&m, "schema", &schema, sizeof(schema));
    if (rc == AUTHDB_OK)
        rc = meta_put(&m, "created", &now, sizeof(now));
    if (rc == AUTHDB_OK)
        rc = meta_put(&m, "store_id", idhex, strlen(idhex));
    if (rc == AUTHDB_OK)
        rc =
            settings_put_defaults(which, o != NULL ? o->settings : NULL, meta_put, &m, why, whylen);
    return rc;
}

static int schema_triggers(PGconn *c, char *why, size_t whylen)
{
    char sql[512];
    int rc = AUTHDB_OK;

    for (size_t i = 0; i < DATA_TABLES && rc == AUTHDB_OK; i++) {
        snprintf(sql, sizeof(sql),
                 "CREATE TRIGGER log_change AFTER INSERT OR UPDATE OR DELETE ON authgate.%s"
                 " FOR EACH ROW EXECUTE FUNCTION authgate.log_change();"
                 "CREATE TRIGGER no_truncate BEFORE TRUNCATE ON authgate.%s"
                 " FOR EACH STATEMENT EXECUTE FUNCTION authgate.no_truncate();",
                 data_tables[i], data_tables[i]);
        rc = pgconn_cmd(c, sql, why, whylen);
    }
    return rc;
}

/* Run migrations from *from to the current version inside the caller's
 * transaction. */
static int schema_migrate(PGconn *c, unsigned from, char *why, size_t whylen)
{
    char sql[96];
    int rc = AUTHDB_OK;

    for (unsigned v = from; v < AUTHDB_PG_SCHEMA && rc == AUTHDB_OK; v++)
        if (migrations[v] != NULL)
            rc = pgconn_cmd(c, migrations[v], why, whylen);
    if (rc == AUTHDB_OK) {
        snprintf(sql, sizeof(sql), "UPDATE authgate.schema_version SET version = %d",
                 AUTHDB_PG_SCHEMA);
        rc = pgconn_cmd(c, sql, why, whylen);
    }
    if (rc == AUTHDB_OK)
        rc = pgconn_cmd(c, grants_sql, why, whylen);
    return rc;
}

int pgschema_upgrade(PGconn *c, unsigned *from, unsigned *to, char *why, size_t whylen)
{
    char err[256];
    int rc;

    *to = AUTHDB_PG_SCHEMA;
    rc = pgconn_cmd(c, "BEGIN", why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgconn_cmd(c, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")", why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgschema_check(c, from, why, whylen);
    if (rc == AUTHDB_OK && *from < AUTHDB_PG_SCHEMA)
        rc = schema_migrate(c, *from, why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgconn_cmd(c, "COMMIT", why, whylen);
    else
        pgconn_cmd(c, "ROLLBACK", err, sizeof(err));
    return rc;
}

int pgschema_create(PGconn *c, const authdb_create_opts *o, const char *idhex, char *why,
                    size_t whylen)
{
    char sql[96], err[256];
    unsigned v, to;
    int rc;

    rc = pgschema_check(c, &v, err, sizeof(err));
    if (rc == AUTHDB_OK && v == AUTHDB_PG_SCHEMA) {
        snprintf(why, whylen, "%s: the authgate schema already exists (schema %u)", PQdb(c), v);
        return AUTHDB_EEXIST;
    }
    if (rc == AUTHDB_OK)
        return pgschema_upgrade(c, &v, &to, why, whylen);
    if (rc != AUTHDB_ENOSTORE) {
        snprintf(why, whylen, "%s", err);
        return rc;
    }
    rc = pgconn_cmd(c, "BEGIN", why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgconn_cmd(c, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")", why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgconn_cmd(c, schema_sql, why, whylen);
    if (rc == AUTHDB_OK) {
        snprintf(sql, sizeof(sql), "INSERT INTO authgate.schema_version VALUES (%d)",
                 AUTHDB_PG_SCHEMA);
        rc = pgconn_cmd(c, sql, why, whylen);
    }
    if (rc == AUTHDB_OK)
        rc = schema_triggers(c, why, whylen);
    for (int i = 0; i < ENV_COUNT && rc == AUTHDB_OK; i++)
        rc = create_meta(c, i, o, idhex, why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgconn_cmd(c, grants_sql, why, whylen);
    if (rc == AUTHDB_OK)
        rc = pgconn_cmd(c, "COMMIT", why, whylen);
    else
        pgconn_cmd(c, "ROLLBACK", err, sizeof(err));
    return rc;
}

int authdb_pg_upgrade(const char *uri, unsigned *from, unsigned *to, char *why, size_t whylen)
{
    PGconn *c;
    int rc;

    *from = *to = 0;
    rc = pgconn_open(uri, "authgatectl", &c, why, whylen);
    if (rc != AUTHDB_OK)
        return rc;
    rc = pgschema_upgrade(c, from, to, why, whylen);
    PQfinish(c);
    return rc;
}
