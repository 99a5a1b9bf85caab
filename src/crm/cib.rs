//! The CIB: the typed cluster configuration and status model.
