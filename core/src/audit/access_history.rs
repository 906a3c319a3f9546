//! A patient's access history: every event on their own items, their own
//! sign-ins and views, and every view by someone else (which staff member of
//! which organization, when), newest first, a page at a time.
//!
//! Each entry names who acted as the patient may read it: "you", a staff
//! member by the name and role their organization gave them, an organization
//! acting through its API, or the portal itself. Ids of staff and keys are
//! never shown. An entry links to the item it was about only when that item
//! is the patient's own thread or statement.
//!
//! Looking at the history is itself a view: it is recorded (write before
//! serve) before the page is returned, and so is its first entry.

use std::collections::{HashMap, HashSet};

use super::{
    read::{events_about, Page, RecordedEvent},
    Action, Actor, ActorKind, AuditEvent, AuditLog, Outcome, Seq,
};
use crate::{auth::Client, store::on_pool, store::Store, Result};

/// Entries on one page of the history.
pub const HISTORY_PAGE: u32 = 50;

/// Who acted, as the patient is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accessor {
    /// The patient themselves.
    You,
    /// A staff member: the name their organization gave them (none for
    /// accounts made before names were kept), their role, their organization.
    Staff {
        name: Option<String>,
        role: String,
        organization: String,
    },
    /// An organization's system, through the portal's API (a health plan
    /// publishing a statement).
    Organization { name: String },
    /// The portal itself (a message reaching its expiry).
    Portal,
    /// Another person signed in to the portal: always a refused attempt, as
    /// nobody else may open a patient's items.
    SomeoneElse,
}

/// The patient's own item an entry was about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Thread(String),
    Statement(String),
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEntry {
    pub seq: Seq,
    /// Unix milliseconds.
    pub occurred_at: i64,
    pub who: Accessor,
    pub action: Action,
    pub outcome: Outcome,
    pub item: Option<Item>,
}

/// A page of the history, and where the next (older) page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessHistoryPage {
    pub entries: Vec<AccessEntry>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub older: Option<Seq>,
}

/// The access history of the patient `identity_id`, older than `before`
/// (newest first when `None`). The view is recorded first: if it cannot be,
/// nothing is returned.
pub async fn access_history(
    store: &Store,
    audit: &AuditLog,
    identity_id: &str,
    before: Option<Seq>,
    client: &Client,
) -> Result<AccessHistoryPage> {
    let viewed = AuditEvent::new(
        Actor::patient(identity_id),
        Action::AccessHistoryViewed,
        Outcome::Success,
    );
    audit.record(client.stamp(viewed)).await?;
    let page = Page {
        before,
        limit: HISTORY_PAGE,
    };
    let events = events_about(store, identity_id, page).await?;
    let older = (events.len() == HISTORY_PAGE as usize)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    let items = own_items(store, identity_id, &events).await?;
    let mut people = Accessors::default();
    let mut entries = Vec::with_capacity(events.len());
    for RecordedEvent { seq, event } in events {
        let who = people.who(store, identity_id, &event.actor).await?;
        let item = event
            .subject_ids
            .iter()
            .find_map(|id| items.get(id).cloned());
        entries.push(AccessEntry {
            seq,
            occurred_at: event.occurred_at,
            who,
            action: event.action,
            outcome: event.outcome,
            item,
        });
    }
    Ok(AccessHistoryPage { entries, older })
}

/// Names each actor once per page.
#[derive(Default)]
struct Accessors(HashMap<(ActorKind, String), Accessor>);

impl Accessors {
    async fn who(&mut self, store: &Store, patient: &str, actor: &Actor) -> Result<Accessor> {
        let key = (actor.kind, actor.id.clone());
        if let Some(known) = self.0.get(&key) {
            return Ok(known.clone());
        }
        let who = match actor.kind {
            ActorKind::Patient if actor.id == patient => Accessor::You,
            ActorKind::Patient => Accessor::SomeoneElse,
            ActorKind::System => Accessor::Portal,
            ActorKind::Staff => staff(store, &actor.id).await?,
            ActorKind::ApiKey => Accessor::Organization {
                name: key_organization(store, &actor.id).await?,
            },
        };
        self.0.insert(key, who.clone());
        Ok(who)
    }
}

async fn staff(store: &Store, staff_id: &str) -> Result<Accessor> {
    let row: Option<(Option<String>, String, String)> = on_pool!(store, |pool| {
        sqlx::query_as(
            "SELECT s.display_name, s.role, o.display_name FROM staff_accounts s \
             JOIN organizations o ON o.id = s.organization_id WHERE s.id = $1",
        )
        .bind(staff_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(match row {
        Some((name, role, organization)) => Accessor::Staff {
            name,
            role,
            organization,
        },
        // Staff accounts are never deleted; should one be, say no more than this.
        None => Accessor::Staff {
            name: None,
            role: "staff".to_owned(),
            organization: "an organization".to_owned(),
        },
    })
}

async fn key_organization(store: &Store, key_id: &str) -> Result<String> {
    let name: Option<String> = on_pool!(store, |pool| {
        sqlx::query_scalar(
            "SELECT o.display_name FROM api_keys k \
             JOIN organizations o ON o.id = k.organization_id WHERE k.id = $1",
        )
        .bind(key_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(name.unwrap_or_else(|| "an organization".to_owned()))
}

/// Which of the ids the events name are the patient's own threads and
/// statements.
async fn own_items(
    store: &Store,
    patient: &str,
    events: &[RecordedEvent],
) -> Result<HashMap<String, Item>> {
    let ids: Vec<&str> = events
        .iter()
        .flat_map(|e| e.event.subject_ids.iter().map(String::as_str))
        .filter(|id| *id != patient)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut items = HashMap::new();
    if ids.is_empty() {
        return Ok(items);
    }
    let list = (2..ids.len() + 2)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    for (table, owner, item) in [
        (
            "threads",
            "patient_identity_id",
            Item::Thread as fn(String) -> Item,
        ),
        ("eobs", "identity_id", Item::Statement),
    ] {
        let sql = format!("SELECT id FROM {table} WHERE {owner} = $1 AND id IN ({list})");
        let found: Vec<String> = on_pool!(store, |pool| {
            let mut query = sqlx::query_scalar(&sql).bind(patient);
            for id in &ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        items.extend(found.into_iter().map(|id| (id.clone(), item(id))));
    }
    Ok(items)
}
