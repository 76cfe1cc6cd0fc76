//! Captures the in-process server's log output (all tests share one process and one subscriber),
//! so tests can assert that no secret is ever logged. Capture is installed before any test server
//! starts, or the test fails: a log assertion never runs against nothing.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        if std::env::var_os("VAULT_TEST_SHOW_LOGS").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static CAPTURE: OnceLock<Buffer> = OnceLock::new();

/// Installs the capturing subscriber once (verbose for the server: `vault_server=trace`).
/// Panics when another global subscriber was installed first: the log assertions would see
/// nothing of the server's output.
pub fn init() {
    CAPTURE.get_or_init(|| {
        let buffer = Buffer::default();
        let filter = EnvFilter::new("info,vault_server=trace,vault_api=trace,tower_http=debug");
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect(
            "installing the log capture: another global tracing subscriber is already installed \
             in this test process",
        );
        buffer
    });
}

/// Everything logged so far by any test's server.
pub fn captured() -> String {
    let buffer = CAPTURE
        .get()
        .expect("no log capture: a test server installs it when it starts (logs::init)");
    let bytes = buffer.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The captured lines logged while a server handled request `request_id` (its request span
/// names the id the server also writes into the request's audit events and `x-request-id`).
pub fn of_request(request_id: &str) -> Vec<String> {
    let needle = format!("request_id={request_id}");
    captured()
        .lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_owned)
        .collect()
}

/// The request id the server put on an answer (`x-request-id`), to find its log lines.
pub fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("the answer names its request (x-request-id)")
        .to_owned()
}
