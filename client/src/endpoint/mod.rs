//! The local credential endpoints of `vault exec --ecs-server` / `--ec2-server` and `vault serve`:
//! a container credential endpoint ([`ecs`]) or IMDSv2 ([`ec2`]) on a loopback port, answering
//! from the session in memory ([`current`]) after the checks of [`guard`], kept fresh by
//! [`refresh`], on the accept loop of [`server`].

pub mod current;
pub mod ec2;
pub mod ecs;
pub mod guard;
mod launch;
pub mod refresh;
mod reply;
pub mod server;

pub use launch::{child_vars, launch, region_of, Endpoint, FromServer, Kind};

use rand::rngs::OsRng;
use rand::RngCore;

/// 256 random bits as 64 hex characters (tokens and secret paths).
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
