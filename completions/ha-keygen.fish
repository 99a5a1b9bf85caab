complete -c ha-keygen -s k -l key-file -d 'Key file to write or read; `-` means standard output (standard input for --fingerprint)' -r -F
complete -c ha-keygen -l size -d 'Size of a new key in bytes, from 128 to 4096' -r
complete -c ha-keygen -l force -d 'Replace an existing key file'
complete -c ha-keygen -l import -d 'Install a key read from standard input instead of generating one'
complete -c ha-keygen -l fingerprint -d 'Print the SHA-256 fingerprint of an existing key instead of writing one'
complete -c ha-keygen -l json -d 'Print JSON for scripts instead of text'
complete -c ha-keygen -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ha-keygen -s V -l version -d 'Print version'
