/* pylock tree — the dependency tree of the project's environment. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "cleanup.h"
#include "cli.h"
#include "deptree.h"
#include "env.h"
#include "requested.h"

#define TREE_MAX_DEPTH 64

/* The synopsis and options. */
static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock tree [--json]\n\n"
          "Print the dependency tree of the current environment generation, from the\n"
          "metadata of what is installed: each requested package (and each package nothing\n"
          "installed depends on) at the top, its dependencies below it. A package shown\n"
          "already is marked (*) and not expanded again.\n\n"
          "Options:\n"
          "  --json      one JSON object: {\"generation\": N, \"packages\": [{\"name\",\n"
          "              \"version\", \"requested\", \"dependencies\": [{\"name\", \"version\",\n"
          "              \"requirement\"}...]}...]} (stable; see pylock-tree(1))\n"
          "  -h, --help  print this help and exit\n");
}

/* The graph as one JSON object (pylock-tree(1)). */
static void print_json(unsigned gen, const struct pl_dep_node *nodes, size_t n) {
  printf("{\"generation\": %u, \"packages\": [", gen);
  for (size_t i = 0; i < n; i++) {
    printf(i ? ", {\"name\": " : "{\"name\": ");
    pl_cli_json_string(stdout, nodes[i].name);
    printf(", \"version\": ");
    pl_cli_json_string(stdout, nodes[i].version);
    printf(", \"requested\": %s, \"dependencies\": [", nodes[i].requested ? "true" : "false");
    for (size_t k = 0; k < nodes[i].nedges; k++) {
      const struct pl_dep_node *to = &nodes[nodes[i].edges[k].to];
      printf(k ? ", {\"name\": " : "{\"name\": ");
      pl_cli_json_string(stdout, to->name);
      printf(", \"version\": ");
      pl_cli_json_string(stdout, to->version);
      printf(", \"requirement\": ");
      pl_cli_json_string(stdout, nodes[i].edges[k].requirement);
      printf("}");
    }
    printf("]}");
  }
  printf("]}\n");
}

/* Node i under `prefix` (the branches drawn so far), then its dependencies. */
static void print_node(const struct pl_dep_node *nodes, size_t i, bool *shown, char *prefix,
                       size_t plen, bool root, bool last, int depth) {
  const char *branch = root ? "" : last ? "└── " : "├── ";
  bool again = shown[i] && nodes[i].nedges > 0;
  pl_cli_line(stdout, "%.*s%s%s %s%s", (int)plen, prefix, branch, nodes[i].name, nodes[i].version,
              again                     ? " (*)"
              : depth >= TREE_MAX_DEPTH ? " (...)"
                                        : "");
  if (again || depth >= TREE_MAX_DEPTH) return;
  shown[i] = true;
  const char *cont = root ? "" : last ? "    " : "│   ";
  size_t clen = strlen(cont);
  memcpy(prefix + plen, cont, clen);
  for (size_t k = 0; k < nodes[i].nedges; k++)
    print_node(nodes, nodes[i].edges[k].to, shown, prefix, plen + clen, false,
               k + 1 == nodes[i].nedges, depth + 1);
}

/* Roots first (requested, then what nothing needs), each with its subtree. */
static int print_tree(const struct pl_dep_node *nodes, size_t n, pl_error_t *err) {
  cleanup_free bool *shown = calloc(n ? n : 1, sizeof *shown);
  cleanup_free bool *needed = calloc(n ? n : 1, sizeof *needed);
  cleanup_free char *prefix = malloc(TREE_MAX_DEPTH * 8 + 8);
  if (shown == NULL || needed == NULL || prefix == NULL) return pl_fail(err, ENOMEM, "tree");
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < nodes[i].nedges; k++)
      needed[nodes[i].edges[k].to] = true;
  /* Roots: what was asked for, then what nothing needs (left over). */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < n; i++)
      if (pass == 0 ? nodes[i].requested : !nodes[i].requested && !needed[i] && !shown[i])
        print_node(nodes, i, shown, prefix, 0, true, true, 0);
  /* A cycle nothing outside it reaches. */
  for (size_t i = 0; i < n; i++)
    if (!shown[i]) print_node(nodes, i, shown, prefix, 0, true, true, 0);
  return 0;
}

int pl_cmd_tree(int argc, char **argv) {
  bool json;
  int done = pl_cli_json_options("tree", argc, argv, usage, &json);
  if (done >= 0) return done;
  pl_error_t err = NULL;
  struct pl_env e;
  struct pl_requested rq = {0};
  struct pl_dep_node *nodes = NULL;
  size_t n = 0;
  unsigned gen = 0;
  int rc = PL_EXIT_OK;
  if (pl_env_open(&e, pl_cli.project, pl_cli_progress, NULL, &err) < 0) goto fail;
  /* The requested set names the extras asked for; a pyproject.toml that
   * does not parse leaves the lock's. */
  pl_error_t ignored = NULL;
  if (pl_requested_load(&e, &rq, &ignored) < 0) pl_error_free(&ignored);
  if (pl_deptree_read(&e, (const char *const *)e.lf.requested, e.lf.nrequested, &nodes, &n, &err) <
          0 ||
      pl_change_effective(e.root_fd, e.state_fd, &gen, &err) < 0 ||
      (!json && print_tree(nodes, n, &err) < 0))
    goto fail;
  if (json)
    print_json(gen, nodes, n);
  else if (n == 0)
    pl_cli_info("pylock: the environment (generation %u) holds no packages; add some with: "
                "pylock install NAME",
                gen);
  goto out;
fail:
  rc = pl_cli_report("tree", &err);
out:
  pl_deptree_free(nodes, n);
  pl_requested_free(&rq);
  pl_env_close(&e);
  return rc;
}
