//! `sdk-probe ITERATIONS PAUSE_MS`: the Rust AWS SDK as a long-running child of `vault exec`.
//! Its default credential chain (environment, container endpoint, instance metadata, ...)
//! finds whatever vault serves; each iteration calls `sts get-caller-identity` against
//! `AWS_ENDPOINT_URL` and prints `ok <access key id> <arn>`, the key being the one the SDK's
//! identity cache last fetched (the one that signed the call). Exits 1 at the first failure,
//! including a call signed with a credential already expired when it was sent (moto would
//! accept it, AWS would not).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_credential_types::provider::{future, ProvideCredentials};

/// The default chain, remembering the key it handed out last.
#[derive(Debug)]
struct Recording {
    inner: DefaultCredentialsChain,
    last: Arc<Mutex<(String, Option<SystemTime>)>>,
}

impl ProvideCredentials for Recording {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let creds = self.inner.provide_credentials().await?;
            *self.last.lock().unwrap_or_else(|e| e.into_inner()) =
                (creds.access_key_id().to_owned(), creds.expiry());
            Ok(creds)
        })
    }
}

fn usage() -> ! {
    eprintln!("usage: sdk-probe ITERATIONS PAUSE_MS");
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [iterations, pause_ms] = args.as_slice() else {
        usage()
    };
    let (Ok(iterations), Ok(pause_ms)) = (iterations.parse::<u32>(), pause_ms.parse::<u64>())
    else {
        usage()
    };
    let last = Arc::new(Mutex::new((String::new(), None)));
    let provider = Recording {
        inner: DefaultCredentialsChain::builder().build().await,
        last: last.clone(),
    };
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(provider)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&config);
    for i in 0..iterations {
        let sent = SystemTime::now();
        match sts.get_caller_identity().send().await {
            Ok(out) => {
                let (key, expiry) = last.lock().unwrap_or_else(|e| e.into_inner()).clone();
                if expiry.is_some_and(|e| e <= sent) {
                    println!("failed at iteration {i}: {key} had expired when the call was sent");
                    std::process::exit(1);
                }
                println!("ok {key} {}", out.arn().unwrap_or("-"));
            }
            Err(e) => {
                println!(
                    "failed at iteration {i}: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                );
                std::process::exit(1);
            }
        }
        if i + 1 < iterations {
            tokio::time::sleep(Duration::from_millis(pause_ms)).await;
        }
    }
}
