/* repl.h - the interactive loop started by `valk` with no arguments. */
#ifndef VALK_REPL_H
#define VALK_REPL_H

#define VALK_VERSION "0.1.0"

/* Runs the REPL until end of input or an (exit) at its prompt that the
   leave hooks allow; the exit status asked for, or -1 at end of input. */
int valk_repl(void);

#endif
