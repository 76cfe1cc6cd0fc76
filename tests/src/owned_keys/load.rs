//! A steady issuance load: `POST /v1/credentials` at a fixed rate, each request on its own task
//! so a slow answer never delays the next one; every outcome is kept with its times.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One request's outcome.
#[derive(Debug, Clone)]
pub struct Sample {
    pub sent: Instant,
    pub done: Instant,
    /// `None` when the request did not get an answer at all.
    pub status: Option<u16>,
    /// The body of a failure (a success's body holds credentials and is not kept).
    pub error: Option<String>,
    /// A success's `AccessKeyId` (not a secret: the audit trail records it too).
    pub access_key_id: Option<String>,
}

impl Sample {
    pub fn ok(&self) -> bool {
        self.status == Some(200)
    }
}

/// A running load.
pub struct Load {
    stop: watch::Sender<bool>,
    pacer: JoinHandle<Vec<JoinHandle<()>>>,
    samples: Arc<Mutex<Vec<Sample>>>,
    pub started: Instant,
}

/// What a load saw.
#[derive(Debug)]
pub struct LoadReport {
    pub samples: Vec<Sample>,
    pub started: Instant,
}

impl Load {
    /// Issues `profile` credentials with `token` at `per_second` until stopped.
    pub fn start(server_url: &str, token: &str, profile: &str, per_second: u32) -> Load {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build()
            .expect("reqwest client");
        let url = format!("{}/v1/credentials", server_url.trim_end_matches('/'));
        let body = serde_json::json!({ "profile": profile });
        let token = token.to_owned();
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = watch::channel(false);
        let sink = samples.clone();
        let period = Duration::from_secs(1) / per_second;
        let pacer = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut tasks = Vec::new();
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => break,
                }
                let (http, url, body, token, sink) = (
                    http.clone(),
                    url.clone(),
                    body.clone(),
                    token.clone(),
                    sink.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let sent = Instant::now();
                    let (status, error, access_key_id) =
                        match http.post(&url).bearer_auth(&token).json(&body).send().await {
                            Ok(resp) => {
                                let status = resp.status().as_u16();
                                let text = resp.text().await.unwrap_or_default();
                                let key = (status == 200)
                                    .then(|| serde_json::from_str::<serde_json::Value>(&text).ok())
                                    .flatten()
                                    .and_then(|v| v["AccessKeyId"].as_str().map(str::to_owned));
                                (Some(status), (status != 200).then_some(text), key)
                            }
                            Err(e) => (None, Some(e.to_string()), None),
                        };
                    let sample = Sample {
                        sent,
                        done: Instant::now(),
                        status,
                        error,
                        access_key_id,
                    };
                    sink.lock().unwrap_or_else(|e| e.into_inner()).push(sample);
                }));
            }
            tasks
        });
        Load {
            stop,
            pacer,
            samples,
            started: Instant::now(),
        }
    }

    /// Requests sent at or after `from` that have their answer (or their error) by now.
    pub fn answered_since(&self, from: Instant) -> usize {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|s| s.sent >= from)
            .count()
    }

    /// Successful answers to requests sent at or after `from`, so far.
    pub fn successes_since(&self, from: Instant) -> usize {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|s| s.sent >= from && s.ok())
            .count()
    }

    /// Waits until `n` requests sent at or after `from` have their answer.
    pub async fn wait_answered_since(&self, from: Instant, n: usize, limit: Duration) {
        crate::poll::until(
            &format!("{n} answers to requests sent after a moment of the load"),
            limit,
            || async { (self.answered_since(from) >= n).then_some(()) },
        )
        .await;
    }

    /// Stops sending and waits for every request in flight.
    pub async fn stop(self) -> LoadReport {
        let _ = self.stop.send(true);
        let tasks = self.pacer.await.expect("the pacer panicked");
        for t in tasks {
            t.await.expect("a load request panicked");
        }
        let mut samples = self
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        samples.sort_by_key(|s| s.sent);
        LoadReport {
            samples,
            started: self.started,
        }
    }
}

impl LoadReport {
    pub fn failures(&self) -> Vec<&Sample> {
        self.samples.iter().filter(|s| !s.ok()).collect()
    }

    /// The longest time within `[from, to]` without a successful answer arriving.
    pub fn longest_gap(&self, from: Instant, to: Instant) -> Duration {
        let mut times: Vec<Instant> = self
            .samples
            .iter()
            .filter(|s| s.ok() && s.done >= from && s.done <= to)
            .map(|s| s.done)
            .collect();
        times.sort();
        let mut last = from;
        let mut longest = Duration::ZERO;
        for t in times.into_iter().chain(std::iter::once(to)) {
            longest = longest.max(t - last);
            last = t;
        }
        longest
    }

    /// Requests sent within `[from, to]`.
    pub fn sent_between(&self, from: Instant, to: Instant) -> usize {
        self.samples
            .iter()
            .filter(|s| s.sent >= from && s.sent <= to)
            .count()
    }

    /// The slowest answer.
    pub fn max_latency(&self) -> Duration {
        self.samples
            .iter()
            .map(|s| s.done - s.sent)
            .max()
            .unwrap_or_default()
    }
}
