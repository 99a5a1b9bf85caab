# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ha_cfgtool_global_optspecs
    string join \n json node-id= s/status h/help V/version
end

function __fish_ha_cfgtool_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ha_cfgtool_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ha_cfgtool_using_subcommand
    set -l cmd (__fish_ha_cfgtool_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -s s -l status -d 'Show the ring status (same as the `status` subcommand; like corosync-cfgtool -s)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -s V -l version -d 'Print version'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -f -a "config" -d 'Check, show, export or import the cluster configuration'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -f -a "status" -d 'Ring status of this node: node id, ring id, interface state (needs ha-ring)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -f -a "members" -d 'Members of the current ring: id, name, address, votes, time in the ring'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -f -a "quorum" -d 'Quorum: expected and total votes, quorate, flags (like corosync-quorumtool -s)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -f -a "shutdown" -d 'Make the local ha-ring leave the ring cleanly and stop'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -f -a "reload" -d 'Make the local ha-ring re-read ha.conf (nodes may be added or removed)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -f -a "sync" -d 'Push this node\'s ha.conf to every ring member, which check, back up, write and reload it'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -f -a "doctor" -d 'Check what keeps a ring from forming: config, key, addresses, routes, host name, port, datagrams dropped per node, and every member\'s key, config hash and version'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and not __fish_seen_subcommand_from check show export import help" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and not __fish_seen_subcommand_from check show export import help" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and not __fish_seen_subcommand_from check show export import help" -s h -l help -d 'Print help'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and not __fish_seen_subcommand_from check show export import help" -f -a "check" -d 'Parse and validate a configuration; print its warnings'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and not __fish_seen_subcommand_from check show export import help" -f -a "show" -d 'Print the effective configuration, every default filled in'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and not __fish_seen_subcommand_from check show export import help" -f -a "export" -d 'Write the configuration, and with --with-key the authkey, as one bundle to stdout'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and not __fish_seen_subcommand_from check show export import help" -f -a "import" -d 'Install a bundle from stdin: validate, back up the old configuration, write atomically'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and not __fish_seen_subcommand_from check show export import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from check" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from check" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from show" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from export" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from export" -l with-key -d 'Include the authkey (anyone holding the bundle can then join the cluster)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from export" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from import" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from import" -l force -d 'Replace an existing authkey that differs from the bundle\'s'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from import" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Parse and validate a configuration; print its warnings'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the effective configuration, every default filled in'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "export" -d 'Write the configuration, and with --with-key the authkey, as one bundle to stdout'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "import" -d 'Install a bundle from stdin: validate, back up the old configuration, write atomically'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand status" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand status" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand status" -s h -l help -d 'Print help'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand members" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand members" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand members" -s h -l help -d 'Print help'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand quorum" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand quorum" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand quorum" -s h -l help -d 'Print help'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand shutdown" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand shutdown" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand shutdown" -s h -l help -d 'Print help'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand reload" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand reload" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand reload" -s h -l help -d 'Print help'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand sync" -l timeout-ms -d 'How long to wait for the members\' answers' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand sync" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand sync" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand doctor" -l timeout-ms -d 'How long to wait for the members\' facts' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand doctor" -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand doctor" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and not __fish_seen_subcommand_from config status members quorum shutdown reload sync doctor help" -f -a "config" -d 'Check, show, export or import the cluster configuration'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and not __fish_seen_subcommand_from config status members quorum shutdown reload sync doctor help" -f -a "status" -d 'Ring status of this node: node id, ring id, interface state (needs ha-ring)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and not __fish_seen_subcommand_from config status members quorum shutdown reload sync doctor help" -f -a "members" -d 'Members of the current ring: id, name, address, votes, time in the ring'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and not __fish_seen_subcommand_from config status members quorum shutdown reload sync doctor help" -f -a "quorum" -d 'Quorum: expected and total votes, quorate, flags (like corosync-quorumtool -s)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and not __fish_seen_subcommand_from config status members quorum shutdown reload sync doctor help" -f -a "shutdown" -d 'Make the local ha-ring leave the ring cleanly and stop'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and not __fish_seen_subcommand_from config status members quorum shutdown reload sync doctor help" -f -a "reload" -d 'Make the local ha-ring re-read ha.conf (nodes may be added or removed)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and not __fish_seen_subcommand_from config status members quorum shutdown reload sync doctor help" -f -a "sync" -d 'Push this node\'s ha.conf to every ring member, which check, back up, write and reload it'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and not __fish_seen_subcommand_from config status members quorum shutdown reload sync doctor help" -f -a "doctor" -d 'Check what keeps a ring from forming: config, key, addresses, routes, host name, port, datagrams dropped per node, and every member\'s key, config hash and version'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and not __fish_seen_subcommand_from config status members quorum shutdown reload sync doctor help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Parse and validate a configuration; print its warnings'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the effective configuration, every default filled in'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "export" -d 'Write the configuration, and with --with-key the authkey, as one bundle to stdout'
complete -c ha-cfgtool -n "__fish_ha_cfgtool_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "import" -d 'Install a bundle from stdin: validate, back up the old configuration, write atomically'
