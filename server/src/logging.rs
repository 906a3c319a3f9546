//! Structured logs. Requests are logged by route template and request id only:
//! never a query string, a body, or a concrete path (paths can carry tokens).

use tracing_subscriber::{fmt, EnvFilter};

/// Logs to standard output; `PORTICO_LOG` sets the filter (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_env(portico_core::config::LOG_VAR)
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let _ = fmt().with_env_filter(filter).with_target(false).try_init();
}
