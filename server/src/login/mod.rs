//! Logging in: the domain of the OAuth authorization server. People log in through the upstream
//! IdP (a browser code flow with PKCE, or a device code), CI jobs exchange their OIDC token, and
//! logins are refreshed and ended here. The `/oauth/*` and `/device` handlers parse input, call
//! one function of this module, and map its result, as `/v1/credentials` does with `issuance`.

pub mod authorize;
pub mod callback;
pub mod ci_exchange;
pub mod client_auth;
pub mod code;
pub mod device;
pub mod logout;
mod membership;
mod pair;
pub mod refresh;
pub mod refusal;
pub mod upstream;
