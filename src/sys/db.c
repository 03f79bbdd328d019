/*
 * db.c - SQLite databases (db/...), for the CI run store.
 *
 * A database is a native handle around one sqlite3 connection, opened in
 * WAL mode with a busy timeout so a second process (valk ci history while
 * a server runs) can read while runs are written. Statements take
 * parameters (? placeholders) bound from values: integers, floats,
 * strings, nil, booleans (as 1/0); user input never goes into SQL text.
 * Queries return a list of maps with keyword column names.
 *
 * Calls run on the loop thread: store writes are small and WAL appends
 * are cheap; a busy database waits at most the busy timeout.
 */
#include "valk.h"

#include <sqlite3.h>
#include <string.h>

typedef struct {
  sqlite3 *db;
  V path;
} Db;

/* An unreachable database closes its connection (db/close sets db to
   NULL first). sqlite3_close_v2 defers the close while statements are
   open; none are between calls. */
static void db_finalize(void *ptr) {
  Db *d = ptr;
  if (d->db) sqlite3_close_v2(d->db);
  d->db = NULL;
}

static const valk_native_type db_type = {"database", db_finalize};

static Db *db_arg(V v, const char *who) {
  Db *d = valk_native_check(v, &db_type, who, 0);
  if (!d->db) valk_raise("%s: the database is closed", who);
  return d;
}

static _Noreturn void db_error(Db *d, const char *who, const char *what) {
  valk_raise("%s: %s: %s", who, what, sqlite3_errmsg(d->db));
}

/* (db/open path) opens or creates a database in WAL mode */
static V bi_open(V *a, int n) {
  Str *path = valk_arg_str(a, n, 0, "db/open");
  sqlite3 *db;
  int rc = sqlite3_open_v2(path->s, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    V msg = valk_strf("db/open: %s: %s", path->s, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    valk_throw(valk_error_new(valk_kw("error"), msg, valk_S->form));
  }
  sqlite3_busy_timeout(db, 5000);
  char *err = NULL;
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", NULL, NULL, &err) != SQLITE_OK) {
    V msg = valk_strf("db/open: %s: %s", path->s, err ? err : "cannot set WAL mode");
    sqlite3_free(err);
    sqlite3_close(db);
    valk_throw(valk_error_new(valk_kw("error"), msg, valk_S->form));
  }
  Db *d = valk_alloc(sizeof *d);
  d->db = db;
  d->path = (V)path;
  return valk_native(&db_type, d, (V)path);
}

static V bi_close(V *a, int n) {
  (void)n;
  Db *d = db_arg(a[0], "db/close");
  sqlite3_close_v2(d->db);
  d->db = NULL;
  return NIL;
}

static void bind_all(Db *d, sqlite3_stmt *st, V *a, int n, const char *who) {
  int want = sqlite3_bind_parameter_count(st);
  if (want != n) {
    sqlite3_finalize(st);
    valk_raise("%s: the statement has %d parameter%s, got %d value%s", who, want, want == 1 ? "" : "s", n, n == 1 ? "" : "s");
  }
  for (int i = 0; i < n; i++) {
    V v = a[i];
    int rc;
    switch (vtype(v)) {
    case T_NIL: case T_EMPTY: rc = sqlite3_bind_null(st, i + 1); break;
    case T_BOOL: rc = sqlite3_bind_int(st, i + 1, v == VTRUE); break;
    case T_INT: rc = sqlite3_bind_int64(st, i + 1, valk_int_get(v)); break;
    case T_FLOAT: rc = sqlite3_bind_double(st, i + 1, valk_num_get(v)); break;
    case T_STR: rc = sqlite3_bind_text(st, i + 1, AS_STR(v)->s, (int)AS_STR(v)->len, SQLITE_TRANSIENT); break;
    case T_KW: rc = sqlite3_bind_text(st, i + 1, AS_SYM(v)->name, -1, SQLITE_TRANSIENT); break;
    default:
      sqlite3_finalize(st);
      valk_raise("%s: cannot store a %s in the database (parameter %d)", who, valk_type_name(v), i + 1);
    }
    if (rc != SQLITE_OK) {
      sqlite3_finalize(st);
      db_error(d, who, "binding a parameter");
    }
  }
}

static sqlite3_stmt *prepare(Db *d, Str *sql, const char *who) {
  sqlite3_stmt *st;
  const char *tail;
  if (sqlite3_prepare_v2(d->db, sql->s, (int)sql->len, &st, &tail) != SQLITE_OK) db_error(d, who, sql->s);
  if (!st) valk_raise("%s: empty statement", who);
  return st;
}

static V column(sqlite3_stmt *st, int i) {
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_INTEGER: return valk_int(sqlite3_column_int64(st, i));
  case SQLITE_FLOAT: return valk_float(sqlite3_column_double(st, i));
  case SQLITE_NULL: return NIL;
  default: {
    const void *p = sqlite3_column_blob(st, i);
    int len = sqlite3_column_bytes(st, i);
    return valk_str(p ? p : "", (size_t)len);
  }
  }
}

/* (db/query db sql params...) list of rows as maps */
static V bi_query(V *a, int n) {
  Db *d = db_arg(a[0], "db/query");
  Str *sql = valk_arg_str(a, n, 1, "db/query");
  sqlite3_stmt *st = prepare(d, sql, "db/query");
  bind_all(d, st, a + 2, n - 2, "db/query");
  int cols = sqlite3_column_count(st);
  V names[cols ? cols : 1];
  for (int i = 0; i < cols; i++) names[i] = valk_kw(sqlite3_column_name(st, i));
  V rows = EMPTY;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    V m = valk_map_new((uint32_t)cols);
    for (int i = 0; i < cols; i++) valk_map_set(m, names[i], column(st, i));
    rows = valk_cons(m, rows);
  }
  if (rc != SQLITE_DONE) {
    V msg = valk_strf("db/query: %s", sqlite3_errmsg(d->db));
    sqlite3_finalize(st);
    valk_throw(valk_error_new(valk_kw("error"), msg, valk_S->form));
  }
  sqlite3_finalize(st);
  return valk_list_reverse(rows);
}

/* (db/exec db sql params...) runs a statement; returns the number of rows
   changed (and, for an INSERT, the new row id through db/last-id) */
static V bi_exec(V *a, int n) {
  Db *d = db_arg(a[0], "db/exec");
  Str *sql = valk_arg_str(a, n, 1, "db/exec");
  if (n == 2) { /* no parameters: may hold several statements (a schema) */
    char *err = NULL;
    if (sqlite3_exec(d->db, sql->s, NULL, NULL, &err) != SQLITE_OK) {
      V msg = valk_strf("db/exec: %s", err ? err : sqlite3_errmsg(d->db));
      sqlite3_free(err);
      valk_throw(valk_error_new(valk_kw("error"), msg, valk_S->form));
    }
    return valk_int(sqlite3_changes(d->db));
  }
  sqlite3_stmt *st = prepare(d, sql, "db/exec");
  bind_all(d, st, a + 2, n - 2, "db/exec");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
  if (rc != SQLITE_DONE) {
    V msg = valk_strf("db/exec: %s", sqlite3_errmsg(d->db));
    sqlite3_finalize(st);
    valk_throw(valk_error_new(valk_kw("error"), msg, valk_S->form));
  }
  sqlite3_finalize(st);
  return valk_int(sqlite3_changes(d->db));
}

static V bi_last_id(V *a, int n) {
  (void)n;
  return valk_int(sqlite3_last_insert_rowid(db_arg(a[0], "db/last-id")->db));
}

static const valk_reg db_fns[] = {
    {"db/open", bi_open, 1, 1, "(db/open path) opens or creates an SQLite database (WAL mode)"},
    {"db/close", bi_close, 1, 1, "(db/close db) closes the database"},
    {"db/exec", bi_exec, 2, -1, "(db/exec db sql params...) runs a statement; rows changed"},
    {"db/query", bi_query, 2, -1, "(db/query db sql params...) rows as maps with keyword column names"},
    {"db/last-id", bi_last_id, 1, 1, "(db/last-id db) row id of the last INSERT"},
    {NULL, NULL, 0, 0, NULL}};

void valk_db_register(void) { valk_register(db_fns); }
