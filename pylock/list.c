/* pylock list — what the project's environment holds. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "change.h"
#include "cli.h"
#include "env.h"
#include "escape.h"
#include "generations.h"

static void usage(FILE *out) {
  fprintf(out, "usage: pylock list [--json]\n\n"
               "List the packages of the current environment generation: name, version,\n"
               "whether it was requested (else it is a dependency), and its startup hooks\n"
               "(.pth files, sitecustomize: code that runs at every interpreter start).\n\n"
               "Options:\n"
               "  --json      one JSON object: {\"generation\": N, \"packages\": [{\"name\", "
               "\"version\",\n"
               "              \"requested\", \"startup_hooks\"}...]} (stable; see pylock-list(1))\n"
               "  -h, --help  print this help and exit\n");
}

static size_t escaped_len(const char *s) {
  return pl_escape(PL_ESCAPE_TEXT, s, strlen(s), NULL, 0);
}

int pl_cmd_list(int argc, char **argv) {
  bool json;
  int done = pl_cli_json_options("list", argc, argv, usage, &json);
  if (done >= 0) return done;
  pl_error_t err = NULL;
  struct pl_env e;
  struct pl_installed *list = NULL;
  size_t n = 0;
  if (pl_env_open(&e, pl_cli.project, pl_cli_progress, NULL, &err) < 0 ||
      pl_env_installed(&e, &list, &n, &err) < 0) {
    pl_env_close(&e);
    return pl_cli_report("list", &err);
  }
  unsigned gen = 0;
  if (pl_change_effective(e.root_fd, e.state_fd, &gen, &err) < 0) {
    pl_installed_free(list, n);
    pl_env_close(&e);
    return pl_cli_report("list", &err);
  }
  if (json) {
    printf("{\"generation\": %u, \"packages\": [", gen);
    for (size_t i = 0; i < n; i++) {
      printf(i ? ", {\"name\": " : "{\"name\": ");
      pl_cli_json_string(stdout, list[i].name);
      printf(", \"version\": ");
      pl_cli_json_string(stdout, list[i].version);
      printf(", \"requested\": %s, \"startup_hooks\": [", list[i].requested ? "true" : "false");
      for (size_t j = 0; j < list[i].nstartup_hooks; j++) {
        if (j) printf(", ");
        pl_cli_json_string(stdout, list[i].startup_hooks[j]);
      }
      printf("]}");
    }
    printf("]}\n");
  } else if (n == 0) {
    /* Nothing on stdout (scripts read it); the person at the terminal is told. */
    pl_cli_info("pylock: the environment (generation %u) holds no packages; add some with: "
                "pylock install NAME",
                gen);
  } else {
    /* Columns as wide as the escaped names: what the terminal shows. */
    size_t w = 7;
    for (size_t i = 0; i < n; i++)
      if (escaped_len(list[i].name) > w) w = escaped_len(list[i].name);
    for (size_t i = 0; i < n; i++) {
      pl_cli_put(stdout, list[i].name);
      printf("%*s  ", (int)(w - escaped_len(list[i].name)), "");
      pl_cli_put(stdout, list[i].version);
      size_t vw = escaped_len(list[i].version);
      bool hooks = list[i].nstartup_hooks > 0;
      printf("%*s%s", vw < 12 ? (int)(12 - vw) : 0, "",
             list[i].requested ? "  requested"
             : hooks           ? "           "
                               : "");
      if (hooks) {
        printf("  startup hooks: ");
        for (size_t j = 0; j < list[i].nstartup_hooks; j++) {
          if (j) printf(", ");
          pl_cli_put(stdout, list[i].startup_hooks[j]);
        }
      }
      putchar('\n');
    }
  }
  pl_installed_free(list, n);
  pl_env_close(&e);
  return PL_EXIT_OK;
}
