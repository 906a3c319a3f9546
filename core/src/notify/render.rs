//! The text of each email. Fixed wording; the only things that vary are a code,
//! a link and the sending organization's name, never a subject or a condition.

use lettre::message::{Mailbox, Message, MultiPart};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::{vault::NormalizedEmail, Error, Result};

/// What an outbox row carries, sealed to its recipient until sent, as JSON.
pub trait Payload: Serialize + DeserializeOwned {
    fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain string and number fields cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|_| Error::Crypto("an outbox payload is malformed"))
    }
}

/// What a sign-in code email carries, sealed in the outbox until sent.
#[derive(Clone, Serialize, Deserialize)]
pub struct CodePayload {
    pub code: String,
    pub valid_minutes: u32,
}

impl Payload for CodePayload {}

impl Drop for CodePayload {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.code);
    }
}

/// What a new-message notice carries, sealed in the outbox until sent: the
/// link's token (the link itself is made from the public address at sending).
#[derive(Clone, Serialize, Deserialize)]
pub struct NewItemPayload {
    pub token: String,
}

impl Payload for NewItemPayload {}

impl Drop for NewItemPayload {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

/// What a staff member's notice of a patient's reply carries: which thread
/// (an id, linked to the thread page) and the mailbox's name.
#[derive(Clone, Serialize, Deserialize)]
pub struct StaffReplyPayload {
    pub thread_id: String,
    pub mailbox: String,
}

impl Payload for StaffReplyPayload {}

/// What an admin's security alert email carries: the organization's name.
#[derive(Clone, Serialize, Deserialize)]
pub struct AlertPayload {
    pub organization: String,
}

impl Payload for AlertPayload {}

/// An email ready for a transport: a subject, and the same words as plain text
/// and as HTML.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Email {
    /// The notice of a new message: who wrote and the link, nothing else: no
    /// subject, no body, no condition.
    pub fn new_item(organization: &str, link: &str) -> Self {
        let (org, href) = (escape_html(organization), escape_html(link));
        Self {
            subject: "You have a new secure message".into(),
            text: format!(
                "{organization} sent you a secure message.\n\nTo read it, open this link and sign in:\n\n    {link}\n\n\
                 For your privacy this email does not say what the message is about.\n\n-- Portico secure messages\n"
            ),
            html: html_page(&format!(
                "<p>{org} sent you a secure message.</p>\n\
                 <p>To read it, open this link and sign in:</p>\n\
                 <p><a href=\"{href}\">{href}</a></p>\n\
                 <p>For your privacy this email does not say what the message is about.</p>"
            )),
        }
    }

    /// The notice of new Explanation of Benefits statements: which plan and
    /// the link; never an amount, a service, a provider or a date of care.
    pub fn new_statements(plan: &str, link: &str) -> Self {
        let (org, href) = (escape_html(plan), escape_html(link));
        Self {
            subject: format!("You have new statements from {plan}"),
            text: format!(
                "You have new statements from {plan}.\n\nTo read them, open this link and sign in:\n\n    {link}\n\n\
                 For your privacy this email does not say what the statements are about.\n\n-- Portico secure messages\n"
            ),
            html: html_page(&format!(
                "<p>You have new statements from {org}.</p>\n\
                 <p>To read them, open this link and sign in:</p>\n\
                 <p><a href=\"{href}\">{href}</a></p>\n\
                 <p>For your privacy this email does not say what the statements are about.</p>"
            )),
        }
    }

    /// Tells staff that a patient replied in one of their mailboxes: the
    /// mailbox and a link to the thread (which asks them to sign in), nothing of
    /// the patient or the message.
    pub fn staff_reply(mailbox: &str, link: &str) -> Self {
        let (name, href) = (escape_html(mailbox), escape_html(link));
        Self {
            subject: "A patient replied in your secure mailbox".into(),
            text: format!(
                "A patient replied in the {mailbox} mailbox.\n\nTo read it, sign in to Portico:\n\n    {link}\n\n\
                 -- Portico secure messages\n"
            ),
            html: html_page(&format!(
                "<p>A patient replied in the {name} mailbox.</p>\n\
                 <p>To read it, sign in to Portico:</p>\n<p><a href=\"{href}\">{href}</a></p>"
            )),
        }
    }

    /// Tells an organization's admins that a behavioural alert was raised: the
    /// organization and a link to the alerts page, nothing of who or what.
    pub fn security_alert(organization: &str, link: &str) -> Self {
        let (org, href) = (escape_html(organization), escape_html(link));
        Self {
            subject: "Portico security alert".into(),
            text: format!(
                "A behavioural alert was raised for {organization}.\n\nTo review it, sign in to Portico:\n\n    {link}\n\n\
                 -- Portico secure messages\n"
            ),
            html: html_page(&format!(
                "<p>A behavioural alert was raised for {org}.</p>\n\
                 <p>To review it, sign in to Portico:</p>\n<p><a href=\"{href}\">{href}</a></p>"
            )),
        }
    }

    /// The sign-in code email. `organization` is who the person came from, if anyone.
    pub fn sign_in_code(payload: &CodePayload, organization: Option<&str>) -> Self {
        let from = organization
            .map(|o| format!(" to read what {o} sent you"))
            .unwrap_or_default();
        let minutes = payload.valid_minutes;
        Self {
            subject: "Your Portico sign-in code".into(),
            text: format!(
                "Your sign-in code{from} is:\n\n    {}\n\nIt works once, for {minutes} minutes. \
                 If you did not ask for it, you can ignore this email: nobody can sign in \
                 without it.\n\n-- Portico secure messages\n",
                payload.code
            ),
            html: html_page(&format!(
                "<p>Your sign-in code{} is:</p>\n<p><strong>{}</strong></p>\n\
                 <p>It works once, for {minutes} minutes. If you did not ask for it, you can \
                 ignore this email: nobody can sign in without it.</p>",
                escape_html(&from),
                escape_html(&payload.code)
            )),
        }
    }

    /// The email as a message from `from` to `to`, with a text and an HTML
    /// alternative. Its `Message-ID` is made from `id` (the outbox row) and the
    /// sender's domain, so a retried email has the same one and a receiver can
    /// drop the copy.
    pub fn to_message(&self, from: &Mailbox, to: &NormalizedEmail, id: &str) -> Result<Message> {
        let invalid = |field: &'static str| Error::Invalid {
            field,
            problem: "cannot be used as an email address".into(),
        };
        let to: Mailbox = to.as_str().parse().map_err(|_| invalid("to"))?;
        Message::builder()
            .from(from.clone())
            .to(to)
            .subject(self.subject.clone())
            .message_id(Some(message_id(id, from)))
            .multipart(MultiPart::alternative_plain_html(
                self.text.clone(),
                self.html.clone(),
            ))
            .map_err(|_| invalid("mail_from"))
    }
}

/// `<outbox id@sender's domain>`.
pub fn message_id(id: &str, from: &Mailbox) -> String {
    format!("<{id}@{}>", from.email.domain())
}

fn html_page(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n{body}\n\
         <p>&mdash; Portico secure messages</p>\n</body></html>\n"
    )
}

/// Escapes text for an HTML element or a quoted attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_escapes_the_organization_and_the_link() {
        let email = Email::new_item(
            "Smith & <b>Sons</b> \"Clinic\"",
            "https://portal.example/open/a\"b<c",
        );
        assert!(email
            .html
            .contains("Smith &amp; &lt;b&gt;Sons&lt;/b&gt; &quot;Clinic&quot;"));
        assert!(email
            .html
            .contains("href=\"https://portal.example/open/a&quot;b&lt;c\""));
        assert!(!email.html.contains("<b>"));
        assert!(
            email.text.contains("Smith & <b>Sons</b>"),
            "text is not HTML"
        );
    }

    #[test]
    fn a_message_has_both_alternatives_and_a_message_id_from_the_outbox_row() {
        let email = Email::new_item("Riverside Clinic", "https://portal.example/open/tok");
        let from: Mailbox = "Portico <no-reply@portal.example>".parse().unwrap();
        let to = NormalizedEmail::parse("ana@example.org").unwrap();
        let bytes = email.to_message(&from, &to, "row-1").unwrap().formatted();
        let mail = String::from_utf8(bytes).unwrap();
        assert!(
            mail.contains("Message-ID: <row-1@portal.example>"),
            "{mail}"
        );
        assert!(
            mail.contains("Subject: You have a new secure message"),
            "{mail}"
        );
        assert!(mail.contains("multipart/alternative"), "{mail}");
        assert!(
            mail.contains("Content-Type: text/plain; charset=utf-8"),
            "{mail}"
        );
        assert!(
            mail.contains("Content-Type: text/html; charset=utf-8"),
            "{mail}"
        );
        assert!(mail.contains("To: ana@example.org"), "{mail}");
    }
}
