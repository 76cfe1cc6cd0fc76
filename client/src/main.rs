//! The `vault` binary: everything lives in the `vault_client` library.

fn main() -> std::process::ExitCode {
    vault_client::main()
}
