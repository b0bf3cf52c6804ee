#include <stdio.h>
#include "cli.h"
int pl_cmd_shell(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pylock shell: not yet\n"); return 1; }
