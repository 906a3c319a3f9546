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
    /// The thing asked for does not exist (or is not visible to the asker).
    #[error("not found")]
    NotFound,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
