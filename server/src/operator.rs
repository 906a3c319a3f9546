//! The operator's commands: `portico keys rotate`, `portico identity erase`,
//! `portico audit verify|export`, `portico api-key create|list|revoke`. Each
//! does its work in `portico_core`, records what it did in the audit log (as
//! the system actor `cli`), and prints one short report. None prints an email address or anything sealed.

use std::{
    io::{BufRead, IsTerminal, Write},
    process::ExitCode,
};

use portico_core::{
    audit::{self, Action, Actor, AuditEvent, AuditLog, ExportFormat, Outcome},
    auth::staff::{StaffAccounts, StaffName, StaffRole, Throttle},
    config::Settings,
    vault::{KeyOwner, NormalizedEmail, RotateOptions},
    Error,
};

mod api_keys;
mod orgs;
pub use api_keys::api_key;
pub use orgs::org;

use crate::{
    cli::{AuditCommand, ExportFormatArg, IdentityCommand, KeysCommand, StaffCommand},
    serve::{open_store, Services},
    ServerError,
};

/// The audit actor for commands run by an operator on the server.
fn operator() -> Actor {
    Actor::system("cli")
}

/// Records `event` and stops the writer, so the event is committed before the
/// command reports success.
async fn record_and_close(audit: &AuditLog, event: AuditEvent) -> Result<(), ServerError> {
    let recorded = audit.record(event).await;
    audit.shutdown().await;
    recorded?;
    Ok(())
}

pub async fn keys(settings: &Settings, command: KeysCommand) -> Result<ExitCode, ServerError> {
    let KeysCommand::Rotate { batch_size } = command;
    let services = Services::open(settings).await?;
    let report = services
        .vault
        .rotate(RotateOptions {
            batch_size,
            max_batches: None,
        })
        .await;
    let outcome = if report.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let event = AuditEvent::new(operator(), Action::KeysRotated, outcome);
    record_and_close(&services.audit, event).await?;
    let report = report?;
    services.store.close().await;
    println!(
        "root key version {}: {} secrets re-wrapped in {} batches{}{}",
        report.version,
        report.rewrapped,
        report.batches,
        if report.resumed {
            " (finished an earlier rotation)"
        } else {
            ""
        },
        match report.retired.as_slice() {
            [] => String::new(),
            versions => format!("; retired version(s) {versions:?}"),
        }
    );
    Ok(if report.finished {
        ExitCode::SUCCESS
    } else {
        println!("not finished: run `portico keys rotate` again");
        ExitCode::FAILURE
    })
}

pub async fn identity(
    settings: &Settings,
    command: IdentityCommand,
) -> Result<ExitCode, ServerError> {
    let IdentityCommand::Erase { email, yes } = command;
    // The address is the operator's own input: it is never echoed or logged.
    let email = NormalizedEmail::parse(&email).map_err(ServerError::Core)?;
    let services = Services::open(settings).await?;
    let Some(identity) = services.vault.find_identity(&email).await? else {
        services.close().await;
        eprintln!("portico: no identity has that email address; nothing was erased");
        return Ok(ExitCode::FAILURE);
    };
    if !yes && std::io::stdin().is_terminal() && !confirm(&identity.id)? {
        services.close().await;
        eprintln!("portico: nothing was erased");
        return Ok(ExitCode::FAILURE);
    }
    let erased = services
        .vault
        .erase(&KeyOwner::Identity(identity.id.clone()))
        .await;
    let outcome = if erased.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let event =
        AuditEvent::new(operator(), Action::IdentityErased, outcome).about(identity.id.clone());
    record_and_close(&services.audit, event).await?;
    let erased = erased?;
    services.store.close().await;
    if erased {
        println!(
            "identity {} erased: what was sealed to it can no longer be opened",
            identity.id
        );
    } else {
        println!("identity {} was already erased", identity.id);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn staff(settings: &Settings, command: StaffCommand) -> Result<ExitCode, ServerError> {
    let StaffCommand::Add {
        org,
        email,
        name,
        role,
    } = command;
    let email = NormalizedEmail::parse(&email)?;
    let name = StaffName::parse(&name)?;
    let role = StaffRole::parse(&role)?;
    let services = Services::open(settings).await?;
    let accounts = StaffAccounts {
        store: &services.store,
        vault: &services.vault,
        audit: &services.audit,
        passwords: &services.passwords,
        throttle: Throttle::default(),
    };
    let added = accounts.add(&org, &email, &name, role, operator()).await;
    services.clone().close().await;
    let (staff_id, token) = match added {
        Err(Error::NotFound) => {
            eprintln!("portico: no organization has id {org:?}");
            return Ok(ExitCode::FAILURE);
        }
        other => other?,
    };
    let mut link = settings.public_url.clone();
    link.set_path(&format!("/enroll/{}", token.as_str()));
    println!("staff account {staff_id} ({}) created", role.as_str());
    println!("enrollment link, valid 72 hours, for that person only:\n{link}");
    Ok(ExitCode::SUCCESS)
}

pub async fn demo(settings: &Settings, patient: &str) -> Result<ExitCode, ServerError> {
    let services = Services::open(settings).await?;
    let demo = crate::demo::add(settings, &services, patient).await;
    services.close().await;
    println!("{}", demo?);
    Ok(ExitCode::SUCCESS)
}

pub async fn bench_seed(
    settings: &Settings,
    seed: &crate::bench_seed::Seed,
) -> Result<ExitCode, ServerError> {
    let services = Services::open(settings).await?;
    let seeded = crate::bench_seed::seed(settings, &services, seed).await;
    services.close().await;
    println!("{}", seeded?);
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal; true when the operator types `erase`.
fn confirm(identity_id: &str) -> Result<bool, ServerError> {
    eprint!(
        "Erase identity {identity_id}? Everything sealed to it becomes unreadable, for good.\n\
         Type erase to confirm: "
    );
    std::io::stderr()
        .flush()
        .map_err(ServerError::io("terminal"))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(ServerError::io("terminal"))?;
    Ok(answer.trim() == "erase")
}

pub async fn audit(settings: &Settings, command: AuditCommand) -> Result<ExitCode, ServerError> {
    // The vault is not needed: the log holds ids only.
    let store = open_store(settings).await?;
    let log = AuditLog::start(store.clone());
    let code = match command {
        AuditCommand::Verify => {
            let report = audit::verify(&store).await?;
            let intact = report.is_intact();
            let outcome = if intact {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            record_and_close(
                &log,
                AuditEvent::new(operator(), Action::AuditVerified, outcome),
            )
            .await?;
            if intact {
                println!("{report}");
                ExitCode::SUCCESS
            } else {
                eprintln!("portico: {report}");
                ExitCode::FAILURE
            }
        }
        AuditCommand::Export {
            since,
            until,
            format,
            output,
        } => {
            if until <= since {
                log.shutdown().await;
                return Err(Error::Invalid {
                    field: "until",
                    problem: "must be later than --since".into(),
                }
                .into());
            }
            let format = match format {
                ExportFormatArg::Jsonl => ExportFormat::Jsonl,
                ExportFormatArg::Csv => ExportFormat::Csv,
            };
            // Recorded before the export is written: it is a view of the log.
            record_and_close(
                &log,
                AuditEvent::new(operator(), Action::AuditExported, Outcome::Success),
            )
            .await?;
            let written = match &output {
                Some(path) => {
                    let file = create_private(path)?;
                    audit::export(&store, since, until, format, file).await?
                }
                None => audit::export(&store, since, until, format, std::io::stdout()).await?,
            };
            eprintln!("portico: {written} events exported");
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}

/// Creates `path` for writing, readable by its owner only; refuses to overwrite.
fn create_private(path: &std::path::Path) -> Result<std::fs::File, ServerError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(ServerError::io(format!("export file {}", path.display())))
}
