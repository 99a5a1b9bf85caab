//! Newline-delimited JSON requests and replies over Unix stream sockets.
