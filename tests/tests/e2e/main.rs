//! End-to-end tests of team-vault: one binary, one module per topic (run them with tests/run).

mod api_input;
mod audit;
mod availability;
mod cache;
mod commands;
mod credential_process;
mod exec;
mod login;
mod oauth_flow;
mod policy;
mod tokens;
