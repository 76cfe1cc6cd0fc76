//! Who is calling: the `Caller` extractor (any authenticated principal) and the `Admin`
//! extractor (a caller in the admin groups).

mod admin;
mod caller;

pub use admin::{Admin, Attempt};
pub use caller::Caller;
