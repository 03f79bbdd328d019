/*
 * host.c - opens the libraries, the one place that names every layer.
 *
 * Why: the layers depend downwards only (src/lang <- src/rt <- src/sys <-
 * src/net); something has to know them all, and like Lua's linit.c that
 * is this file, beside main.c and repl.c. It registers each layer's
 * builtins, gives the language the embedded Valkyria libraries and their
 * exports (for require and autoload), and loads lib/core.valk last, so
 * core may use any builtin at load time.
 */
#include "host.h"

#include "http.h"
#include "rt.h"
#include "sys.h"

static void (*const openers[])(void) = {
    /* runtime (src/rt) */
    valk_rt_register, valk_process_register, valk_procscope_register, valk_log_register,
    valk_terminate_register,
    /* systems library (src/sys) */
    valk_string_register, valk_fs_register, valk_path_register, valk_sysenv_register,
    valk_json_register, valk_yaml_register, valk_crypto_register, valk_regex_register,
    valk_db_register,
    /* HTTP (src/net) */
    valk_http_server_register, valk_http_client_register};

void valk_host_open(int argc, char **argv) {
  valk_init(argc, argv);
  for (size_t i = 0; i < sizeof openers / sizeof openers[0]; i++) openers[i]();
  valk_set_libs(valk_embedded_libs, valk_embedded_exports);
  valk_require("core", NULL);
}
