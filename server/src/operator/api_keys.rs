//! `portico api-key create|list|revoke`. Creating and revoking are recorded in
//! the audit log as `system:cli`. A new key's secret goes to stdout, alone, so
//! that it can be piped into a secret store; everything else to stderr.

use std::{process::ExitCode, time::Duration};

use portico_core::{
    api_keys::{ApiKey, ApiKeys, Scope},
    audit::AuditLog,
    config::Settings,
    eob::plans,
    messages, Error,
};

use super::operator;
use crate::{cli::ApiKeyCommand, serve::open_store, ServerError};

pub async fn api_key(settings: &Settings, command: ApiKeyCommand) -> Result<ExitCode, ServerError> {
    // The vault is not needed: keys are ids and hashes.
    let store = open_store(settings).await?;
    let audit = AuditLog::start(store.clone());
    let keys = ApiKeys {
        store: &store,
        audit: &audit,
    };
    let outcome = run(&keys, command).await;
    audit.shutdown().await;
    store.close().await;
    outcome
}

async fn run(keys: &ApiKeys<'_>, command: ApiKeyCommand) -> Result<ExitCode, ServerError> {
    match command {
        ApiKeyCommand::Create {
            scope,
            org: Some(org),
            label,
            ..
        } if scope == Scope::PublishEobs.as_str() => {
            let (key, secret) =
                match plans::create_publisher_key(keys, &org, &label, operator()).await {
                    Err(Error::NotFound) => {
                        return Ok(refuse(&format!("no organization has id {org:?}")))
                    }
                    Err(Error::Invalid { problem, .. }) => return Ok(refuse(&problem)),
                    other => other?,
                };
            eprintln!(
                "portico: API key {} created; it publishes EOBs for health plan {} and keeps \
                 its member directory.\n\
                 portico: its secret follows. It is shown this once and cannot be shown again \
                 (only its hash is kept): put it in the calling system's secret store now.",
                key.id, key.organization_id
            );
            println!("{}", secret.as_str());
        }
        ApiKeyCommand::Create {
            scope,
            mailbox: Some(mailbox),
            label,
            ..
        } if scope == Scope::SendMessages.as_str() => {
            let mailbox = match messages::mailbox(keys.store, &mailbox).await {
                Err(Error::NotFound) => {
                    return Ok(refuse(&format!("no mailbox has id {mailbox:?}")))
                }
                other => other?,
            };
            let (key, secret) = keys
                .create(&mailbox.organization_id, &mailbox.id, &label, operator())
                .await?;
            eprintln!(
                "portico: API key {} created; it sends from mailbox {} ({}) of organization {}.\n\
                 portico: its secret follows. It is shown this once and cannot be shown again \
                 (only its hash is kept): put it in the calling system's secret store now.",
                key.id, mailbox.display_name, mailbox.id, mailbox.organization_id
            );
            println!("{}", secret.as_str());
        }
        ApiKeyCommand::Create { scope, .. } => {
            return Ok(refuse(&format!(
                "a key's scope is messages:send (with --mailbox) or eob:publish (with --org), not {scope:?}"
            )))
        }
        ApiKeyCommand::List { org } => {
            match keys.store.organizations().get(&org).await {
                Err(Error::NotFound) => {
                    return Ok(refuse(&format!("no organization has id {org:?}")))
                }
                other => other?,
            };
            let list = keys.list(&org).await?;
            println!("id\tscope\tmailbox\tcreated\tlast used\trevoked\tlabel");
            for key in &list {
                println!("{}", line(key));
            }
            eprintln!("portico: {} API keys", list.len());
        }
        ApiKeyCommand::Revoke { id } => {
            let key = match keys.revoke(&id, operator()).await {
                Err(Error::NotFound) => return Ok(refuse(&format!("no API key has id {id:?}"))),
                other => other?,
            };
            println!(
                "API key {} revoked at {}: it is refused from now on",
                key.id,
                time(key.revoked_at)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn refuse(why: &str) -> ExitCode {
    eprintln!("portico: {why}");
    ExitCode::FAILURE
}

/// One tab-separated line of `api-key list`.
fn line(key: &ApiKey) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
        key.id,
        key.scope.as_str(),
        key.mailbox_id,
        time(Some(key.created_at)),
        time(key.last_used_at),
        time(key.revoked_at),
        key.label
    )
}

/// A UTC time to the second, or `-`.
fn time(ms: Option<i64>) -> String {
    match ms.and_then(|ms| u64::try_from(ms).ok()) {
        Some(ms) => {
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_millis(ms))
                .to_string()
        }
        None => "-".to_owned(),
    }
}
