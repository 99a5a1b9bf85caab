complete -c ha-lrmd -l json -d 'Print JSON for scripts instead of text'
complete -c ha-lrmd -s h -l help -d 'Print help'
complete -c ha-lrmd -s V -l version -d 'Print version'
