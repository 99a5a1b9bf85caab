//! Resource agents (OCF, LSB, systemd, built-in) and the executor core behind `ha-lrmd`.
