//! Seeding the database with the generated trail (kept between runs).

use super::*;

/// What a finished generation recorded, so a later run can reuse the database.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Generated {
    pub(crate) events: i64,
    pub(crate) last_hash: Vec<u8>,
    pub(crate) end_at: OffsetDateTime,
    pub(crate) seconds: f64,
}

/// Creates (or reuses) the bench database and makes sure it holds the generated chain.
pub(crate) async fn prepare_database(
    admin_url: &str,
    s: &Settings,
    world: &Arc<World>,
) -> Result<(String, Generated)> {
    let name = format!("bench_audit_{}", s.events);
    let mut url = url::Url::parse(admin_url).context("VAULT_TEST_DATABASE_URL")?;
    url.set_path(&name);
    let db_url = url.to_string();
    let mut admin = PgConnection::connect(admin_url).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if exists && !s.regenerate {
        let pool = pool(&db_url, 2).await?;
        vault_server::db::MIGRATOR.run(&pool).await?;
        if let Some(g) = generated(&pool, s.events).await? {
            println!(
                "reusing database {name}: {} generated events (generation took {:.0} s; BENCH_AUDIT_REGENERATE=1 makes a new one)",
                g.events, g.seconds
            );
            pool.close().await;
            return Ok((db_url, g));
        }
        pool.close().await;
    }
    if exists {
        println!("dropping database {name} (incomplete, outdated or regeneration asked for)");
        sqlx::query(&format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))
            .execute(&mut admin)
            .await?;
    }
    sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
        .execute(&mut admin)
        .await?;
    admin.close().await.ok();
    let pool = pool(&db_url, 2).await?;
    vault_server::db::MIGRATOR.run(&pool).await?;
    pool.close().await;
    let g = generate(&db_url, s.events, world).await?;
    Ok((db_url, g))
}

/// The recorded generation, if the database still holds exactly it (last event in place).
pub(crate) async fn generated(pool: &PgPool, events: i64) -> Result<Option<Generated>> {
    let has_table: bool =
        sqlx::query_scalar("SELECT to_regclass('bench_audit_generated') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    if !has_table {
        return Ok(None);
    }
    let g: Option<Generated> = sqlx::query_as(
        "SELECT events, last_hash, end_at, seconds FROM bench_audit_generated WHERE version = $1",
    )
    .bind(GENERATOR_VERSION)
    .fetch_optional(pool)
    .await?;
    let Some(g) = g.filter(|g| g.events == events) else {
        return Ok(None);
    };
    let stored: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT hash FROM audit_events WHERE chain_seq = $1")
            .bind(events)
            .fetch_optional(pool)
            .await?;
    let first: Option<i64> = sqlx::query_scalar("SELECT min(chain_seq) FROM audit_events")
        .fetch_one(pool)
        .await?;
    // Each run appends a few hundred events (its queries are audited); once they add up, the
    // trail is no longer the one generated and queries would pay for skipping them.
    let (head, _) = vault_server::db::audit::head(pool).await?;
    let appended = head - events;
    if appended > (events / 200).max(5_000) {
        println!("{appended} events were appended since generation: generating again");
        return Ok(None);
    }
    Ok((stored.as_deref() == Some(g.last_hash.as_slice()) && first == Some(1)).then_some(g))
}

/// Seals `n` events in chain order and loads them with COPY, all in one transaction (an
/// interrupted run leaves an empty table). Indexes are dropped for the load and rebuilt from
/// their saved definitions, which is several times faster than maintaining them row by row.
pub(crate) async fn generate(db_url: &str, n: i64, world: &Arc<World>) -> Result<Generated> {
    let started = Instant::now();
    let end = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid");
    let mut conn = PgConnection::connect(db_url).await?;
    sqlx::raw_sql("SET maintenance_work_mem = '1GB'; SET synchronous_commit = off")
        .execute(&mut conn)
        .await?;
    let mut tx = conn.begin().await?;
    let constraints: Vec<(String, String)> = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'audit_events'::regclass AND contype IN ('p', 'u') ORDER BY conname",
    )
    .fetch_all(&mut *tx)
    .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = 'audit_events' \
           AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'audit_events'::regclass) \
         ORDER BY indexname",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!(r#"DROP INDEX "{name}""#))
            .execute(&mut *tx)
            .await?;
    }
    for (name, _) in &constraints {
        sqlx::query(&format!(
            r#"ALTER TABLE audit_events DROP CONSTRAINT "{name}""#
        ))
        .execute(&mut *tx)
        .await?;
    }

    // The generator runs on a thread of its own; Postgres parses COPY on the other core.
    let (chunks, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let world = world.clone();
    let producer = std::thread::spawn(move || -> Vec<u8> {
        let mut rng = StdRng::seed_from_u64(SEED ^ n as u64);
        let mut timeline = Timeline::new(end);
        let mut turn = false;
        let mut prev = GENESIS.to_vec();
        let mut buf = Vec::with_capacity(CHUNK + 64 * 1024);
        let mut scratch = Vec::with_capacity(1024);
        let t0 = Instant::now();
        for seq in 1..=n {
            let at = timeline.at(seq - 1, n);
            let mut event = world.event(&mut rng, at, &mut turn);
            event.id = uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
            let row = AuditRow::seal(&event, seq, &prev);
            copy_line(&mut buf, &mut scratch, &row);
            prev = row.hash;
            if buf.len() >= CHUNK || seq == n {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + 64 * 1024));
                if chunks.blocking_send(full).is_err() {
                    break; // the loader failed; it reports why
                }
            }
            if seq % 1_000_000 == 0 {
                eprintln!(
                    "  sealed and sent {seq} events ({:.0}/s)",
                    seq as f64 / t0.elapsed().as_secs_f64()
                );
            }
        }
        prev
    });
    let mut copy = tx
        .copy_in_raw(
            "COPY audit_events (hash_version, chain_seq, id, occurred_at, action, outcome, principal_id, principal, \
             principal_kind, profile, role_arn, session_name, source_identity, access_key_id, expiration, \
             duration_seconds, reason, client_addr, user_agent, request_id, details, prev_hash, hash) FROM STDIN",
        )
        .await?;
    while let Some(chunk) = rx.recv().await {
        copy.send(chunk).await?;
    }
    let loaded = copy.finish().await?;
    let last_hash = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the generator thread panicked"))?;
    if loaded != n as u64 {
        bail!("COPY loaded {loaded} rows, expected {n}");
    }
    let loaded_at = started.elapsed();
    println!(
        "  sealed and loaded {n} events in {:.1} s ({:.0}/s)",
        loaded_at.as_secs_f64(),
        n as f64 / loaded_at.as_secs_f64()
    );

    for (name, def) in &constraints {
        sqlx::query(&format!(
            r#"ALTER TABLE audit_events ADD CONSTRAINT "{name}" {def}"#
        ))
        .execute(&mut *tx)
        .await?;
    }
    for (_, def) in &indexes {
        sqlx::query(def).execute(&mut *tx).await?;
    }
    let indexed_at = started.elapsed();
    println!(
        "  rebuilt {} indexes in {:.1} s",
        constraints.len() + indexes.len(),
        (indexed_at - loaded_at).as_secs_f64()
    );
    // The head table is the one updatable part of the chain (audit_events refuses UPDATE).
    sqlx::query("UPDATE audit_chain_head SET chain_seq = $1, hash = $2 WHERE id")
        .bind(n)
        .bind(&last_hash)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_audit_generated (version INT, events BIGINT, \
         last_hash BYTEA, end_at TIMESTAMPTZ, seconds DOUBLE PRECISION)",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM bench_audit_generated")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Statistics and the visibility map, as autovacuum would leave them after such a load.
    sqlx::query("VACUUM (ANALYZE) audit_events")
        .execute(&mut conn)
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    sqlx::query("INSERT INTO bench_audit_generated VALUES ($1, $2, $3, $4, $5)")
        .bind(GENERATOR_VERSION)
        .bind(n)
        .bind(&last_hash)
        .bind(end)
        .bind(seconds)
        .execute(&mut conn)
        .await?;
    let size: String =
        sqlx::query_scalar("SELECT pg_size_pretty(pg_total_relation_size('audit_events'))")
            .fetch_one(&mut conn)
            .await?;
    conn.close().await.ok();
    println!(
        "generated {n} events in {seconds:.0} s (seal + COPY {:.0} s, indexes {:.0} s, VACUUM ANALYZE {:.0} s); table with indexes: {size}",
        loaded_at.as_secs_f64(),
        (indexed_at - loaded_at).as_secs_f64(),
        seconds - indexed_at.as_secs_f64()
    );
    Ok(Generated {
        events: n,
        last_hash,
        end_at: end,
        seconds,
    })
}

/// One row of COPY text format: tab-separated, `\N` for NULL, backslash escapes.
pub(crate) fn copy_line(buf: &mut Vec<u8>, scratch: &mut Vec<u8>, r: &AuditRow) {
    use std::io::Write;
    pub(crate) fn text(buf: &mut Vec<u8>, s: &str) {
        for &b in s.as_bytes() {
            match b {
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                _ => buf.push(b),
            }
        }
    }
    pub(crate) fn opt(buf: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => text(buf, s),
            None => buf.extend_from_slice(b"\\N"),
        }
    }
    pub(crate) fn bytea(buf: &mut Vec<u8>, bytes: &[u8]) {
        const HEX: &[u8] = b"0123456789abcdef";
        buf.extend_from_slice(b"\\\\x"); // `\x` with the backslash escaped for COPY
        for b in bytes {
            buf.push(HEX[(b >> 4) as usize]);
            buf.push(HEX[(b & 15) as usize]);
        }
    }
    let tab = |buf: &mut Vec<u8>| buf.push(b'\t');
    write!(buf, "{}\t{}", r.hash_version, r.chain_seq).expect("vec");
    tab(buf);
    text(buf, &r.id.to_string());
    tab(buf);
    text(buf, &format_time(r.occurred_at));
    tab(buf);
    text(buf, &r.action);
    tab(buf);
    text(buf, &r.outcome);
    tab(buf);
    opt(buf, r.principal_id.map(|u| u.to_string()).as_deref());
    for s in [
        &r.principal,
        &r.principal_kind,
        &r.profile,
        &r.role_arn,
        &r.session_name,
        &r.source_identity,
        &r.access_key_id,
    ] {
        tab(buf);
        opt(buf, s.as_deref());
    }
    tab(buf);
    opt(buf, r.expiration.map(format_time).as_deref());
    tab(buf);
    opt(buf, r.duration_seconds.map(|d| d.to_string()).as_deref());
    for s in [&r.reason, &r.client_addr, &r.user_agent, &r.request_id] {
        tab(buf);
        opt(buf, s.as_deref());
    }
    tab(buf);
    scratch.clear();
    serde_json::to_writer(&mut *scratch, &r.details).expect("json");
    text(buf, std::str::from_utf8(scratch).expect("utf-8 json"));
    tab(buf);
    bytea(buf, &r.prev_hash);
    tab(buf);
    bytea(buf, &r.hash);
    buf.push(b'\n');
}
