# fish completion for pylock(1).  Install as
# /usr/share/fish/vendor_completions.d/pylock.fish.
# SPDX-License-Identifier: Apache-2.0

# The words typed from the command on: global options (and -C's argument)
# before it are dropped.
function __pylock_words
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case -C --project
                set -e words[1..2]
            case '-*'
                set -e words[1]
            case '*'
                break
        end
    end
    set -q words[1]; and printf '%s\n' $words
end

# The command word (the first word after the global options), or nothing.
function __pylock_command
    set -l words (__pylock_words)
    set -q words[1]; or return 1
    echo $words[1]
end

# True when the command is $argv[1] and its subcommand (if given) is $argv[2].
function __pylock_using
    set -l words (__pylock_words)
    test "$words[1]" = "$argv[1]"; or return 1
    set -q argv[2]; or return 0
    test "$words[2]" = "$argv[2]"
end

# The command is $argv[1] and no subcommand is typed yet.
function __pylock_needs_sub
    set -l words (__pylock_words)
    test "$words[1]" = "$argv[1]"; and test (count $words) -eq 1
end

# The -C argument, if any.
function __pylock_project_arg
    set -l words (commandline -opc)
    for i in (seq 2 (count $words))
        switch $words[$i]
            case -C --project
                set -l j (math $i + 1)
                set -q words[$j]; and echo $words[$j]
                return
        end
    end
end

# Requested packages (what `pylock remove` takes): the names in
# [tool.pylock] requested of the project's pylock.toml, read as text (nothing
# is run or created; no environment is needed).  Only what a package name
# may hold is offered: the file may come from a pull request.
function __pylock_requested
    set -l dir (__pylock_project_arg)
    if test -z "$dir"
        set dir $PWD
        while not test -f $dir/pylock.toml
            test "$dir" = /; and return
            set dir (dirname $dir)
        end
    end
    test -f $dir/pylock.toml -a -r $dir/pylock.toml; or return
    awk '
    function name(s) {
      if (match(s, /^[ \t]*[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?/)) {
        s = substr(s, RSTART, RLENGTH); sub(/^[ \t]+/, "", s)
        if (!(s in seen)) { seen[s] = 1; print s }
      }
    }
    # The strings of the array, up to its closing bracket (one outside a string).
    function scan(line,   i, c) {
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (q == "\"" && c == "\\\\") { cur = cur substr(line, i + 1, 1); i++ }
        else if (q != "" && c == q) { name(cur); q = ""; cur = "" }
        else if (q != "") cur = cur c
        else if (c == "\"" || c == "\047") q = c
        else if (c == "#") return
        else if (c == "]") exit
      }
    }
    inarr { scan($0); next }
    /^[ \t]*\[/ { t = $0; sub(/#.*/, "", t); gsub(/[][ \t"]/, "", t); table = t; next }
    table == "tool.pylock" && /^[ \t]*("requested"|requested)[ \t]*=[ \t]*\[/ {
      line = $0; sub(/^[^=]*=[ \t]*\[/, "", line); inarr = 1; scan(line)
    }' $dir/pylock.toml 2>/dev/null
end

function __pylock_trusted
    command pylock trust list 2>/dev/null | while read -l -d \t name kind rest
        if test -z "$argv[1]" -o "$kind" = "$argv[1]"
            echo $name
        end
    end
end

complete -c pylock -f

# Global options and commands.
complete -c pylock -n 'not __pylock_command' -s C -l project -r -a '(__fish_complete_directories)' -d 'Use the project at DIR'
complete -c pylock -n 'not __pylock_command' -s q -l quiet -d 'Print only errors'
complete -c pylock -n 'not __pylock_command' -s v -l verbose -d 'Say more'
complete -c pylock -n 'not __pylock_command' -s V -l version -d 'Print the version and exit'
complete -c pylock -n 'not __pylock_command' -s h -l help -d 'Print help and exit'
complete -c pylock -n 'not __pylock_command' -a init -d 'Create a project'
complete -c pylock -n 'not __pylock_command' -a lock -d 'Resolve the requested set into pylock.toml'
complete -c pylock -n 'not __pylock_command' -a install -d 'Add requirements, lock and sync'
complete -c pylock -n 'not __pylock_command' -a remove -d 'Remove packages, lock and sync'
complete -c pylock -n 'not __pylock_command' -a sync -d 'Make the environment match pylock.toml'
complete -c pylock -n 'not __pylock_command' -a run -d 'Run a command in the environment'
complete -c pylock -n 'not __pylock_command' -a ci -d 'Sync --frozen, verify, then run'
complete -c pylock -n 'not __pylock_command' -a shell -d 'Start $SHELL in the environment'
complete -c pylock -n 'not __pylock_command' -a list -d 'List the packages of the environment'
complete -c pylock -n 'not __pylock_command' -a tree -d 'Show the dependency tree of the environment'
complete -c pylock -n 'not __pylock_command' -a info -d 'Where the environment lives, how it is sandboxed'
complete -c pylock -n 'not __pylock_command' -a verify -d 'Check installed files against RECORD and the lock'
complete -c pylock -n 'not __pylock_command' -a rollback -d 'Switch back to the previous generation'
complete -c pylock -n 'not __pylock_command' -a gc -d 'Remove unused generations and cache entries'
complete -c pylock -n 'not __pylock_command' -a cache -d 'Print where the shared cache is, or clean it'
complete -c pylock -n 'not __pylock_command' -a shim -d 'Install or remove the python3/pip shims'
complete -c pylock -n 'not __pylock_command' -a doctor -d 'Check that this machine can run pylock'
complete -c pylock -n 'not __pylock_command' -a registry -d 'Create, extend, re-sign, verify a registry'
complete -c pylock -n 'not __pylock_command' -a key -d 'Generate, import or show a signing key'
complete -c pylock -n 'not __pylock_command' -a trust -d 'Add, list, remove trusted roots'

# -h/--help: every command and subcommand.
complete -c pylock -n __pylock_command -s h -l help -d 'Print help and exit'

complete -c pylock -n '__pylock_using init' -s p -l python -r -d 'Base interpreter: path or version'
complete -c pylock -n '__pylock_using init' -l registry -r -a '(__fish_complete_directories)' -d 'Signed registry URL or directory'
complete -c pylock -n '__pylock_using init' -l root -r -F -d 'Trusted TUF root of the registry'
complete -c pylock -n '__pylock_using init' -l trusted -x -a '(__pylock_trusted)' -d 'A root added with pylock trust add'
complete -c pylock -n '__pylock_using init' -a '(__fish_complete_directories)'
complete -c pylock -n '__pylock_using lock' -l check -d 'Change nothing; exit 1 if out of date'
complete -c pylock -n '__pylock_using install' -s r -l requirement -r -F -d 'Add the requirements of FILE'
for cmd in lock install
    complete -c pylock -n "__pylock_using $cmd" -s U -l upgrade -d 'Resolve every package afresh'
    complete -c pylock -n "__pylock_using $cmd" -s P -l upgrade-package -x -d 'Resolve NAME afresh'
end
complete -c pylock -n '__pylock_using sync' -l frozen -d 'Fail if pylock.toml is stale; never re-lock'
complete -c pylock -n '__pylock_using sync' -l repair -d 'Rebuild, checking every byte of the cache'
for cmd in sync ci
    complete -c pylock -n "__pylock_using $cmd" -l offline -d 'Use the metadata as last verified; fetch nothing'
    complete -c pylock -n "__pylock_using $cmd" -l trusted -x -a '(__pylock_trusted)' -d 'Anchor to a root added with pylock trust add'
    complete -c pylock -n "__pylock_using $cmd" -l extra -x -d "Install the lock's extra NAME too"
    complete -c pylock -n "__pylock_using $cmd" -l group -x -d "Install the lock's dependency group NAME"
end
complete -c pylock -n '__pylock_using ci; or __pylock_using sync' -l python -r -F -d 'The interpreter to build on'
complete -c pylock -n '__pylock_using remove' -a '(__pylock_requested)' -d 'Requested package'
for cmd in run shell ci
    complete -c pylock -n "__pylock_using $cmd" -s s -l strict -d 'Home read-only but the project, no network or sockets'
    complete -c pylock -n "__pylock_using $cmd" -s n -l no-network -d 'Own network namespace, loopback only'
    complete -c pylock -n "__pylock_using $cmd" -s w -l allow-write -r -F -d 'Let the command write PATH too'
end
complete -c pylock -n '__pylock_using run' -a '(__fish_complete_subcommand --fcs-skip=2 -C --project -w --allow-write)'
complete -c pylock -n '__pylock_using ci' -l json -d 'JSON summary on stderr'
complete -c pylock -n '__pylock_using ci' -a '(__fish_complete_subcommand --fcs-skip=2 -C --project -w --allow-write --python --trusted --extra --group)'
complete -c pylock -n '__pylock_using list; or __pylock_using tree' -l json -d 'One JSON object'
complete -c pylock -n '__pylock_using gc' -l orphans-after -x -d 'Remove orphan projects after DAYS days (0: now)'
complete -c pylock -n '__pylock_using gc' -l wait -x -d 'Give up after SECONDS if syncs hold the cache'
complete -c pylock -n '__pylock_needs_sub cache' -a 'dir clean'
complete -c pylock -n '__pylock_needs_sub cache; or __pylock_using cache clean' -l wait -x -d 'Give up after SECONDS if syncs hold the cache'
complete -c pylock -n '__pylock_using info' -l json -d 'One JSON object with every key'
complete -c pylock -n '__pylock_using info; and test (count (string match -v -- "-*" (__pylock_words))) -eq 1' -a 'project state generation layer python version prefix state-root cache sandbox byte-code' -d 'Key'

complete -c pylock -n '__pylock_needs_sub registry' -a 'init add index withdraw sign verify'
complete -c pylock -n '__pylock_using registry init; or __pylock_using registry add; or __pylock_using registry index; or __pylock_using registry withdraw; or __pylock_using registry sign' -l key -r -F -d 'Private signing key'
complete -c pylock -n '__pylock_using registry init; or __pylock_using registry add; or __pylock_using registry index; or __pylock_using registry withdraw; or __pylock_using registry sign' -l expires -x -d 'Validity in days'
complete -c pylock -n '__pylock_using registry init' -l threshold -x -d 'Signatures each role requires'
complete -c pylock -n '__pylock_using registry init' -l online-key -r -F -d 'Key holding timestamp, snapshot and bins'
complete -c pylock -n '__pylock_using registry init' -l bins -x -d 'Delegate targets to N hashed bins'
complete -c pylock -n '__pylock_using registry init' -l project-index -d 'Publish a PEP 691 index target per project (the default)'
complete -c pylock -n '__pylock_using registry init' -l no-project-index -d 'Publish no per-project index targets'
complete -c pylock -n '__pylock_using registry sign' -l add-root-key -r -F -d 'Add this key to the root role'
complete -c pylock -n '__pylock_using registry sign' -l remove-root-key -x -d 'Drop a key id from the root role'
complete -c pylock -n '__pylock_using registry sign' -l renew-root -d 'Sign a new root version'
complete -c pylock -n '__pylock_using registry sign' -l accept-edits -d 'Sign targets added or changed by hand'
complete -c pylock -n '__pylock_using registry verify' -l root -r -F -d 'Trusted root to verify against'
complete -c pylock -n '__pylock_using registry verify' -l trusted -x -a '(__pylock_trusted)' -d 'Trusted root name'
complete -c pylock -n '__pylock_using registry verify' -l state -r -a '(__fish_complete_directories)' -d 'Keep the last versions seen'
complete -c pylock -n '__pylock_using registry verify' -l targets -d 'Also check every target'
complete -c pylock -n '__pylock_using registry verify' -l target -x -d 'Look up, download and check one target'
complete -c pylock -n '__pylock_using registry; and not __pylock_needs_sub registry' -F

complete -c pylock -n '__pylock_needs_sub key' -a 'generate import show'
complete -c pylock -n '__pylock_using key generate' -s o -l output -r -F -d 'Where to write the private key'
complete -c pylock -n '__pylock_using key show' -F
complete -c pylock -n '__pylock_using key import' -s n -l name -x -d 'Name of the key in the keys directory'
complete -c pylock -n '__pylock_using key import' -F

complete -c pylock -n '__pylock_needs_sub trust' -a 'add list remove'
complete -c pylock -n '__pylock_using trust add' -l name -x -d 'Name to keep the root under'
complete -c pylock -n '__pylock_using trust add' -F
complete -c pylock -n '__pylock_using trust remove' -a '(__pylock_trusted user)' -d 'User root'

complete -c pylock -n '__pylock_needs_sub shim' -a 'install uninstall'
complete -c pylock -n '__pylock_using shim install; or __pylock_using shim uninstall' -l user -d 'In ~/.local/bin'
complete -c pylock -n '__pylock_using shim install; or __pylock_using shim uninstall' -l system -d 'In /usr/local/bin'
complete -c pylock -n '__pylock_using shim install; or __pylock_using shim uninstall' -l dir -r -a '(__fish_complete_directories)' -d 'In DIR'
complete -c pylock -n '__pylock_using shim install' -l python -r -F -d 'The real interpreter outside projects'
