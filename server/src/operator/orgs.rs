//! `portico org add|eob-checking`: organizations, and a health plan's EOB
//! checking. The new organization's id goes to stdout, alone, for scripts.

use std::process::ExitCode;

use portico_core::{
    audit::{Action, AuditEvent, AuditLog, Outcome},
    config::Settings,
    eob::plans,
    store::OrganizationKind,
    Error,
};

use super::{operator, record_and_close};
use crate::{cli::OrgCommand, serve::open_store, ServerError};

pub async fn org(settings: &Settings, command: OrgCommand) -> Result<ExitCode, ServerError> {
    let store = open_store(settings).await?;
    let audit = AuditLog::start(store.clone());
    let outcome = match command {
        OrgCommand::Add { kind, name } => {
            let kind = if kind == "health-plan" {
                OrganizationKind::HealthPlan
            } else {
                OrganizationKind::Provider
            };
            let org = store.organizations().create(kind, &name).await?;
            if kind == OrganizationKind::HealthPlan {
                let plan = plans::enroll(&store, &org.id).await?;
                eprintln!(
                    "portico: health plan {:?} added, with its member-services mailbox {}",
                    org.display_name, plan.mailbox_id
                );
            } else {
                eprintln!("portico: provider {:?} added", org.display_name);
            }
            println!("{}", org.id);
            let event = AuditEvent::new(operator(), Action::OrganizationChanged, Outcome::Success)
                .about(org.id.clone())
                .in_organization(org.id.clone());
            record_and_close(&audit, event).await?;
            Ok(ExitCode::SUCCESS)
        }
        OrgCommand::EobChecking { org, strict } => {
            match plans::set_strict(&store, &org, strict).await {
                Err(Error::NotFound) => {
                    eprintln!("portico: no health plan publishing EOBs has id {org:?}");
                    Ok(ExitCode::from(2))
                }
                other => {
                    other?;
                    println!(
                        "health plan {org}: CARIN Blue Button expectations are now {}",
                        if strict {
                            "errors (strict)"
                        } else {
                            "warnings"
                        }
                    );
                    let event =
                        AuditEvent::new(operator(), Action::OrganizationChanged, Outcome::Success)
                            .about(org.clone())
                            .in_organization(org);
                    record_and_close(&audit, event).await?;
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    };
    store.close().await;
    outcome
}
