"""Where the benchmarks keep private keys and signing configurations.

pylock refuses a private key where code it runs could write or replace it
(/tmp, where the benchmarks work), so they go to BENCH_KEYS (set by
integration/bench/run: a directory of the run's home, outside /tmp), else
to ~/.config/pylock/keys.  A key of a former round is removed first: pylock
never overwrites one.
SPDX-License-Identifier: Apache-2.0"""
import os
import shutil
import subprocess


def _base():
    d = os.environ.get("BENCH_KEYS") or os.path.join(os.path.expanduser("~"), ".config", "pylock",
                                                     "keys")
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def generate(pl, name):
    """A new private key NAME (and NAME.pub) made by pylock: its path."""
    path = os.path.join(_base(), name)
    for f in (path, path + ".pub"):
        if os.path.lexists(f):
            os.remove(f)
    subprocess.run([pl, "key", "generate", "-o", path], check=True, stdout=subprocess.DEVNULL)
    return path


def config_dir(name):
    """A fresh, empty XDG_CONFIG_HOME beside the keys (its keys directory may hold keys)."""
    path = os.path.join(_base(), "config-" + name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    return path
