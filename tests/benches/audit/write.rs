//! The write path: two replicas, one chain.

use super::*;

pub(crate) async fn write_phase(
    pool: &PgPool,
    db_url: &str,
    world: &Arc<World>,
    secs: u64,
    durable: bool,
) -> Result<()> {
    const REPLICAS: usize = 2;
    const TASKS: usize = 64;
    let settings: (String, String) =
        sqlx::query_as("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
            .fetch_one(pool)
            .await?;
    let (before, _) = vault_server::db::audit::head(pool).await?;
    let committed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut pools = Vec::new();
    let mut handles = Vec::new();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    for replica in 0..REPLICAS {
        let p = pool_writer(db_url).await?;
        let writer = AuditWriter::start(p.clone());
        pools.push(p);
        for task in 0..TASKS {
            let (writer, world, committed, failed) = (
                writer.clone(),
                world.clone(),
                committed.clone(),
                failed.clone(),
            );
            handles.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64((replica * TASKS + task) as u64);
                let mut turn = false;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let now = OffsetDateTime::now_utc();
                    let mut e = world.event(&mut rng, now, &mut turn);
                    e.id = Uuid::new_v4();
                    let t = Instant::now();
                    match writer.write(e).await {
                        Ok(()) => {
                            committed.fetch_add(1, Ordering::Relaxed);
                            latencies.push(t.elapsed());
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
            }));
        }
    }
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    for p in pools {
        p.close().await;
    }
    let (after, _) = vault_server::db::audit::head(pool).await?;
    let committed = committed.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    latencies.sort();
    let label = if durable {
        "durable: fsync on, synchronous_commit on"
    } else {
        "as the test cluster runs: fsync off, synchronous_commit off"
    };
    println!(
        "write path ({label}; server reports fsync={}, synchronous_commit={}):",
        settings.0, settings.1
    );
    println!(
        "  {REPLICAS} writers x {TASKS} tasks for {elapsed:.1} s: {committed} events committed = {:.0} events/s (target >= 2000); {failed} failed; write() latency p50 {:.1} ms p99 {:.1} ms",
        committed as f64 / elapsed,
        ms(pct(&latencies, 50.0)),
        ms(pct(&latencies, 99.0))
    );
    if (after - before) as u64 != committed {
        bail!(
            "the chain head moved by {} but {committed} writes were acknowledged",
            after - before
        );
    }
    let t = Instant::now();
    let report = verify::verify(pool, Some(before + 1), Some(after)).await?;
    check_report(&report, "verify() of the written range")?;
    println!(
        "  chain {}..={} verifies: {} events checked in {:.2} s, one unbroken chain across both writers",
        before + 1,
        after,
        report.checked,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A replica's pool, as the server configures its own (db::connect: 20 connections).
pub(crate) async fn pool_writer(db_url: &str) -> Result<PgPool> {
    pool(db_url, 20).await
}
