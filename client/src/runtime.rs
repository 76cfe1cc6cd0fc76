//! The async runtime, built only for commands that talk to the server: a warm `vault exec` never
//! starts one.

/// A single-threaded async runtime.
pub fn single_threaded() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
