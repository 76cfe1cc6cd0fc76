//! Opening a URL in a browser: the commands in `BROWSER` when it is set (a `:`-separated list,
//! tried in turn, `%s` standing for the URL or the URL appended, as `xdg-open` and Python's
//! `webbrowser` read it), else the desktop's default opener. No message here names the URL:
//! some (a console sign-in) are credentials.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;

/// How long a `BROWSER` command may run before it counts as having taken the URL: a browser
/// started fresh stays in the foreground until it is closed.
const HANDED_OFF: Duration = Duration::from_secs(5);
/// The most `BROWSER` entries tried.
const MAX_ENTRIES: usize = 8;

/// Opens `url` in the person's browser.
pub fn open(url: &str) -> anyhow::Result<()> {
    match std::env::var("BROWSER") {
        Ok(list) if !list.trim().is_empty() => with_browser_variable(&list, url),
        _ => open::that_detached(url).map_err(|e| anyhow::anyhow!("no browser opener worked: {e}")),
    }
}

fn with_browser_variable(list: &str, url: &str) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    for entry in list
        .split(':')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .take(MAX_ENTRIES)
    {
        match run(&command_line(entry, url)) {
            Ok(()) => return Ok(()),
            Err(e) => failures.push(format!("`{entry}` {e}")),
        }
    }
    bail!("no command in BROWSER opened it ({})", failures.join("; "))
}

/// `entry` split on whitespace, `%s` replaced by the URL (`%%` is a `%`), else the URL appended.
fn command_line(entry: &str, url: &str) -> Vec<String> {
    let mut placed = false;
    let mut argv: Vec<String> = entry
        .split_whitespace()
        .map(|word| {
            if word.contains("%s") {
                placed = true;
            }
            word.replace("%s", url).replace("%%", "%")
        })
        .collect();
    if !placed {
        argv.push(url.to_owned());
    }
    argv
}

/// Runs `argv`: opened once it exits 0, or is still running after [`HANDED_OFF`].
fn run(argv: &[String]) -> Result<(), String> {
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("failed ({status})")),
            Ok(None) if started.elapsed() >= HANDED_OFF => return Ok(()),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("could not be waited for: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_replaces_percent_s_or_is_appended() {
        assert_eq!(
            command_line("firefox --new-tab %s", "https://x/?a=1"),
            ["firefox", "--new-tab", "https://x/?a=1"]
        );
        assert_eq!(
            command_line("chromium --incognito", "https://x/"),
            ["chromium", "--incognito", "https://x/"]
        );
        assert_eq!(command_line("echo 100%% %s", "u"), ["echo", "100%", "u"]);
    }

    #[test]
    fn the_entries_are_tried_in_turn_and_failures_do_not_name_the_url() {
        let url = "https://signin.example/?SigninToken=secret-token";
        assert!(with_browser_variable("false:true", url).is_ok());
        let err = with_browser_variable("false:/nonexistent/browser", url).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("`false` failed"), "{text}");
        assert!(
            text.contains("`/nonexistent/browser` could not start"),
            "{text}"
        );
        assert!(!text.contains("secret-token"), "{text}");
    }
}
