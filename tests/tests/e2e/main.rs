//! End-to-end tests of team-vault: one binary, one module per topic (run them with tests/run).

mod api_input;
mod audit;
mod audit_api;
mod audit_chain;
mod audit_cli;
mod audit_export;
mod audit_follow;
mod audit_retention;
mod audit_roles;
mod audit_secrets;
mod availability;
mod cache;
mod ci_attacks;
mod ci_cli;
mod ci_exchange;
mod commands;
mod credential_process;
mod exec;
mod login;
mod oauth_flow;
mod policy;
mod tokens;
