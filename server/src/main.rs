//! `portico`: the secure message portal's one binary.

use std::process::ExitCode;

use clap::Parser;
use portico_server::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match cli.load_settings() {
        Ok(settings) => settings,
        Err(err) => {
            // One line naming the setting, and exit code 2, as for a usage error.
            eprintln!("portico: {err}");
            return ExitCode::from(2);
        }
    };
    portico_server::logging::init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("portico: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command.unwrap_or_default() {
            Command::Serve => portico_server::serve::serve(settings).await,
            Command::Migrate => portico_server::serve::migrate(&settings).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "portico stopped");
            eprintln!("portico: {err}");
            ExitCode::FAILURE
        }
    }
}
