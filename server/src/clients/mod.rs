//! Registered OAuth clients: the built-in `vault-cli` and the `[[clients]]` of the configuration.
//! Pure data and decisions (which redirect, which grant, which secret); the routes ask, the
//! login flows act. Nothing here does I/O.

pub mod basic;
pub mod model;
pub mod redirect;
pub mod registry;

pub use model::{Client, ClientKind, Grant, RedirectRule, SecretHash};
pub use registry::Registry;
