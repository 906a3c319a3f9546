//! Structured logs. Requests are logged by route template and request id only:
//! never a query string, a body, or a concrete path (paths can carry tokens).

use tracing_subscriber::{fmt, EnvFilter};

/// Where log lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The server logs to standard output, as services under a supervisor do.
    Stdout,
    /// Operator commands log to standard error: their standard output is their
    /// result (an audit export, say), which a log line must never corrupt.
    Stderr,
}

/// Starts logging; `PORTICO_LOG` sets the filter (default `info`).
pub fn init(output: Output) {
    let filter = EnvFilter::try_from_env(portico_core::config::LOG_VAR)
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let logs = fmt().with_env_filter(filter).with_target(false);
    let _ = match output {
        Output::Stdout => logs.try_init(),
        Output::Stderr => logs.with_writer(std::io::stderr).try_init(),
    };
}
