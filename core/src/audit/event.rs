//! One audit event: who did what, to which ids, with what outcome, from where.
//!
//! An event holds ids only. There is deliberately no free-text field that could
//! carry health information (a subject line, a diagnosis, a name): ids must look
//! like ids (letters, digits and `-_.:`), and the one text the client supplies,
//! its user agent, is cut to [`USER_AGENT_MAX_CHARS`].

use std::{fmt, net::IpAddr};

use super::Action;
use crate::{Error, Result};

/// The longest id accepted, in bytes. UUIDs are 36.
pub const ID_MAX_LEN: usize = 128;
/// At most this many subject ids on one event.
pub const SUBJECTS_MAX: usize = 16;
/// User agents are cut to this many characters (on a character boundary).
pub const USER_AGENT_MAX_CHARS: usize = 200;

/// An event's place in the chain: 1 for the first event ever recorded, then
/// each next one plus one, with no gaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq(pub i64);

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// A patient (recipient), by identity id.
    Patient,
    /// A provider's or plan's staff member, by staff id.
    Staff,
    /// A system calling the API (a health plan publishing EOBs), by API key id.
    ApiKey,
    /// The portal itself (expiry, key rotation, alerts), by component name.
    System,
}

impl ActorKind {
    pub const ALL: [ActorKind; 4] = [Self::Patient, Self::Staff, Self::ApiKey, Self::System];

    /// The stable name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Staff => "staff",
            Self::ApiKey => "api_key",
            Self::System => "system",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// The one who acted: their kind and id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
}

impl Actor {
    pub fn patient(identity_id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Patient,
            id: identity_id.into(),
        }
    }

    pub fn staff(staff_id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Staff,
            id: staff_id.into(),
        }
    }

    pub fn api_key(key_id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::ApiKey,
            id: key_id.into(),
        }
    }

    /// The portal itself; `component` names the part that acted, e.g. `expiry`.
    pub fn system(component: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::System,
            id: component.into(),
        }
    }
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was attempted and failed (a wrong code, an unreadable upload).
    Failure,
    /// It was refused for lack of permission.
    Denied,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Self::Success, Self::Failure, Self::Denied];

    /// The stable name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

/// One view or action, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// When it happened, Unix milliseconds.
    pub occurred_at: i64,
    pub actor: Actor,
    pub action: Action,
    /// What it was about: item ids (message, attachment, EOB, thread), the
    /// patient's identity id, a staff or API key id. Patients' access history
    /// is found through these.
    pub subject_ids: Vec<String>,
    /// The organization whose data or settings it touched, when there is one.
    pub organization_id: Option<String>,
    pub outcome: Outcome,
    /// The client's IP address, when the event came from a request.
    pub client_address: Option<IpAddr>,
    /// The client's user agent, cut to [`USER_AGENT_MAX_CHARS`].
    pub user_agent: Option<String>,
}

impl AuditEvent {
    /// An event happening now, with no subjects, organization or client yet.
    pub fn new(actor: Actor, action: Action, outcome: Outcome) -> Self {
        Self {
            occurred_at: crate::store::now_ms(),
            actor,
            action,
            subject_ids: Vec::new(),
            organization_id: None,
            outcome,
            client_address: None,
            user_agent: None,
        }
    }

    /// Adds a subject id: what the action was about.
    pub fn about(mut self, subject_id: impl Into<String>) -> Self {
        self.subject_ids.push(subject_id.into());
        self
    }

    /// Sets the organization involved.
    pub fn in_organization(mut self, organization_id: impl Into<String>) -> Self {
        self.organization_id = Some(organization_id.into());
        self
    }

    /// Sets where the request came from; the user agent is cut to size.
    pub fn from_client(mut self, address: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        self.client_address = address;
        self.user_agent = user_agent.and_then(clean_user_agent);
        self
    }

    /// Sets the time explicitly (imports, tests); [`AuditEvent::new`] uses now.
    pub fn at(mut self, occurred_at_ms: i64) -> Self {
        self.occurred_at = occurred_at_ms;
        self
    }

    /// Checks the rules an event must meet before it is written: ids that look
    /// like ids (so no free text slips in), a bounded number of subjects, and a
    /// time after 1970.
    pub fn check(&self) -> Result<()> {
        check_id("actor.id", &self.actor.id)?;
        if self.subject_ids.len() > SUBJECTS_MAX {
            return Err(Error::Invalid {
                field: "subject_ids",
                problem: format!("at most {SUBJECTS_MAX} subject ids"),
            });
        }
        for id in &self.subject_ids {
            check_id("subject_ids", id)?;
        }
        if let Some(id) = &self.organization_id {
            check_id("organization_id", id)?;
        }
        if self.occurred_at < 0 {
            return Err(Error::Invalid {
                field: "occurred_at",
                problem: "must not be before 1970".into(),
            });
        }
        Ok(())
    }
}

/// True for characters an id may hold: ASCII letters and digits and `-_.:`.
/// No spaces (subject ids are stored space-separated), no `@` (no email
/// addresses), nothing that reads as prose.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')
}

fn check_id(field: &'static str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > ID_MAX_LEN || !id.chars().all(is_id_char) {
        return Err(Error::Invalid {
            field,
            problem: format!(
                "an id must be 1 to {ID_MAX_LEN} letters, digits or -_.: (no free text)"
            ),
        });
    }
    Ok(())
}

/// The user agent as stored: control characters dropped, surrounding space
/// trimmed, cut to [`USER_AGENT_MAX_CHARS`] characters; `None` when empty.
pub(crate) fn clean_user_agent(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_MAX_CHARS)
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AuditEvent {
        AuditEvent::new(
            Actor::staff("staff-1"),
            Action::MessageViewed,
            Outcome::Success,
        )
    }

    #[test]
    fn user_agents_are_cut_on_a_character_boundary() {
        let long = "é".repeat(300);
        let cut = clean_user_agent(&long).unwrap();
        assert_eq!(cut.chars().count(), USER_AGENT_MAX_CHARS);
        assert_eq!(cut.len(), 2 * USER_AGENT_MAX_CHARS);
        assert_eq!(clean_user_agent("  "), None);
        assert_eq!(clean_user_agent("a\r\nb\0c").as_deref(), Some("abc"));
        let e = event().from_client(None, Some(&"x".repeat(500)));
        assert_eq!(e.user_agent.unwrap().len(), USER_AGENT_MAX_CHARS);
    }

    #[test]
    fn ids_must_look_like_ids_so_no_free_text_is_stored() {
        assert!(event()
            .about("0190f3c4-8f1a-7c3e-9b1e-2a4c6e8f0a1b")
            .check()
            .is_ok());
        for bad in ["", "blood test results", "jane@example.org", "x\n", "é"] {
            let err = event().about(bad).check().unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Invalid {
                        field: "subject_ids",
                        ..
                    }
                ),
                "{bad:?}"
            );
        }
        assert!(event().about("a".repeat(ID_MAX_LEN)).check().is_ok());
        assert!(event().about("a".repeat(ID_MAX_LEN + 1)).check().is_err());
        let mut e = event();
        e.actor.id = "Dr Smith".into();
        assert!(matches!(
            e.check(),
            Err(Error::Invalid {
                field: "actor.id",
                ..
            })
        ));
        assert!(event().in_organization("org 1").check().is_err());
        let mut many = event();
        many.subject_ids = (0..=SUBJECTS_MAX).map(|i| format!("id-{i}")).collect();
        assert!(many.check().is_err());
        assert!(event().at(-1).check().is_err());
    }

    #[test]
    fn actor_kinds_and_outcomes_keep_their_stored_names() {
        let kinds: Vec<_> = ActorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, ["patient", "staff", "api_key", "system"]);
        let outcomes: Vec<_> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(outcomes, ["success", "failure", "denied"]);
        for k in ActorKind::ALL {
            assert_eq!(ActorKind::from_name(k.as_str()), Some(k));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_name(o.as_str()), Some(o));
        }
    }
}
