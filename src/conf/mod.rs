//! The cluster configuration file `ha.conf`, in corosync.conf's syntax.
