//! The CIB, the crm shell language, the scheduler and the controller behind `ha-crm`.

pub mod access;
pub mod cib;
pub mod client;
pub mod controller;
pub mod date;
pub mod digest;
pub mod edit;
pub mod group_link;
pub mod ops;
pub mod render;
pub mod scheduler;
pub mod score;
pub mod shell;
pub mod status_view;
pub mod store;
pub mod verify;
pub mod xml;

/// The ring process group the controllers talk in.
pub const GROUP_NAME: &str = "crm";
