/* repl.h - the interactive loop started by `valk` with no arguments. */
#ifndef VALK_REPL_H
#define VALK_REPL_H

#define VALK_VERSION "0.1.0"

void valk_repl(void);

#endif
