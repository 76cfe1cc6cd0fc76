//! `vault admin keys` and `vault admin rotate` through the real CLI against the real server.

use std::time::Duration;
use vault_e2e::owned_keys::iam::BROKER_USER;
use vault_e2e::owned_keys::{mask, KeyBed, IDENTITY};
use vault_e2e::Cli;

/// `vault admin --help` lists both key commands, each with its description.
async fn assert_help_lists_the_key_commands(cli: &Cli) {
    let out = cli.run(&["admin", "--help"]).await;
    out.assert_success("vault admin --help");
    for (command, about) in [
        ("keys", "Show each identity's active key"),
        ("rotate", "Rotate now"),
    ] {
        let listed = out.stdout.lines().any(|line| {
            line.trim_start()
                .strip_prefix(command)
                .is_some_and(|rest| rest.trim_start().starts_with(about))
        });
        assert!(
            listed,
            "`vault admin --help` does not list `{command}` ({about} …):\n{out}"
        );
    }
}

#[tokio::test]
async fn vault_admin_keys_shows_the_masked_key_and_vault_admin_rotate_replaces_it() {
    let bed = KeyBed::builder().grace("0s", "0s").start().await;
    let server = bed.serve("replica-a").await;
    let mut cli = Cli::new(&server.url);
    cli.moto_url = bed.moto_url().to_owned();
    assert_help_lists_the_key_commands(&cli).await;
    let old = bed.original_key.id.clone();

    cli.login_browser("admin").await;
    let out = cli.run(&["admin", "keys"]).await;
    out.assert_success("vault admin keys");
    let masked = mask(&old);
    for expected in [IDENTITY, BROKER_USER, masked.as_str()] {
        assert!(
            out.stdout.contains(expected),
            "`{expected}` missing:\n{out}"
        );
    }
    assert!(
        !out.stdout.contains(&old),
        "the key id is shown unmasked:\n{out}"
    );

    let out = cli.run(&["admin", "rotate", "--identity", IDENTITY]).await;
    out.assert_success("vault admin rotate --identity broker");
    let rotations = bed.rotations().await;
    assert_eq!(rotations.len(), 1, "{rotations:#?}");
    let done = bed
        .wait_finished(rotations[0].id, Duration::from_secs(60))
        .await;
    assert_eq!(done.step, "done", "{done:#?}");
    let new = done.new_key_id.expect("the new key");

    let out = cli.run(&["admin", "keys"]).await;
    out.assert_success("vault admin keys after the rotation");
    eprintln!("OUTPUT vault admin keys:\n{}", out.stdout);
    assert!(
        out.stdout.contains(&mask(&new)),
        "the new key is not shown:\n{out}"
    );
    assert!(
        out.stdout.contains("done"),
        "the rotation's outcome is not shown:\n{out}"
    );
    assert!(
        !out.stdout.contains(&new),
        "the key id is shown unmasked:\n{out}"
    );

    let out = cli.run(&["admin", "rotate", "--identity", "nobody"]).await;
    out.assert_failure("vault admin rotate --identity nobody");
    assert!(out.stderr.contains("nobody"), "{out}");

    // Not for everyone: a developer may neither see nor rotate the server's keys.
    let dev = Cli::new(&server.url);
    dev.login_browser("alice").await;
    let out = dev.run(&["admin", "rotate"]).await;
    out.assert_failure("vault admin rotate as a developer");
    assert!(
        out.stderr.contains("admin groups"),
        "not refused as a non-admin:\n{out}"
    );
    let out = dev.run(&["admin", "keys"]).await;
    out.assert_failure("vault admin keys as a developer");
    assert!(
        out.stderr.contains("admin groups"),
        "not refused as a non-admin:\n{out}"
    );
    assert!(!out.stdout.contains(&mask(&new)), "{out}");
    assert_eq!(
        bed.rotations().await.len(),
        1,
        "a developer's rotate request was taken"
    );
}
