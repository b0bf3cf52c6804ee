#!/usr/bin/env bats
# make stress: the long version of gc.bats's race.  gc loops in one project
# while 25 others sync in parallel on the same state root, cold, then eight
# more rounds with other locks (warm, different locks sharing wheels): every
# sync succeeds, every project verifies, and the cache ends as exactly what
# the kept generations' manifests name.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load gc_helpers

setup_file() {
  gc_fixture
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

@test "gc_looping_while_25_projects_sync_nine_rounds_breaks_no_sync" {
  gc_race 25 8
}
