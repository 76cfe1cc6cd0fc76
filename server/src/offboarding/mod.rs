//! Offboarding: what admins see of people's live logins and how they end them. The domain calls
//! behind `vault admin sessions` (and, later, the web console's People page).

pub mod sessions;
