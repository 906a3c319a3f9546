//! The command line. Settings themselves come from the configuration file and
//! `PORTICO_*` variables (see `portico_core::config`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use portico_core::config::{ConfigError, Settings, CONFIG_FILE_VAR};

#[derive(Debug, Parser)]
#[command(
    name = "portico",
    version,
    about = "Portico, the secure message portal for healthcare"
)]
pub struct Cli {
    /// A TOML file of settings; `PORTICO_*` environment variables override it.
    #[arg(long, global = true, env = CONFIG_FILE_VAR, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Default, Subcommand)]
pub enum Command {
    /// Serve the portal (the default).
    #[default]
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// The root key.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Recipient identities.
    Identity {
        #[command(subcommand)]
        command: IdentityCommand,
    },
    /// Add demo data (a clinic with two mailboxes and two staff, a patient with
    /// three threads, one with a PDF) and print how to sign in as each; the
    /// patient's code arrives as a file under `<data_dir>/outbox/`.
    Demo {
        /// The demo patient's address.
        #[arg(long, default_value = "patient@example.org")]
        patient: String,
    },
    /// Seed an empty database for the load benchmark (`make bench`): patients,
    /// messages, EOBs and signed-in sessions; prints the sessions' cookies and
    /// pages as JSON.
    #[command(hide = true)]
    BenchSeed {
        #[arg(long, default_value_t = 10_000)]
        patients: usize,
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        #[arg(long, default_value_t = 100_000)]
        eobs: usize,
        #[arg(long, default_value_t = 64)]
        sessions: usize,
    },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Organizations (providers and health plans).
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Organization API keys, for the REST API under /api/v1.
    #[command(name = "api-key", alias = "apikey")]
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make a key and print its secret to stdout: this once, never again.
    /// `--scope messages:send --mailbox ID` sends from that mailbox (and only
    /// it); `--scope eob:publish --org ID` publishes a health plan's EOBs and
    /// keeps its member directory.
    Create {
        /// messages:send or eob:publish.
        #[arg(long, default_value = "messages:send")]
        scope: String,
        /// For messages:send: the mailbox's id (the key belongs to its organization).
        #[arg(long, required_if_eq("scope", "messages:send"))]
        mailbox: Option<String>,
        /// For eob:publish: the health plan's organization id.
        #[arg(long, required_if_eq("scope", "eob:publish"))]
        org: Option<String>,
        /// What the key is for, such as "Lab results feed".
        #[arg(long, default_value = "API key")]
        label: String,
    },
    /// List an organization's keys, revoked ones included (never a secret).
    List {
        /// The organization's id.
        #[arg(long)]
        org: String,
    },
    /// Revoke a key: from now on it is refused.
    Revoke {
        /// The key's id (not its secret).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Make an organization and print its id to stdout. A health plan gets
    /// its member-services mailbox, ready to publish EOBs.
    Add {
        /// provider or health-plan.
        #[arg(long, value_parser = ["provider", "health-plan"])]
        kind: String,
        /// The name patients see, such as "Acme Health Plan".
        #[arg(long)]
        name: String,
    },
    /// A health plan's EOB checking: with `--strict true` the CARIN Blue
    /// Button expectations (claim identifier, billablePeriod, adjudication
    /// amounts) are errors rather than warnings.
    EobChecking {
        /// The health plan's organization id.
        #[arg(long)]
        org: String,
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new root key version and re-wrap every identity secret under it,
    /// in batches; run again to finish one that was interrupted. The old version
    /// is retired (its file deleted) once nothing uses it. Safe while serving.
    Rotate {
        /// Secrets re-wrapped per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch_size: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Destroy the secret key of the identity with this email address
    /// (crypto-shredding): everything sealed to it stays, unreadable for good.
    Erase {
        /// The email address (matched as the portal normalizes it).
        email: String,
        /// Do not ask for confirmation (asked only on a terminal).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff account and print its one-time enrollment link (valid 72
    /// hours), where the person sets a password and adds a passkey.
    Add {
        /// The organization's id.
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// The name patients see in their access history, such as "Dr. Ana Ruiz".
        #[arg(long)]
        name: String,
        /// admin, clinician, staff or billing.
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: exit 0 if it is intact, 1 naming the first bad row.
    Verify,
    /// Write the events of a time range, oldest first.
    Export {
        /// From this time on (inclusive): 2026-11-01 or 2026-11-01T08:00:00Z.
        #[arg(long, value_parser = parse_time)]
        since: i64,
        /// Up to this time (exclusive); a date alone means its midnight (UTC).
        #[arg(long, value_parser = parse_time)]
        until: i64,
        #[arg(long, value_enum, default_value_t = ExportFormatArg::Jsonl)]
        format: ExportFormatArg,
        /// Write to this file (made readable by its owner only) instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ExportFormatArg {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated, with a header line.
    Csv,
}

/// A UTC date (`2026-11-01`, meaning its midnight) or RFC 3339 time, as Unix
/// milliseconds.
pub fn parse_time(value: &str) -> Result<i64, String> {
    let text = if value.len() == 10 {
        format!("{value}T00:00:00Z")
    } else {
        value.to_owned()
    };
    let time = humantime::parse_rfc3339(&text).map_err(|_| {
        "expected a date such as 2026-11-01 or a UTC time such as 2026-11-01T08:00:00Z".to_owned()
    })?;
    let ms = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "must not be before 1970".to_owned())?
        .as_millis();
    i64::try_from(ms).map_err(|_| "is too far in the future".to_owned())
}

impl Cli {
    /// Reads the configuration file, if any, and the environment.
    pub fn load_settings(&self) -> Result<Settings, ConfigError> {
        let text = match &self.config {
            Some(path) => Some((
                path.clone(),
                std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                    path: path.clone(),
                    problem: e.to_string(),
                })?,
            )),
            None => None,
        };
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Settings::load(text.as_ref().map(|(p, t)| (p.as_path(), t.as_str())), env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn export_times_are_utc_dates_or_rfc3339() {
        assert_eq!(parse_time("1970-01-02"), Ok(86_400_000));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Ok(1_000));
        assert!(parse_time("yesterday").unwrap_err().contains("2026-11-01"));
        assert!(parse_time("2026-13-01").is_err());
    }

    #[test]
    fn the_command_line_parses() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "portico",
            "audit",
            "export",
            "--since",
            "2026-11-01",
            "--until",
            "2026-12-01",
            "--format",
            "csv",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Audit {
                command: AuditCommand::Export {
                    format: ExportFormatArg::Csv,
                    output: None,
                    ..
                }
            })
        ));
        assert!(Cli::try_parse_from(["portico", "keys", "rotate", "--batch-size", "0"]).is_err());
    }
}
