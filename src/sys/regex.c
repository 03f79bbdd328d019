/* regex.c - regular expressions: being written (placeholder registration only). */
#include "valk.h"

void valk_regex_register(void) {}
