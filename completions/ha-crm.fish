complete -c ha-crm -l json -d 'Print JSON for scripts instead of text'
complete -c ha-crm -s h -l help -d 'Print help'
complete -c ha-crm -s V -l version -d 'Print version'
