//! Portico's user interface, rendered on the server and hydrated in the browser.
//!
//! Server functions here stay thin: check the session, call one `portico_core`
//! function, map the result to a DTO. Everything `ssr`-only is kept to small,
//! clearly marked modules.

pub mod access_history;
pub mod admin;
pub mod auth;
pub mod i18n;
pub mod messaging;
pub mod pages;
mod shell;
pub mod statements;

pub use shell::{shell, App};

/// The WebAssembly entry point: attaches the browser to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
