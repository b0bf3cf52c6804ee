#include <stdio.h>
#include "cli.h"
int pl_cmd_run(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pylock run: not yet\n"); return 1; }
