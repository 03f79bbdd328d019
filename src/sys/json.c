/* json.c - JSON: being written (placeholder registration only). */
#include "valk.h"

void valk_json_register(void) {}
