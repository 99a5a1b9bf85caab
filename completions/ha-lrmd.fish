# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ha_lrmd_global_optspecs
    string join \n json h/help V/version
end

function __fish_ha_lrmd_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ha_lrmd_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ha_lrmd_using_subcommand
    set -l cmd (__fish_ha_lrmd_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -s V -l version -d 'Print version'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -f -a "exec" -d 'Run one action of an agent now, without the daemon'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -f -a "ra" -d 'Resource agents: classes, providers, lists, meta-data'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -f -a "test" -d 'Check an agent against the OCF/LSB rules: start, start again, monitor, stop, stop again, monitor; exits 1 when it is not compliant'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -f -a "resources" -d 'Resources the daemon knows: tracked processes and last results'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -f -a "status" -d 'The daemon\'s counters'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -f -a "watch" -d 'Print op results as the daemon reports them, until interrupted'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -f -a "daemon" -d 'Run the executor daemon on $HA_RUN_DIR/lrmd.sock'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -f -a "builtin" -d 'Run a built-in agent action (how the executor runs built-in agents)'
complete -c ha-lrmd -n "__fish_ha_lrmd_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand exec" -l param -d 'Agent parameter (repeatable)' -r
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand exec" -l meta -d 'Op meta attribute (repeatable), e.g. monitor-by=processes' -r
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand exec" -l timeout -d 'Timeout of the action (20s, 500ms, 2min)' -r
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand exec" -l resource -d 'Resource id given to the agent (default: the agent type)' -r
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand exec" -l kill-grace -d 'Time between SIGTERM and SIGKILL for an action past its timeout' -r
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand exec" -l no-check -d 'Do not check parameters against the agent\'s meta-data'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand exec" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand exec" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and not __fish_seen_subcommand_from classes providers list info help" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and not __fish_seen_subcommand_from classes providers list info help" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and not __fish_seen_subcommand_from classes providers list info help" -f -a "classes" -d 'Agent classes this machine supports'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and not __fish_seen_subcommand_from classes providers list info help" -f -a "providers" -d 'OCF providers'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and not __fish_seen_subcommand_from classes providers list info help" -f -a "list" -d 'Agents of a class (ocf needs a provider)'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and not __fish_seen_subcommand_from classes providers list info help" -f -a "info" -d 'An agent\'s parameters, actions and how it is run and monitored'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and not __fish_seen_subcommand_from classes providers list info help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from classes" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from classes" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from providers" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from providers" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from list" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from info" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from help" -f -a "classes" -d 'Agent classes this machine supports'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from help" -f -a "providers" -d 'OCF providers'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from help" -f -a "list" -d 'Agents of a class (ocf needs a provider)'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from help" -f -a "info" -d 'An agent\'s parameters, actions and how it is run and monitored'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand ra; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand test" -l param -d 'Agent parameter (repeatable)' -r
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand test" -l timeout -d 'Timeout of each action' -r
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand test" -l resource -d 'Resource id given to the agent (default: the agent type)' -r
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand test" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand test" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand resources" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand resources" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand status" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand status" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand watch" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand watch" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand daemon" -s f -l foreground -d 'Stay in the foreground (the only mode; accepted for familiarity)'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand daemon" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand daemon" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand builtin" -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand builtin" -s h -l help -d 'Print help'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and not __fish_seen_subcommand_from exec ra test resources status watch daemon builtin help" -f -a "exec" -d 'Run one action of an agent now, without the daemon'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and not __fish_seen_subcommand_from exec ra test resources status watch daemon builtin help" -f -a "ra" -d 'Resource agents: classes, providers, lists, meta-data'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and not __fish_seen_subcommand_from exec ra test resources status watch daemon builtin help" -f -a "test" -d 'Check an agent against the OCF/LSB rules: start, start again, monitor, stop, stop again, monitor; exits 1 when it is not compliant'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and not __fish_seen_subcommand_from exec ra test resources status watch daemon builtin help" -f -a "resources" -d 'Resources the daemon knows: tracked processes and last results'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and not __fish_seen_subcommand_from exec ra test resources status watch daemon builtin help" -f -a "status" -d 'The daemon\'s counters'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and not __fish_seen_subcommand_from exec ra test resources status watch daemon builtin help" -f -a "watch" -d 'Print op results as the daemon reports them, until interrupted'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and not __fish_seen_subcommand_from exec ra test resources status watch daemon builtin help" -f -a "daemon" -d 'Run the executor daemon on $HA_RUN_DIR/lrmd.sock'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and not __fish_seen_subcommand_from exec ra test resources status watch daemon builtin help" -f -a "builtin" -d 'Run a built-in agent action (how the executor runs built-in agents)'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and not __fish_seen_subcommand_from exec ra test resources status watch daemon builtin help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and __fish_seen_subcommand_from ra" -f -a "classes" -d 'Agent classes this machine supports'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and __fish_seen_subcommand_from ra" -f -a "providers" -d 'OCF providers'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and __fish_seen_subcommand_from ra" -f -a "list" -d 'Agents of a class (ocf needs a provider)'
complete -c ha-lrmd -n "__fish_ha_lrmd_using_subcommand help; and __fish_seen_subcommand_from ra" -f -a "info" -d 'An agent\'s parameters, actions and how it is run and monitored'
