//! `vault completion bash|zsh|fish|powershell|elvish`: the script that hooks `vault` into the
//! shell's completion (see [`crate::completion`]).

use std::io::Write;

use clap::{Parser, ValueEnum};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::completion::VAR;

/// Print the shell code that completes vault's commands, flags and profile names.
///
/// bash: `source <(vault completion bash)` in ~/.bashrc; zsh: `source <(vault completion zsh)` in
/// ~/.zshrc; fish: `vault completion fish | source` in ~/.config/fish/config.fish; PowerShell:
/// `vault completion powershell | Out-String | Invoke-Expression` in $PROFILE.
#[derive(Debug, Parser)]
pub struct Cmd {
    /// The shell to complete in
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Cmd {
    pub fn run(self) -> anyhow::Result<()> {
        let mut script = Vec::new();
        registration(self.shell, &completer_path(), &mut script)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&script)?;
        Ok(out.flush()?)
    }
}

/// Writes `shell`'s registration, which runs `completer` to complete `vault`.
fn registration(shell: Shell, completer: &str, buf: &mut dyn Write) -> std::io::Result<()> {
    let shell: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Powershell => &Powershell,
        Shell::Elvish => &Elvish,
    };
    shell.write_registration(VAR, "vault", "vault", completer, buf)
}

/// How the shell should run vault to complete: as it was run now, made absolute when it was a
/// relative path (a bare name is looked up on PATH, as the shell does).
fn completer_path() -> String {
    let arg0 =
        std::path::PathBuf::from(std::env::args_os().next().unwrap_or_else(|| "vault".into()));
    let path = if arg0.components().count() > 1 {
        std::path::absolute(&arg0).unwrap_or(arg0)
    } else {
        arg0
    };
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shells_script_runs_vault_with_the_completion_variable() {
        for shell in Shell::value_variants() {
            let mut buf = Vec::new();
            registration(*shell, "/opt/bin/vault", &mut buf).unwrap();
            let script = String::from_utf8(buf).unwrap();
            assert!(script.contains(VAR), "{shell:?}: {script}");
            assert!(script.contains("/opt/bin/vault"), "{shell:?}: {script}");
        }
    }
}
