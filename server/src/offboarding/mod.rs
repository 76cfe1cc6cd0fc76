//! Offboarding: what admins see of people's live logins and how they end them. The domain calls
//! behind `vault admin sessions`, `disable`, `enable` and `revoke` (and, later, the web console's People page).

pub mod disable;
pub mod revoke;
pub mod sessions;
