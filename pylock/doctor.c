#include <stdio.h>
#include "cli.h"
int pl_cmd_doctor(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "pylock doctor: not yet\n"); return 1; }
