//! The CIB, the crm shell language, the scheduler and the controller behind `ha-crm`.

pub mod cib;
pub mod controller;
pub mod scheduler;
pub mod score;
pub mod xml;
