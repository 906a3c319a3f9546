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
