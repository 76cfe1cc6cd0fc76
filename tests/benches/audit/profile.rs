//! Where verification time goes (BENCH_AUDIT_PROFILE=1).

use super::*;

/// CPU seconds (user + system) used so far by a process, from /proc.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat(5); here indexes 11 and 12. 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

/// One pass over the whole chain per line, on one connection whose backend's CPU is read from
/// /proc: what Postgres costs to produce the verification COPY stream, what receiving it costs,
/// and what hashing every event on top of that costs.
pub(crate) async fn profile_verify(db_url: &str) -> Result<()> {
    use futures_util::TryStreamExt;
    let (from, to): (i64, i64) = {
        let mut conn = PgConnection::connect(db_url).await?;
        let range = sqlx::query_as("SELECT min(chain_seq), max(chain_seq) FROM audit_events")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        range
    };
    let rows = (to - from + 1) as f64;
    let me = std::process::id();
    println!("where verification time goes (one pass over {from}..={to} per line):");
    let statement = format!(
        "COPY (SELECT {}, prev_hash, hash FROM audit_events WHERE chain_seq BETWEEN {from} AND {to} \
         ORDER BY chain_seq) TO STDOUT (FORMAT binary)",
        vault_server::audit::chain::v2::FIELDS
    );

    // Postgres alone: the same query into a server-side sink, nothing sent.
    let mut conn = PgConnection::connect(db_url).await?;
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await?;
    let (t, c0, b0) = (Instant::now(), cpu_seconds(me), cpu_seconds(backend as u32));
    sqlx::query(&format!(
        "EXPLAIN (ANALYZE, TIMING OFF) {}",
        statement
            .trim_start_matches("COPY (")
            .trim_end_matches(") TO STDOUT (FORMAT binary)")
    ))
    .execute(&mut conn)
    .await?;
    let line = |name: &str, t: Instant, c0: f64, b0: f64| {
        let wall = t.elapsed().as_secs_f64();
        println!(
            "  {name:<58} {:>9.0} events/s  wall {wall:6.2} s  client CPU {:6.2} s  Postgres CPU {:6.2} s",
            rows / wall,
            cpu_seconds(me) - c0,
            cpu_seconds(backend as u32) - b0
        );
    };
    line(
        "Postgres runs the query, sends nothing (EXPLAIN ANALYZE)",
        t,
        c0,
        b0,
    );

    let (t, c0, b0) = (Instant::now(), cpu_seconds(me), cpu_seconds(backend as u32));
    let mut bytes = 0u64;
    {
        let mut chunks = conn.copy_out_raw(&statement).await?;
        while let Some(chunk) = chunks.try_next().await? {
            bytes += chunk.len() as u64;
        }
    }
    line(
        "Postgres sends the binary COPY, client only receives",
        t,
        c0,
        b0,
    );
    println!(
        "      ({:.0} bytes per event on the wire)",
        bytes as f64 / rows
    );
    conn.close().await?;

    // verify() itself, one part (one connection): receiving plus SHA-256 per event.
    let pool = pool(db_url, 2).await?;
    let (t, c0) = (Instant::now(), cpu_seconds(me));
    let report = verify::verify_in_parts(&pool, None, None, Some(1)).await?;
    check_report(&report, "verify() in one part")?;
    let wall = t.elapsed().as_secs_f64();
    println!(
        "  {:<58} {:>9.0} events/s  wall {wall:6.2} s  client CPU {:6.2} s",
        "verify() in one part (receive + SHA-256 per event)",
        rows / wall,
        cpu_seconds(me) - c0
    );
    pool.close().await;
    Ok(())
}
