/*
 * sys.h - the systems library: strings, files and paths, the process
 * environment, JSON, YAML, crypto, regular expressions and SQLite.
 *
 * It builds on the language (valk.h) and the runtime (rt.h: blocking work
 * runs in the thread pool, paths go through valk_dyn_path) and names
 * nothing above it. Each file registers its builtins; the host opens them.
 */
#ifndef VALK_SYS_H
#define VALK_SYS_H

#include "rt.h"

void valk_string_register(void);  /* string.c */
V valk_str_lines(V text);         /* string.c: the lines of string text, without line endings */
void valk_fs_register(void);      /* fs.c */
void valk_path_register(void);    /* path.c */
void valk_sysenv_register(void);  /* env.c */
void valk_json_register(void);    /* json.c */
V valk_json_stringify(V v);       /* json.c: compact JSON text of v; raises like json/stringify */
void valk_yaml_register(void);    /* yaml.c */
void valk_crypto_register(void);  /* crypto.c */
void valk_regex_register(void);   /* regex.c */
void valk_db_register(void);      /* db.c */

#endif
