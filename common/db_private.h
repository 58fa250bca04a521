/* db_private.h - shared by db.c and the generated migrations table. */
#ifndef BOUNCER_DB_PRIVATE_H
#define BOUNCER_DB_PRIVATE_H

#include <glib.h>

typedef struct {
    guint       version;   /* NNN of sql/NNN_name.sql */
    const char *name;
    const char *sql;
} DbMigration;

extern const DbMigration db_migrations[];
extern const guint db_n_migrations;

#endif
