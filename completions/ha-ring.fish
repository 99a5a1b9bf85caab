complete -c ha-ring -l json -d 'Print JSON for scripts instead of text'
complete -c ha-ring -s h -l help -d 'Print help'
complete -c ha-ring -s V -l version -d 'Print version'
