//! The AWS kill switch: when a person is revoked, one inline policy on every role the profiles
//! name denies every session that carries their `SourceIdentity` and was issued before the
//! revocation. STS cannot revoke one temporary credential; IAM can deny it.

pub mod policy;
