//! Operating the audit trail: committing events (the group-committing writer), verifying the
//! hash chain, and pruning to the retention period. The events and the chain they form are the
//! model in [`crate::audit`], which the database layer stores; this module sits above both.

pub mod retention;
pub mod verify;
pub mod writer;
