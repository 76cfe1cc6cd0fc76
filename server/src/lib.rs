//! vault-server: logs people in through the company's IdP, decides who may assume which AWS
//! role, and issues audited STS sessions.

pub mod audit;
pub mod auth;
pub mod aws;
pub mod ci;
pub mod clients;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod error;
pub mod issuance;
pub mod keys;
pub mod limits;
pub mod login;
pub mod offboarding;
pub mod oidc;
pub mod policy;
pub mod principal;
pub mod request_meta;
pub mod revocations;
pub mod routes;
pub mod secrets;
pub mod serve;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod sts;
pub mod tokens;
pub mod trail;
pub mod upkeep;
