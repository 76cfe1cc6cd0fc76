//! Command output on stdout, where a reader that went away (`vault list | head -1`) is not an error.

use std::io::Write;

/// Writes command output to stdout; a reader that went away is not an error.
pub fn print_out(text: &str) -> anyhow::Result<()> {
    write_out(text).map(drop)
}

/// Like [`print_out`], telling whether the reader is still there (`false` once it went away), so
/// that a command printing without end (`vault audit --follow | head`) can stop.
pub fn write_out(text: &str) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A listing as the server's JSON (`--json`), or as `table` renders it; an empty one says
/// `empty` on stderr instead of printing a bare header.
pub fn print_listing<T: serde::Serialize>(
    items: &[T],
    json: bool,
    empty: &str,
    table: impl FnOnce(&[T]) -> String,
) -> anyhow::Result<()> {
    if json {
        let mut text = serde_json::to_string_pretty(items)?;
        text.push('\n');
        return print_out(&text);
    }
    if items.is_empty() {
        eprintln!("{empty}");
        return Ok(());
    }
    print_out(&table(items))
}
