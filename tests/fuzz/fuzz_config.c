/* libFuzzer target: configuration files (lib/config.c), read from /etc/pylock and the
 * user's ~/.config/pylock.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_DEBUG=1 prints why each input was refused (to check that seeds get far). */
static void debug(const pl_error_t err) {
  static int on = -1;
  if (on < 0) on = getenv("FUZZ_DEBUG") != NULL;
  if (on && err && err->msg) fprintf(stderr, "fuzz: refused: %s\n", err->msg);
}

static int same(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct pl_config cfg;
  pl_config_init(&cfg);
  cfg.keepalive = 7;
  cfg.state_dir = strdup("/before/state");
  if (cfg.state_dir == NULL) return 0;
  pl_error_t err = NULL;
  if (pl_config_parse((const char *)data, size, "/etc/pylock/config.toml", &cfg, &err) == 0) {
    if (cfg.keepalive < 0 || cfg.keepalive > PL_CONFIG_KEEPALIVE_MAX) abort();
    if (cfg.state_dir == NULL || cfg.state_dir[0] != '/') abort();
    if (cfg.ca_bundle && cfg.ca_bundle[0] != '/') abort();
    if (strlen(cfg.state_dir) > PL_CONFIG_PATH_MAX) abort();
  } else {
    /* A file with an error changes nothing, and says why. */
    if (err == NULL || err->msg == NULL) abort();
    if (cfg.keepalive != 7 || !same(cfg.state_dir, "/before/state") || cfg.ca_bundle) abort();
    debug(err);
    pl_error_free(&err);
  }
  pl_config_free(&cfg);
  return 0;
}
