# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ha_lab_global_optspecs
    string join \n json name= base-dir= bin-dir= h/help V/version
end

function __fish_ha_lab_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ha_lab_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ha_lab_using_subcommand
    set -l cmd (__fish_ha_lab_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ha-lab -n "__fish_ha_lab_needs_command" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_needs_command" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_needs_command" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_needs_command" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -s V -l version -d 'Print version'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "up" -d 'Create the network, write and sync the config and key, start every node\'s stack'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "exec" -d 'Run a command inside a node (or the client) with its HA_* environment'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "crash" -d 'Kill a node\'s whole stack with SIGKILL'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "start" -d 'Start a node\'s stack again after a crash'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "cut" -d 'Pull a node\'s cable (its switch port goes down)'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "heal" -d 'Plug a node\'s cable back in; without a node, undo every cut and partition'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "partition" -d 'Split the switch into groups that cannot reach each other, e.g. `partition 1,2 3`'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "status" -d 'Show nodes, addresses, links and live processes'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "logs" -d 'Print the last lines of a node\'s daemon logs'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "down" -d 'Remove every namespace, process and file of the lab; safe to run twice'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "demo" -d 'Run the guide step by step in a fresh lab, then measure failover from a client'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "bench" -d 'Measure failover gaps, start-up time, CLI latency and memory over many fresh labs'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "node-init" -d 'Pid 1 of a node\'s pid namespace: starts the node\'s daemons and reaps orphans'
complete -c ha-lab -n "__fish_ha_lab_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand up" -s n -l nodes -d 'Number of nodes (1-32)' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand up" -l subnet -d 'First three octets of the lab\'s /24' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand up" -l daemon -d 'A daemon command line each node starts, e.g. "ha-lrmd -f"; repeatable [default: "ha-ring -f"]' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand up" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand up" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand up" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand up" -l network-only -d 'Only build the network and directories; write no config and start no daemon'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand up" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand up" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand exec" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand exec" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand exec" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand exec" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand crash" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand crash" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand crash" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand crash" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand crash" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand start" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand start" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand start" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand start" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand start" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand cut" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand cut" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand cut" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand cut" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand cut" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand heal" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand heal" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand heal" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand heal" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand heal" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand partition" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand partition" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand partition" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand partition" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand partition" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand status" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand status" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand status" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand status" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand status" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand logs" -l lines -d 'Lines per log file' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand logs" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand logs" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand logs" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand logs" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand logs" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand down" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand down" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand down" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand down" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand down" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand demo" -s n -l nodes -d 'Number of nodes (1-32)' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand demo" -l wait-ms -d 'Longest wait for the service to answer or move, in milliseconds' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand demo" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand demo" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand demo" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand demo" -l keep -d 'Leave the lab running at the end'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand demo" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand demo" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l runs -d 'Fresh labs to measure in, per stack (`--runs 1 --faults standby` is the quick check; 0 measures nothing and reports the `--load` files)' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -s n -l nodes -d 'Number of nodes (1-32)' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l faults -d 'Faults to inject in each run, in order' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l wait-ms -d 'Longest wait for the service to answer, move or settle, in milliseconds' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l stacks -d 'Stacks to measure: hakit, pacemaker (Corosync + Pacemaker, configured with crmsh), keepalived' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l output -d 'Also write the tables (markdown) to this file' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l save -d 'Also save every measured value to this JSON file, for a later `--load`' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l load -d 'Report stacks measured earlier (a `--save` file) beside this run\'s; repeatable. A stack measured now replaces the same stack from a file' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l plot -d 'Also draw the failover gaps of every run into this PNG file (needs a build with the `plot` feature)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l with-peers -d 'Also measure Pacemaker + Corosync and keepalived (when installed) and print the ratios'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l keep-failed -d 'Stop at the first failed run and leave its lab running for a look inside (`ha-lab logs`, `ha-lab exec`, then `ha-lab down`)'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand bench" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand node-init" -l log-dir -d 'Where each daemon\'s log goes (`<program>.log`)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand node-init" -l daemon -d 'A daemon command line to start; repeatable' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand node-init" -l name -d 'Lab name, prefix of its namespaces; use different names to run labs side by side' -r
complete -c ha-lab -n "__fish_ha_lab_using_subcommand node-init" -l base-dir -d 'Directory holding one directory per lab' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand node-init" -l bin-dir -d 'Directory of the hakit binaries to run on the nodes (default: beside ha-lab)' -r -F
complete -c ha-lab -n "__fish_ha_lab_using_subcommand node-init" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand node-init" -s h -l help -d 'Print help'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "up" -d 'Create the network, write and sync the config and key, start every node\'s stack'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "exec" -d 'Run a command inside a node (or the client) with its HA_* environment'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "crash" -d 'Kill a node\'s whole stack with SIGKILL'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "start" -d 'Start a node\'s stack again after a crash'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "cut" -d 'Pull a node\'s cable (its switch port goes down)'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "heal" -d 'Plug a node\'s cable back in; without a node, undo every cut and partition'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "partition" -d 'Split the switch into groups that cannot reach each other, e.g. `partition 1,2 3`'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "status" -d 'Show nodes, addresses, links and live processes'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "logs" -d 'Print the last lines of a node\'s daemon logs'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "down" -d 'Remove every namespace, process and file of the lab; safe to run twice'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "demo" -d 'Run the guide step by step in a fresh lab, then measure failover from a client'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "bench" -d 'Measure failover gaps, start-up time, CLI latency and memory over many fresh labs'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "node-init" -d 'Pid 1 of a node\'s pid namespace: starts the node\'s daemons and reaps orphans'
complete -c ha-lab -n "__fish_ha_lab_using_subcommand help; and not __fish_seen_subcommand_from up exec crash start cut heal partition status logs down demo bench node-init help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
