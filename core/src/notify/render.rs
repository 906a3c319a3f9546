//! The text of each email. Fixed wording; the only things that vary are a code,
//! a link and the sending organization's name, never a subject or a condition.

use lettre::message::{header::ContentType, Attachment, Mailbox, Message, MultiPart, SinglePart};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::{language::Language, vault::NormalizedEmail, Error, Result};

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
    /// The language of the request that asked for the code (not the one kept
    /// with the identity: anyone may ask for a code, only a sign-in keeps one).
    #[serde(default)]
    pub language: Language,
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
    /// The sending organization's logo, carried inside the email (never
    /// fetched from a server, which would tell when and where it was opened).
    pub logo: Option<Logo>,
}

/// An organization's logo as an email carries it: the image and its type
/// (`image/png` or `image/jpeg`, as checked when it was set).
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// How the HTML refers to the logo inside the email.
const LOGO_CID: &str = "logo@portico";

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// One paragraph of an email: words, a link, or a code, shown the same way in
/// the text and the HTML alternative.
enum Part {
    Words(String),
    Link(String),
    Code(String),
}

impl Email {
    /// An email in `language` from its subject and paragraphs, signed.
    fn compose(language: Language, subject: String, parts: Vec<Part>) -> Self {
        let signature = match language {
            Language::English => "Portico secure messages",
            Language::Spanish => "Mensajes seguros de Portico",
        };
        let mut text = String::new();
        let mut body = String::new();
        for part in parts {
            let (plain, html) = match part {
                Part::Words(w) => (w.clone(), format!("<p>{}</p>", escape_html(&w))),
                Part::Link(l) => {
                    let href = escape_html(&l);
                    (
                        format!("    {l}"),
                        format!("<p><a href=\"{href}\">{href}</a></p>"),
                    )
                }
                Part::Code(c) => (
                    format!("    {c}"),
                    format!("<p><strong>{}</strong></p>", escape_html(&c)),
                ),
            };
            text.push_str(&plain);
            text.push_str("\n\n");
            body.push_str(&html);
            body.push('\n');
        }
        text.push_str(&format!("-- {signature}\n"));
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"></head>\n\
             <body style=\"font-family: sans-serif; line-height: 1.5\">\n{body}\
             <p>&mdash; {signature}</p>\n</body></html>\n",
            language.code()
        );
        Self {
            subject,
            text,
            html,
            logo: None,
        }
    }

    /// The email with `organization`'s logo at the top of its HTML, inside
    /// the email itself.
    pub fn with_logo(mut self, organization: &str, logo: Logo) -> Self {
        let image = format!(
            "<p><img src=\"cid:{LOGO_CID}\" alt=\"{}\" height=\"48\"></p>\n",
            escape_html(organization)
        );
        if let Some(at) = self.html.find("<body") {
            if let Some(end) = self.html[at..].find('>') {
                self.html.insert_str(at + end + 2, &image);
            }
        }
        self.logo = Some(logo);
        self
    }

    /// The notice of a new message: who wrote and the link, nothing else: no
    /// subject, no body, no condition. `organization` is `None` when unknown.
    pub fn new_item(language: Language, organization: Option<&str>, link: &str) -> Self {
        let (subject, sent, open, private) = match language {
            Language::English => (
                "You have a new secure message",
                format!(
                    "{} sent you a secure message.",
                    organization.unwrap_or("Your care team")
                ),
                "To read it, open this link and sign in:",
                "For your privacy this email does not say what the message is about.",
            ),
            Language::Spanish => (
                "Tiene un nuevo mensaje seguro",
                format!(
                    "{} le envió un mensaje seguro.",
                    organization.unwrap_or("Su equipo de atención")
                ),
                "Para leerlo, abra este enlace e inicie sesión:",
                "Por su privacidad, este correo no dice de qué trata el mensaje.",
            ),
        };
        Self::compose(
            language,
            subject.into(),
            vec![
                Part::Words(sent),
                Part::Words(open.into()),
                Part::Link(link.into()),
                Part::Words(private.into()),
            ],
        )
    }

    /// The notice of new Explanation of Benefits statements: which plan and
    /// the link; never an amount, a service, a provider or a date of care.
    pub fn new_statements(language: Language, plan: Option<&str>, link: &str) -> Self {
        let (news, open, private) = match language {
            Language::English => (
                format!(
                    "You have new statements from {}",
                    plan.unwrap_or("your health plan")
                ),
                "To read them, open this link and sign in:",
                "For your privacy this email does not say what the statements are about.",
            ),
            Language::Spanish => (
                format!(
                    "Tiene nuevas explicaciones de beneficios de {}",
                    plan.unwrap_or("su plan de salud")
                ),
                "Para leerlas, abra este enlace e inicie sesión:",
                "Por su privacidad, este correo no dice de qué tratan.",
            ),
        };
        Self::compose(
            language,
            news.clone(),
            vec![
                Part::Words(format!("{news}.")),
                Part::Words(open.into()),
                Part::Link(link.into()),
                Part::Words(private.into()),
            ],
        )
    }

    /// Tells staff that a patient replied in one of their mailboxes: the
    /// mailbox and a link to the thread (which asks them to sign in), nothing of
    /// the patient or the message. Staff read Portico in English.
    pub fn staff_reply(mailbox: &str, link: &str) -> Self {
        Self::compose(
            Language::English,
            "A patient replied in your secure mailbox".into(),
            vec![
                Part::Words(format!("A patient replied in the {mailbox} mailbox.")),
                Part::Words("To read it, sign in to Portico:".into()),
                Part::Link(link.into()),
            ],
        )
    }

    /// Tells an organization's admins that a behavioural alert was raised: the
    /// organization and a link to the alerts page, nothing of who or what.
    pub fn security_alert(organization: &str, link: &str) -> Self {
        Self::compose(
            Language::English,
            "Portico security alert".into(),
            vec![
                Part::Words(format!(
                    "A behavioural alert was raised for {organization}."
                )),
                Part::Words("To review it, sign in to Portico:".into()),
                Part::Link(link.into()),
            ],
        )
    }

    /// The sign-in code email. `organization` is who the person came from, if anyone.
    /// It is in the language of the request that asked for it.
    pub fn sign_in_code(payload: &CodePayload, organization: Option<&str>) -> Self {
        let (minutes, language) = (payload.valid_minutes, payload.language);
        let (subject, yours, once) = match language {
            Language::English => (
                "Your Portico sign-in code",
                format!(
                    "Your sign-in code{} is:",
                    organization
                        .map(|o| format!(" to read what {o} sent you"))
                        .unwrap_or_default()
                ),
                format!(
                    "It works once, for {minutes} minutes. If you did not ask for it, you can \
                     ignore this email: nobody can sign in without it."
                ),
            ),
            Language::Spanish => (
                "Su código para iniciar sesión en Portico",
                format!(
                    "Su código para iniciar sesión{} es:",
                    organization
                        .map(|o| format!(" y leer lo que {o} le envió"))
                        .unwrap_or_default()
                ),
                format!(
                    "Funciona una sola vez, durante {minutes} minutos. Si usted no lo pidió, \
                     puede ignorar este correo: nadie puede iniciar sesión sin él."
                ),
            ),
        };
        Self::compose(
            language,
            subject.into(),
            vec![
                Part::Words(yours),
                Part::Code(payload.code.clone()),
                Part::Words(once),
            ],
        )
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
            .multipart(self.body())
            .map_err(|_| invalid("mail_from"))
    }

    /// Text and HTML alternatives; with a logo, the HTML and the image are
    /// sent together (multipart/related), the image named by its Content-ID.
    fn body(&self) -> MultiPart {
        let Some(logo) = &self.logo else {
            return MultiPart::alternative_plain_html(self.text.clone(), self.html.clone());
        };
        let image = ContentType::parse(&logo.content_type).unwrap_or_else(|_| {
            ContentType::parse("application/octet-stream").expect("a valid type")
        });
        MultiPart::alternative()
            .singlepart(SinglePart::plain(self.text.clone()))
            .multipart(
                MultiPart::related()
                    .singlepart(SinglePart::html(self.html.clone()))
                    .singlepart(
                        Attachment::new_inline(LOGO_CID.to_owned()).body(logo.bytes.clone(), image),
                    ),
            )
    }
}

/// `<outbox id@sender's domain>`.
pub fn message_id(id: &str, from: &Mailbox) -> String {
    format!("<{id}@{}>", from.email.domain())
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
            Language::English,
            Some("Smith & <b>Sons</b> \"Clinic\""),
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
        let email = Email::new_item(
            Language::English,
            Some("Riverside Clinic"),
            "https://portal.example/open/tok",
        );
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

    #[test]
    fn a_spanish_readers_emails_are_in_spanish_and_keep_the_code_and_link() {
        let link = "https://portal.example/open/tok";
        let notice = Email::new_item(Language::Spanish, Some("Clínica Riverside"), link);
        assert_eq!(notice.subject, "Tiene un nuevo mensaje seguro");
        assert!(notice
            .text
            .contains("Clínica Riverside le envió un mensaje seguro."));
        assert!(notice.text.contains(link) && notice.html.contains(link));
        assert!(notice
            .html
            .starts_with("<!DOCTYPE html>\n<html lang=\"es\">"));
        let unknown = Email::new_item(Language::Spanish, None, link);
        assert!(unknown.text.starts_with("Su equipo de atención le envió"));

        let statements = Email::new_statements(Language::Spanish, Some("Plan Norte"), link);
        assert_eq!(
            statements.subject,
            "Tiene nuevas explicaciones de beneficios de Plan Norte"
        );

        let payload = CodePayload {
            code: "314159".into(),
            valid_minutes: 10,
            language: Language::Spanish,
        };
        let code = Email::sign_in_code(&payload, Some("Clínica Riverside"));
        assert_eq!(code.subject, "Su código para iniciar sesión en Portico");
        assert!(code
            .text
            .contains("y leer lo que Clínica Riverside le envió es:"));
        assert!(
            code.text.contains("    314159\n") && code.html.contains("<strong>314159</strong>")
        );
        assert!(code.text.contains("durante 10 minutos"));
        for email in [&notice, &statements, &code] {
            assert!(email.text.ends_with("-- Mensajes seguros de Portico\n"));
            for english in ["You ", "your ", "sign in", "email"] {
                assert!(
                    !email.text.contains(english),
                    "{english:?} in {}",
                    email.text
                );
            }
        }
    }

    #[test]
    fn the_english_wording_is_unchanged() {
        let notice = Email::new_item(Language::English, None, "https://p.example/open/t");
        assert_eq!(
            notice.text,
            "Your care team sent you a secure message.\n\nTo read it, open this link and sign in:\n\n    \
             https://p.example/open/t\n\nFor your privacy this email does not say what the message is about.\n\n\
             -- Portico secure messages\n"
        );
        let statements =
            Email::new_statements(Language::English, Some("Plan"), "https://p.example/open/t");
        assert_eq!(statements.subject, "You have new statements from Plan");
        assert!(statements
            .html
            .contains("<p>You have new statements from Plan.</p>"));
    }

    #[test]
    fn a_logo_travels_inside_the_email_never_fetched() {
        let logo = Logo {
            bytes: b"\x89PNG\r\n\x1a\nimage".to_vec(),
            content_type: "image/png".into(),
        };
        let email = Email::new_item(
            Language::English,
            Some("Riverside"),
            "https://p.example/open/t",
        )
        .with_logo("Riverside <Heart>", logo);
        assert!(email.html.contains("<body style=\"font-family: sans-serif; line-height: 1.5\">\n<p><img src=\"cid:logo@portico\" alt=\"Riverside &lt;Heart&gt;\" height=\"48\"></p>"), "{}", email.html);
        assert!(
            !email.html.contains("http://") && !email.html.contains("src=\"https"),
            "no remote image"
        );
        let from: Mailbox = "Portico <no-reply@portal.example>".parse().unwrap();
        let to = NormalizedEmail::parse("ana@example.org").unwrap();
        let mail =
            String::from_utf8(email.to_message(&from, &to, "row-2").unwrap().formatted()).unwrap();
        assert!(mail.contains("multipart/related"), "{mail}");
        assert!(mail.contains("Content-ID: <logo@portico>"), "{mail}");
        assert!(mail.contains("Content-Disposition: inline"), "{mail}");
        assert!(mail.contains("Content-Type: image/png"), "{mail}");
    }
}
