//! CI jobs log in with their CI provider's OIDC token (RFC 8693 token exchange): no stored secret.

pub mod jwks;
pub mod naming;
pub mod reuse;
pub mod rules;
pub mod verify;
