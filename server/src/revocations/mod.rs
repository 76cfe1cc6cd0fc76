//! The AWS kill switch: when a person is revoked, one inline policy on every role the profiles
//! name denies every session that carries their `SourceIdentity` and was issued before the
//! revocation. STS cannot revoke one temporary credential; IAM can deny it.
//!
//! [`Revocations::record`] is the entry point; [`worker`] applies what it records through [`apply`].

pub mod apply;
pub mod iam;
pub mod policy;
mod record;
mod roles;
pub mod step_error;
mod switch;
mod view;
pub mod worker;

pub use record::{RecordError, MAX_REASON};
pub use roles::{served_roles, ServedRole};
pub use switch::{start, Revocations};
pub use view::RoleView;
