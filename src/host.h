/*
 * host.h - the host: the program around the libraries (main.c, repl.c)
 * and the file that opens them (host.c, like Lua's linit.c).
 */
#ifndef VALK_HOST_H
#define VALK_HOST_H

#include "valk.h"

/* Opens the language, the runtime, the systems library and HTTP, hands
   the language the embedded libraries, then requires "core". argv are
   the script's arguments (*args*). */
void valk_host_open(int argc, char **argv);

/* generated from every lib/ .valk file by scripts/embed-libs.sh */
extern const valk_embedded valk_embedded_libs[];
extern const valk_export valk_embedded_exports[];

#endif
