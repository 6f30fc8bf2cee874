/*
 * schema.c - rl-schema: set the schema version in one environment of a
 * store behind authdb's back, as a newer authgatectl migrating the store
 * in place would (one LMDB write transaction on the "meta" database).
 *
 * usage: rl-schema ENVDIR VERSION     (ENVDIR: STORE/secrets or STORE/policy)
 *
 * Exit 0 when written; 1 with a message otherwise.
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lmdb.h>

int main(int argc, char **argv)
{
    MDB_env *env = NULL;
    MDB_txn *t = NULL;
    MDB_dbi dbi;
    uint32_t v;
    MDB_val k = {6, "schema"}, d = {sizeof(v), &v};
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: rl-schema ENVDIR VERSION\n");
        return 2;
    }
    v = htole32((uint32_t)strtoul(argv[2], NULL, 10));
    rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 4);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(env, 1024);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, 0);
    if (rc == 0)
        rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0640);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &t);
    if (rc == 0)
        rc = mdb_dbi_open(t, "meta", 0, &dbi);
    if (rc == 0)
        rc = mdb_put(t, dbi, &k, &d, 0);
    if (rc == 0) {
        rc = mdb_txn_commit(t);
        t = NULL;
    }
    if (t != NULL)
        mdb_txn_abort(t);
    if (env != NULL)
        mdb_env_close(env);
    if (rc != 0) {
        fprintf(stderr, "rl-schema %s: %s\n", argv[1], mdb_strerror(rc));
        return 1;
    }
    return 0;
}
