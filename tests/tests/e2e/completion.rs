//! `vault completion SHELL`: the scripts load in the real shells, and a Tab completes subcommands
//! and the profile names the CLI last fetched (alice's list: `dev`, never `ops`).

use std::ffi::OsString;

use vault_e2e::cli::{vault_binary, Cli, COMMAND_LIMIT};
use vault_e2e::process::{self, Output};
use vault_e2e::TestApp;

/// Runs `program -c script` on the CLI's machine, with `vault` on PATH.
async fn shell(cli: &Cli, program: &str, script: &str) -> Output {
    let mut cmd = cli.command_for(program);
    let bin_dir = vault_binary()
        .parent()
        .expect("the binary's directory")
        .to_owned();
    let mut path = OsString::from(bin_dir);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    cmd.env("PATH", path).arg("-c").arg(script);
    process::run(cmd, &format!("{program} -c …"), COMMAND_LIMIT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// What bash offers after `vault WORDS…` (the last word being completed), one per line.
async fn bash_offers(cli: &Cli, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source <(vault completion bash) || exit 3\n\
         COMP_WORDS=(vault {words}); COMP_CWORD={cword}; COMP_LINE='vault {line}'; \
         COMP_POINT=${{#COMP_LINE}}; COMP_TYPE=9\n\
         _clap_complete_vault vault '{current}' '{previous}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words = quoted.join(" "),
        cword = words.len(),
        current = words.last().unwrap_or(&""),
        previous = if words.len() > 1 {
            words[words.len() - 2]
        } else {
            "vault"
        },
    );
    let out = shell(cli, "bash", &script).await;
    out.assert_success("bash completion");
    out.stdout
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The offers that are not flags (clap offers the flags too when nothing is typed yet).
fn names(offered: Vec<String>) -> Vec<String> {
    offered
        .into_iter()
        .filter(|o| !o.starts_with('-'))
        .collect()
}

#[tokio::test]
async fn bash_completes_subcommands_and_the_profiles_the_cli_last_listed() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    assert_eq!(
        names(bash_offers(&cli, &["exec", ""]).await),
        Vec::<String>::new(),
        "no profile list was fetched yet"
    );

    cli.run(&["list"]).await.assert_success("vault list");

    assert_eq!(names(bash_offers(&cli, &["exec", ""]).await), ["dev"]);
    assert_eq!(bash_offers(&cli, &["export", "d"]).await, ["dev"]);
    assert_eq!(bash_offers(&cli, &["console", "d"]).await, ["dev"]);
    assert_eq!(
        bash_offers(&cli, &["exec", "o"]).await,
        Vec::<String>::new()
    );
    assert!(
        bash_offers(&cli, &["st"])
            .await
            .contains(&"status".to_owned()),
        "subcommands are completed"
    );
    let flags = bash_offers(&cli, &["exec", "dev", "--ec"]).await;
    assert!(flags.contains(&"--ecs-server".to_owned()), "{flags:?}");
}

#[tokio::test]
async fn fish_completes_the_profiles_a_credential_fetch_last_saw() {
    let app = TestApp::spawn().await;
    let cli = app.cli();
    cli.login_browser("alice").await;
    // A cold `vault exec` fetches the profile list alongside the credentials.
    cli.run(&["exec", "dev", "--", "true"])
        .await
        .assert_success("vault exec");

    let out = shell(
        &cli,
        "fish",
        "vault completion fish | source; complete -C 'vault credential-process '",
    )
    .await;

    out.assert_success("fish completion");
    let offered: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(names(offered), ["dev"], "{out}");
}

#[tokio::test]
async fn zsh_loads_the_completion_script_and_powershell_gets_an_argument_completer() {
    let app = TestApp::spawn().await;
    let cli = app.cli();

    let out = shell(
        &cli,
        "zsh",
        "autoload -U compinit && compinit -u && source <(vault completion zsh) && whence -w _clap_dynamic_completer_vault",
    )
    .await;
    out.assert_success("zsh loading the script");
    assert!(
        out.stdout
            .contains("_clap_dynamic_completer_vault: function"),
        "{out}"
    );

    let ps = cli.run(&["completion", "powershell"]).await;
    ps.assert_success("vault completion powershell");
    assert!(
        ps.stdout.contains("Register-ArgumentCompleter") && ps.stdout.contains("VAULT_COMPLETE"),
        "{ps}"
    );

    let bad = cli.run(&["completion", "tcsh"]).await;
    assert_eq!(bad.code(), Some(2), "{bad}");
    assert!(
        bad.stderr.contains("Error:") && bad.stderr.contains("hint:"),
        "{bad}"
    );
}
