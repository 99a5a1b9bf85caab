complete -c ha-ring -l node-id -d 'This node\'s id, where several nodes share a machine (else found by address)' -r
complete -c ha-ring -l json -d 'Print JSON for scripts instead of text (start-up errors only)'
complete -c ha-ring -s f -l foreground -d 'Stay in the foreground (default: detach and write $HA_RUN_DIR/ring.pid)'
complete -c ha-ring -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-ring -s V -l version -d 'Print version'
