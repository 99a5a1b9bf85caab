# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ha_crm_global_optspecs
    string join \n json cib-file= f/file= h/help V/version
end

function __fish_ha_crm_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ha_crm_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ha_crm_using_subcommand
    set -l cmd (__fish_ha_crm_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ha-crm -n "__fish_ha_crm_needs_command" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_needs_command" -s f -l file -d 'Run the commands in FILE as one batch (all or nothing)' -r -F
complete -c ha-crm -n "__fish_ha_crm_needs_command" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -s V -l version -d 'Print version'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "configure" -d 'Show, change, verify and commit the configuration (crm shell syntax)'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "resource" -d 'Resources: start, stop, restart, move, ban, clear, cleanup, status, locate, manage'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "node" -d 'Nodes: list, standby, online, maintenance, ready [NODE] (default: this node), attribute'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "ra" -d 'Resource agents: classes, list CLASS [PROVIDER], info AGENT'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "status" -d 'The cluster\'s state in crm_mon\'s layout: nodes, resources, failed actions'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "events" -d 'Print the controller\'s event stream (one line per event; JSON lines with --json)'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "simulate" -d 'Show what the cluster would do with a CIB: status, transition summary, actions'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "explain" -d 'Explain where a resource runs (or why it is stopped): every score term per node'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "daemon" -d 'Run this node\'s controller: replicated CIB, DC, transitions (normally started by ha-ring)'
complete -c ha-crm -n "__fish_ha_crm_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand configure" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand configure" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand configure" -s h -l help -d 'Print help'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand resource" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand resource" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand resource" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand node" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand node" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand node" -s h -l help -d 'Print help'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand ra" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand ra" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand ra" -s h -l help -d 'Print help'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand status" -l interval -d 'With --watch: the longest wait between refreshes' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand status" -l count -d 'With --watch: stop after this many refreshes' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand status" -l xml -d 'Show the status recorded in a Pacemaker CIB XML file instead' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand status" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand status" -l watch -d 'Refresh in place on every cluster event (or every --interval) until interrupted'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand status" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand events" -l count -d 'Stop after this many events' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand events" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand events" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand events" -s h -l help -d 'Print help'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -l xml -d 'Pacemaker CIB XML file to read (instead of the CIB file)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -l node-down -d 'What if this node went down cleanly (repeatable)' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -l node-up -d 'What if this node came up (repeatable)' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -l standby -d 'What if this node were put in standby (repeatable)' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -l op-fail -d 'What if an operation returned RC: `RSC_OP_INTERVAL@NODE=RC`, e.g. `vip_monitor_10000@node1=7`' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -l now -d '"Now" as epoch seconds (default: the CIB\'s execution-date, else the clock)' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -l show-scores -d 'Also print the allocation score of every resource on every node'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand simulate" -s h -l help -d 'Print help'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand explain" -l xml -d 'Pacemaker CIB XML file to read (instead of the CIB file)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand explain" -l now -d '"Now" as epoch seconds (default: the CIB\'s execution-date, else the clock)' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand explain" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand explain" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand explain" -s h -l help -d 'Print help'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand daemon" -l node-id -d 'This node\'s id in ha.conf\'s nodelist (where several nodes share a machine)' -r
complete -c ha-crm -n "__fish_ha_crm_using_subcommand daemon" -l cib-file -d 'Work on this CIB file instead of the live cluster (created on first commit)' -r -F
complete -c ha-crm -n "__fish_ha_crm_using_subcommand daemon" -s f -l foreground -d 'Stay in the foreground (for supervisors and debugging)'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand daemon" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand daemon" -s h -l help -d 'Print help'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "configure" -d 'Show, change, verify and commit the configuration (crm shell syntax)'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "resource" -d 'Resources: start, stop, restart, move, ban, clear, cleanup, status, locate, manage'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "node" -d 'Nodes: list, standby, online, maintenance, ready [NODE] (default: this node), attribute'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "ra" -d 'Resource agents: classes, list CLASS [PROVIDER], info AGENT'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "status" -d 'The cluster\'s state in crm_mon\'s layout: nodes, resources, failed actions'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "events" -d 'Print the controller\'s event stream (one line per event; JSON lines with --json)'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "simulate" -d 'Show what the cluster would do with a CIB: status, transition summary, actions'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "explain" -d 'Explain where a resource runs (or why it is stopped): every score term per node'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "daemon" -d 'Run this node\'s controller: replicated CIB, DC, transitions (normally started by ha-ring)'
complete -c ha-crm -n "__fish_ha_crm_using_subcommand help; and not __fish_seen_subcommand_from configure resource node ra status events simulate explain daemon help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
