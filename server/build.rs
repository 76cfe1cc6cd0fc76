//! Rebuilds the server when a migration is added, removed or changed: `sqlx::migrate!` embeds
//! the `migrations/` directory, but cargo alone notices only changes to files it already read
//! (sqlx's own advice, as `sqlx migrate build-script` writes it).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
