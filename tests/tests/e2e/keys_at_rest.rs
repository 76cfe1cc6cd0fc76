//! The server's own keys at rest: sealed under the master key (a dump of the whole database holds
//! no secret), a wrong master key stops the server with a message naming both key ids, and
//! `keys rewrap` moves every key to a new master key.

use std::time::{Duration, Instant};
use vault_e2e::owned_keys::{master_key_id, new_master_key, server, KeyBed};

/// `pg_dump` of the test database, as text.
async fn pg_dump(bed: &KeyBed) -> String {
    let bin = std::env::var("VAULT_TEST_PG_BIN").expect("VAULT_TEST_PG_BIN (tests/run sets it)");
    let mut cmd = tokio::process::Command::new(std::path::Path::new(&bin).join("pg_dump"));
    cmd.arg("--no-owner").arg("--dbname").arg(&bed.database.url);
    let out = vault_e2e::process::run(cmd, "pg_dump", Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    out.assert_success("pg_dump");
    out.stdout
}

#[tokio::test]
async fn a_dump_of_the_database_holds_no_secret_key_before_or_after_a_rotation() {
    let bed = KeyBed::builder().grace("0s", "0s").start().await;
    let server = bed.serve("replica-a").await;
    let admin = bed.token(&server, "admin").await;
    let old = bed.original_key.clone();

    let started = Instant::now();
    let id = bed.request_rotation(&server, &admin).await;
    let done = bed.wait_finished(id, Duration::from_secs(60)).await;
    eprintln!(
        "MEASURE full rotation (deactivate_after=0s, delete_after=0s, key_check_interval=1s): {:?}",
        started.elapsed()
    );
    assert_eq!(done.step, "done", "{done:#?}");
    let new = bed
        .stored_key(done.new_key_id.as_deref().expect("new key"))
        .await;

    let dump = pg_dump(&bed).await;
    // The dump is real: it has the keys' rows, sealed under the master key.
    let sealed_prefix = format!("v1:{}:", master_key_id(&bed.master_key));
    for key in [&old, &new] {
        assert!(dump.contains(&key.id), "{} is not in the dump", key.id);
    }
    assert!(
        dump.matches(&sealed_prefix).count() >= 2,
        "no sealed secrets in the dump"
    );
    for (what, secret) in [
        ("the imported secret", &old.secret),
        ("the rotated-in secret", &new.secret),
        ("the master key", &bed.master_key),
    ] {
        assert!(secret.len() >= 16);
        assert!(
            !dump.contains(secret.as_str()),
            "{what} is in the database dump"
        );
    }
    // Nor the master key's other spellings, nor a secret in the server's log.
    let log = server.log_text();
    for secret in [&old.secret, &new.secret, &bed.master_key] {
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the server log"
        );
    }
}

#[tokio::test]
async fn a_wrong_or_missing_master_key_stops_the_server_with_a_message_naming_the_key_ids() {
    let bed = KeyBed::builder().start().await;
    let right = master_key_id(&bed.master_key);
    let wrong_key = new_master_key();
    let wrong = master_key_id(&wrong_key);
    let config = bed.write_config("refused", server::free_port());
    let config = config.to_string_lossy().into_owned();

    let out = server::run(
        &["serve", "--config", &config],
        &[("VAULT_MASTER_KEY", wrong_key.as_str())],
    )
    .await;
    out.assert_failure("vault-server serve with the wrong master key");
    eprintln!("REFUSAL (wrong master key): {}", out.stderr.trim());
    assert!(
        out.stderr.contains(&right) && out.stderr.contains(&wrong),
        "the message does not name both master key ids ({right}, {wrong}):\n{out}"
    );
    assert!(out.stderr.contains("master key"), "{out}");
    assert!(
        !out.stderr.contains(&wrong_key),
        "the master key itself is printed:\n{out}"
    );
    assert!(!out.stderr.contains("listening on"), "{out}");

    let out = server::run(&["serve", "--config", &config], &[]).await;
    out.assert_failure("vault-server serve without a master key");
    assert!(out.stderr.contains("VAULT_MASTER_KEY"), "{out}");

    let out = server::run(
        &["serve", "--config", &config],
        &[("VAULT_MASTER_KEY", "too-short")],
    )
    .await;
    out.assert_failure("vault-server serve with a malformed master key");
    assert!(out.stderr.contains("32 bytes"), "{out}");

    // The right key still works: the refusals changed nothing.
    let server = bed.serve("replica-a").await;
    let alice = bed.token(&server, "alice").await;
    bed.assert_issuance_works(&server, &alice).await;
}

#[tokio::test]
async fn keys_rewrap_reseals_every_key_and_the_server_then_starts_only_with_the_new_master_key() {
    let bed = KeyBed::builder().grace("0s", "0s").start().await;
    let old_master = bed.master_key.clone();
    // A rotation first, so there is more than the imported key (the old one is deleted).
    {
        let server = bed.serve("replica-a").await;
        let admin = bed.token(&server, "admin").await;
        let id = bed.request_rotation(&server, &admin).await;
        bed.wait_finished(id, Duration::from_secs(60)).await;
    }
    let live = bed
        .keys()
        .await
        .into_iter()
        .filter(|k| k.state != "deleted")
        .count();
    let secret_before = bed.stored_key(&bed.active_key_ids().await[0]).await.secret;

    let new_master = new_master_key();
    let out = bed.rewrap(&old_master, &new_master).await;
    out.assert_success("vault-server keys rewrap");
    let (from, to) = (master_key_id(&old_master), master_key_id(&new_master));
    assert!(
        out.stdout.contains(&format!(
            "re-sealed {live} keys from master key {from} to {to}"
        )),
        "{out}"
    );
    for key in bed.keys().await.iter().filter(|k| k.state != "deleted") {
        assert_eq!(key.master_key_id, to, "{key:?}");
        assert!(
            key.sealed_secret.starts_with(&format!("v1:{to}:")),
            "{key:?}"
        );
    }
    let rewraps = bed.audit_rows_for("key_rewrap").await;
    assert_eq!(rewraps.len(), 1, "{rewraps:#?}");
    assert_eq!(rewraps[0]["details"]["from_master_key_id"], from.as_str());
    assert_eq!(rewraps[0]["details"]["to_master_key_id"], to.as_str());

    // The old master key no longer opens anything; the new one does, and the key is the same.
    let config = bed.write_config("refused", server::free_port());
    let config = config.to_string_lossy().into_owned();
    let out = server::run(
        &["serve", "--config", &config],
        &[("VAULT_MASTER_KEY", old_master.as_str())],
    )
    .await;
    out.assert_failure("vault-server serve with the replaced master key");
    assert!(
        out.stderr.contains(&from) && out.stderr.contains(&to),
        "{out}"
    );
    let server = bed.serve_with_master_key("replica-b", &new_master).await;
    let alice = bed.token(&server, "alice").await;
    bed.assert_issuance_works(&server, &alice).await;
    let reopened = vault_server::keys::seal::MasterKey::parse(&new_master)
        .unwrap()
        .open(
            &bed.keys()
                .await
                .into_iter()
                .find(|k| k.state == "active")
                .unwrap()
                .sealed_secret,
            &bed.active_key_ids().await[0],
        )
        .expect("the new master key opens the active key");
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&reopened),
        secret_before
    );

    // A second rewrap with the same keys has nothing left to do.
    let out = bed.rewrap(&old_master, &new_master).await;
    out.assert_success("a repeated vault-server keys rewrap");
    assert!(out.stdout.contains("re-sealed 0 keys"), "{out}");
}
