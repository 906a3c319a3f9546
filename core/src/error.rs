//! The one error type of the domain layer. The server maps each kind to an HTTP
//! status; none of them carries health information.

/// What went wrong in `core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting could not be used.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The database could not be reached or refused a statement.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A SQLite read made in place (see `store::sync_read`) failed.
    #[error("database: {0}")]
    DatabaseRead(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A file under the data directory could not be used.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Input that breaks a rule; `field` names the part at fault.
    #[error("{field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
    /// The asker may not see or do this (a billing clerk opening a clinical
    /// thread, say). Maps to 403; the attempt is audited.
    #[error("you do not have access to this")]
    Denied,
    /// The thing asked for does not exist (or is not visible to the asker).
    #[error("not found")]
    NotFound,
    /// An audit event could not be committed (or the audit log is shut down).
    /// The view or action it describes must not happen: nothing is served unless
    /// its event is recorded.
    #[error("audit log unavailable: {0}")]
    AuditUnavailable(String),
    /// An audit row read back holds something this version cannot read, such
    /// as an unknown action name; `verify` tells whether the row was altered.
    #[error("audit row {seq}: {problem}")]
    AuditCorrupt { seq: i64, problem: String },
    /// The content was sealed to a key that has since been erased on request
    /// (crypto-shredding): the portal says "this content was erased", it is no fault.
    #[error("this content was erased")]
    Erased,
    /// A cryptographic check failed: the item is damaged or altered, is not sealed
    /// to this reader, or a wrapped key does not open under the root key. The text
    /// is fixed, so it can never carry content or key material.
    #[error("crypto: {0}")]
    Crypto(&'static str),
    /// Too many requests of a costly kind are under way (password checks during
    /// a flood of sign-in attempts): try again shortly. Maps to 503.
    #[error("busy: {0}; try again in a moment")]
    Busy(&'static str),
    /// The mail server did not take an email. The text is fixed words and at most
    /// an SMTP status code or a TLS detail: never an address or any content.
    #[error("mail: {0}")]
    Mail(String),
    /// The root key file (or one of its rotated versions) cannot be used.
    #[error("root key file {}: {problem}", path.display())]
    RootKey {
        path: std::path::PathBuf,
        problem: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
