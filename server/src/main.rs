//! `portico`: the secure message portal's one binary.

use std::process::ExitCode;

use clap::Parser;
use portico_server::cli::{Cli, Command};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let output = match cli.command {
        None | Some(Command::Serve) => portico_server::logging::Output::Stdout,
        Some(_) => portico_server::logging::Output::Stderr,
    };
    portico_server::logging::init(output);

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
        use portico_server::{operator, serve};
        let done = |r: Result<(), _>| r.map(|()| ExitCode::SUCCESS);
        match cli.command.unwrap_or_default() {
            Command::Serve => done(serve::serve(settings).await),
            Command::Migrate => done(serve::migrate(&settings).await),
            Command::Keys { command } => operator::keys(&settings, command).await,
            Command::Identity { command } => operator::identity(&settings, command).await,
            Command::Audit { command } => operator::audit(&settings, command).await,
            Command::Staff { command } => operator::staff(&settings, command).await,
            Command::ApiKey { command } => operator::api_key(&settings, command).await,
            Command::Org { command } => operator::org(&settings, command).await,
            Command::Demo { patient } => operator::demo(&settings, &patient).await,
            Command::BenchSeed {
                patients,
                messages,
                eobs,
                sessions,
            } => {
                let seed = portico_server::bench_seed::Seed {
                    patients,
                    messages,
                    eobs,
                    sessions,
                };
                operator::bench_seed(&settings, &seed).await
            }
        }
    });
    match outcome {
        Ok(code) => code,
        Err(err) => {
            tracing::error!(error = %err, "portico stopped");
            eprintln!("portico: {err}");
            ExitCode::FAILURE
        }
    }
}
