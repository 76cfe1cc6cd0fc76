use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::credentials::cache::test_credentials;

const MIN: i64 = 60 * 1000;

#[test]
fn the_margin_is_a_quarter_of_the_lifetime_capped_at_fifteen_minutes() {
    assert_eq!(margin_ms(60 * MIN), 15 * MIN);
    assert_eq!(margin_ms(12 * 60 * MIN), 15 * MIN);
    assert_eq!(margin_ms(20 * MIN), 5 * MIN);
    assert_eq!(margin_ms(20_000), 5_000);
    assert_eq!(margin_ms(-5), 0);
}

#[test]
fn the_refresh_comes_the_margin_before_expiry_less_at_most_a_tenth_of_it() {
    let (obtained, expires) = (0, 60 * MIN);
    assert_eq!(refresh_at(obtained, expires, 0.0), 45 * MIN);
    assert_eq!(refresh_at(obtained, expires, 0.5), 45 * MIN - 45_000);
    let earliest = refresh_at(obtained, expires, 0.999_999);
    assert!(
        earliest > 45 * MIN - 90_000 && earliest <= 45 * MIN - 89_000,
        "{earliest}"
    );
    assert_eq!(refresh_at(0, 20_000, 0.0), 15_000);
}

#[test]
fn retries_back_off_from_one_second_to_a_minute_and_never_past_expiry() {
    let far = 3_600_000;
    let waits: Vec<u64> = (1..=9).map(|n| retry_after(n, 0, far).as_secs()).collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    assert_eq!(retry_after(7, 0, 2_500), Duration::from_millis(2_500));
    assert_eq!(retry_after(3, 10_000, 5_000), Duration::from_secs(4));
}

#[test]
fn a_run_of_failures_gives_one_hint_and_a_success_rearms_it() {
    let mut hint = Hint::default();
    let first = hint.failed("dev", "connection refused", 1_893_459_600_000);
    assert_eq!(
        first.as_deref(),
        Some(
            "vault: could not refresh the dev session (connection refused); serving the current \
             one until 2030-01-01T01:00:00Z. Run `vault login` in another terminal if it does not recover."
        )
    );
    assert_eq!(hint.failed("dev", "again", 0), None);
    hint.recovered();
    assert!(hint.failed("dev", "later", 0).is_some());
}

/// Answers from a script of outcomes (then fails), counting the calls.
struct Script {
    outcomes: Mutex<VecDeque<Result<CachedCredentials, &'static str>>>,
    calls: Arc<Mutex<u32>>,
}

impl Fetch for Script {
    fn fetch(&self) -> Fetched<'_> {
        *self.calls.lock().unwrap() += 1;
        let next = self.outcomes.lock().unwrap().pop_front();
        Box::pin(async move {
            match next {
                Some(Ok(c)) => Ok(c),
                Some(Err(e)) => Err(anyhow::anyhow!(e)),
                None => Err(anyhow::anyhow!("no more")),
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_refresh_keeps_the_session_hints_once_and_a_later_success_replaces_it() {
    // 2030-01-01T00:00:00Z; the first session lasts a minute, the next one two more.
    let base_ms = 1_893_456_000_000_i64;
    let first = test_credentials("dev", "2030-01-01T00:01:00Z");
    let mut second = test_credentials("dev", "2030-01-01T00:03:00Z");
    second.credentials.access_key_id = "ASIASECOND".into();
    let calls = Arc::new(Mutex::new(0));
    let script = Script {
        outcomes: Mutex::new(VecDeque::from([
            Err("connection refused"),
            Err("connection refused"),
            Ok(second),
        ])),
        calls: calls.clone(),
    };
    let current = Arc::new(Current::new(Session::render(&first, base_ms / 1000)));
    let start = tokio::time::Instant::now();
    let clock: Clock = Arc::new(move || base_ms + start.elapsed().as_millis() as i64);
    let told = Arc::new(Mutex::new(Vec::<String>::new()));
    let lines = told.clone();
    let refresher = Refresher {
        fetch: script,
        current: current.clone(),
        profile: "dev".into(),
        clock: clock.clone(),
        tell: Box::new(move |line| lines.lock().unwrap().push(line.to_owned())),
    };
    let task = tokio::spawn(refresher.run(base_ms));
    for _ in 0..1000 {
        if *calls.lock().unwrap() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(*calls.lock().unwrap(), 3, "two failures, then the success");
    let now = clock() - base_ms;
    // Refresh at 45 s less up to 1.5 s; retries after 1 s and 2 s.
    assert!(
        (42_000..=48_500).contains(&now),
        "the success came at {now} ms"
    );
    tokio::task::yield_now().await;
    let served = current.get();
    assert_eq!(served.expires_at, base_ms / 1000 + 180);
    assert!(String::from_utf8_lossy(&served.ecs).contains("ASIASECOND"));
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("(connection refused)") && told[0].contains("2030-01-01T00:01:00Z"));
    task.abort();
}
