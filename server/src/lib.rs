//! The `portico` server: command line, HTTP (Leptos pages, health, later the REST
//! API), middleware and, later, background workers. Handlers stay thin and call
//! into `portico_core`.

pub mod bench_seed;
pub mod cli;
pub mod demo;
pub mod error;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod operator;
pub mod serve;
pub mod tls;
pub mod workers;

pub use error::ServerError;
