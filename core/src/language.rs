//! The languages a patient can read Portico in, and how one is chosen for a
//! request: the switch's cookie first, then the browser's Accept-Language,
//! then English. The chosen language is also kept with the patient's identity,
//! so emails sent later are written in it.

use serde::{Deserialize, Serialize};

use crate::{
    store::{on_pool, Store},
    Error, Result,
};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[default]
    English,
    Spanish,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::Spanish];

    /// The cookie the language switch sets.
    pub const COOKIE: &'static str = "portico_lang";

    /// The BCP 47 tag, as in `<html lang>`, the cookie and the database.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Spanish => "es",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The browser's most preferred language that Portico has (`es-MX` is
    /// Spanish); English when it names none of them.
    pub fn from_accept_language(header: &str) -> Self {
        // Ordered by preference; "es-MX" is matched by its primary tag, "es".
        accept_language::parse(header)
            .iter()
            .find_map(|tag| {
                let primary = tag.split('-').next()?.to_ascii_lowercase();
                Self::from_code(&primary)
            })
            .unwrap_or_default()
    }

    /// The language for a request: its `portico_lang` cookie if that names a
    /// language, else its Accept-Language, else English.
    pub fn for_request(cookie_header: Option<&str>, accept_language: Option<&str>) -> Self {
        let chosen = cookie_header.and_then(|cookies| {
            cookies.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == Self::COOKIE)
                    .then(|| Self::from_code(value.trim()))
                    .flatten()
            })
        });
        chosen
            .or_else(|| accept_language.map(Self::from_accept_language))
            .unwrap_or_default()
    }
}

/// Keeps `language` as the one `identity_id`'s emails are written in.
/// [`Error::NotFound`] for an unknown identity.
pub async fn remember(store: &Store, identity_id: &str, language: Language) -> Result<()> {
    let changed = on_pool!(store, |pool| sqlx::query(
        "UPDATE identities SET language = $2 WHERE id = $1"
    )
    .bind(identity_id)
    .bind(language.code())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// The language `identity_id`'s emails are written in: the one it last chose,
/// else English.
pub async fn of_identity(store: &Store, identity_id: &str) -> Result<Language> {
    let code: Option<String> = on_pool!(store, |pool| sqlx::query_scalar(
        "SELECT language FROM identities WHERE id = $1"
    )
    .bind(identity_id)
    .fetch_optional(pool)
    .await)?;
    Ok(code
        .as_deref()
        .and_then(Language::from_code)
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browsers_preference_picks_spanish_for_any_region() {
        assert_eq!(
            Language::from_accept_language("es-MX,es;q=0.9,en;q=0.8"),
            Language::Spanish
        );
        assert_eq!(Language::from_accept_language("es"), Language::Spanish);
        // What a browser set to Mexican Spanish alone sends.
        assert_eq!(Language::from_accept_language("es-MX"), Language::Spanish);
        assert_eq!(Language::from_accept_language("ES-us"), Language::Spanish);
        assert_eq!(
            Language::from_accept_language("en-US,en;q=0.9,es;q=0.8"),
            Language::English
        );
        // Preference order is the q value, not the order written.
        assert_eq!(
            Language::from_accept_language("en;q=0.5, es;q=0.9"),
            Language::Spanish
        );
        assert_eq!(
            Language::from_accept_language("fr-FR, de"),
            Language::English
        );
        assert_eq!(Language::from_accept_language(""), Language::English);
    }

    #[test]
    fn the_switchs_cookie_wins_over_the_browser() {
        let spanish = Some("theme=x; portico_lang=es; id=abc");
        assert_eq!(
            Language::for_request(spanish, Some("en-US")),
            Language::Spanish
        );
        assert_eq!(
            Language::for_request(Some("portico_lang=en"), Some("es")),
            Language::English
        );
        // A cookie naming no language we have is ignored.
        assert_eq!(
            Language::for_request(Some("portico_lang=xx"), Some("es")),
            Language::Spanish
        );
        assert_eq!(Language::for_request(None, None), Language::English);
    }
}
