//! Portico's domain library. Every rule lives and is tested here; the web layers
//! call into it and know nothing of SQL, and this crate knows nothing of HTTP.

pub mod admin;
pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod config;
pub mod eob;
pub mod error;
pub mod language;
pub mod messages;
pub mod notify;
pub mod store;
pub mod vault;

pub use error::{Error, Result};

#[cfg(feature = "testing")]
pub mod testing;
