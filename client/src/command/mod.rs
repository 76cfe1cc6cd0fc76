//! One module per leaf command: a `clap` `Cmd` struct and its `run`.

pub mod admin;
pub mod audit;
pub mod completion;
pub mod console;
pub mod credential_process;
pub mod exec;
pub mod export;
pub mod list;
pub mod login;
pub mod logout;
pub mod serve;
pub mod status;
pub mod whoami;
