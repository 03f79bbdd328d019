/*
 * init.c - the language's start-up, builtin registration and the
 * argument helpers every builtin module uses.
 *
 * valk_init opens the language only (like Lua's luaL_openlibs minus the
 * libraries): the runtime, systems and HTTP builtins are registered by
 * the host (src/host.c), which links them.
 */
#include "valk.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

void valk_eval_init(void);


void valk_def_global(const char *name, V val) { AS_SYM(valk_sym(name))->global = val; }

void valk_register(const valk_reg *regs) {
  for (; regs->name; regs++)
    valk_def_global(regs->name, valk_builtin_new(regs->name, regs->fn, regs->min, regs->max, regs->doc));
}

static const char *type_label(int type) {
  switch (type) {
  case T_INT: return "an integer";
  case T_FLOAT: return "a float";
  case T_STR: return "a string";
  case T_SYM: return "a symbol";
  case T_KW: return "a keyword";
  case T_CONS: return "a list";
  case T_MAP: return "a map";
  case T_ERROR: return "an error";
  default: return "a value of another type";
  }
}

void valk_check_type(V v, int type, const char *who, int argi) {
  if (vtype(v) != type)
    valk_raise("%s: argument %d must be %s, got %s", who, argi + 1, type_label(type), valk_type_name(v));
}

int64_t valk_arg_int(V *args, int n, int i, const char *who) {
  if (i >= n) valk_raise("%s: missing argument %d", who, i + 1);
  if (vtype(args[i]) != T_INT)
    valk_raise("%s: argument %d must be an integer, got %s", who, i + 1, valk_type_name(args[i]));
  return valk_int_get(args[i]);
}

double valk_arg_num(V *args, int n, int i, const char *who) {
  if (i >= n) valk_raise("%s: missing argument %d", who, i + 1);
  if (!valk_is_number(args[i]))
    valk_raise("%s: argument %d must be a number, got %s", who, i + 1, valk_type_name(args[i]));
  return valk_num_get(args[i]);
}

Str *valk_arg_str(V *args, int n, int i, const char *who) {
  if (i >= n) valk_raise("%s: missing argument %d", who, i + 1);
  if (!IS(args[i], T_STR))
    valk_raise("%s: argument %d must be a string, got %s", who, i + 1, valk_type_name(args[i]));
  return AS_STR(args[i]);
}

int valk_positional_count(V *args, int n, int from) {
  int i = from;
  while (i < n && !IS(args[i], T_KW)) i++;
  return i - from;
}

/* Keyword arguments are the :key value pairs after the positional ones,
   so a value that happens to be a keyword is never taken for a key. */
V valk_kwarg(V *args, int n, int from, const char *name, V dflt) {
  V kw = valk_kw(name);
  for (int i = from + valk_positional_count(args, n, from); i + 1 < n; i += 2)
    if (args[i] == kw) return args[i + 1];
  return dflt;
}

void valk_init(int argc, char **argv) {
  /* The evaluator recurses on the C stack: bound it by the stack rlimit. */
  char base;
  struct rlimit rl;
  size_t size = 8u << 20;
  if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) size = rl.rlim_cur;
  if (size > (64u << 20)) size = 64u << 20;
  valk_set_stack_limit_from(&base, size);

  valk_eval_init();
  valk_core_register();
  valk_list_register();
  valk_map_register();
  valk_str_register();
  valk_io_register();
  valk_dyn_register();
  valk_forms_register();
  valk_def_global("otherwise", VTRUE);
  valk_def_global("else", VTRUE);
  V args = EMPTY;
  for (int i = argc - 1; i >= 0; i--) args = valk_cons(valk_cstr(argv[i]), args);
  valk_def_global("*args*", args);
}
