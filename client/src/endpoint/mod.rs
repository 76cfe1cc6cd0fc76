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
pub mod secret;
pub mod server;

pub use launch::{child_vars, launch, region_of, Endpoint, FromServer, Kind};
