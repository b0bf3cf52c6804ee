#include <stdio.h>
#include "cli.h"
int pl_cmd_init(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pylock init: not yet\n"); return 1; }
