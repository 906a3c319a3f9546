//! English and Spanish for everything a patient sees.
//!
//! Each page's words live in a catalogue beside it here, made with
//! [`catalogue!`]: every entry must give both languages, so a text without a
//! translation does not compile, and the tests below fail on a "translation"
//! that is empty, left in English, or loses a `{placeholder}`.
//!
//! The language is chosen per request on the server (the switch's cookie, then
//! Accept-Language; see `portico_core::language`), written into `<html lang>`,
//! and read back from there when the browser hydrates, so both render the same.

use leptos::prelude::*;

pub mod common;
pub mod messages;
pub mod records;
pub mod sign_in;

/// The language of the page being rendered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    Es,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    pub fn from_code(code: &str) -> Self {
        if code == "es" {
            Lang::Es
        } else {
            Lang::En
        }
    }

    /// The other language, as the switch offers it: its code and its own name.
    pub fn other(self) -> (&'static str, &'static str) {
        match self {
            Lang::En => ("es", "Español"),
            Lang::Es => ("en", "English"),
        }
    }
}

/// The language of this page: set by [`provide_lang`] for pages; for a server
/// function, read from its request.
pub fn lang() -> Lang {
    if let Some(lang) = use_context::<Lang>() {
        return lang;
    }
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>() {
        if is_staff_path(parts.uri.path()) {
            return Lang::En;
        }
        return from_request(&parts.headers);
    }
    Lang::En
}

/// Staff pages are in English only, and say so in `<html lang>`.
pub fn is_staff_path(path: &str) -> bool {
    path == "/staff" || path.starts_with("/staff/") || path.starts_with("/enroll/")
}

/// Decides the page's language once, at the top of the app: on the server from
/// the request, in the browser from the `<html lang>` the server wrote.
pub fn provide_lang() -> Lang {
    let lang = lang();
    #[cfg(feature = "hydrate")]
    let lang = document()
        .document_element()
        .and_then(|html| html.get_attribute("lang"))
        .map(|code| Lang::from_code(&code))
        .unwrap_or(lang);
    provide_context(lang);
    lang
}

/// The request's language: the switch's cookie, then Accept-Language, then English.
#[cfg(feature = "ssr")]
pub fn from_request(headers: &http::HeaderMap) -> Lang {
    use portico_core::language::Language;
    let header = |name: http::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    match Language::for_request(
        header(http::header::COOKIE),
        header(http::header::ACCEPT_LANGUAGE),
    ) {
        Language::English => Lang::En,
        Language::Spanish => Lang::Es,
    }
}

#[cfg(feature = "ssr")]
impl From<Lang> for portico_core::language::Language {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::En => Self::English,
            Lang::Es => Self::Spanish,
        }
    }
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

/// A page's texts in both languages. Each entry reads
/// `name { en: "…", es: "…" }`; `texts()` gives the page's language.
macro_rules! catalogue {
    ($( $(#[$meta:meta])* $name:ident { en: $en:literal, es: $es:literal } )*) => {
        pub struct Texts { $( $(#[$meta])* pub $name: &'static str, )* }

        pub const ENGLISH: Texts = Texts { $( $name: $en, )* };
        pub const SPANISH: Texts = Texts { $( $name: $es, )* };

        /// Every entry as (name, English, Spanish), for the catalogue tests.
        #[cfg(test)]
        pub const ENTRIES: &[(&str, &str, &str)] = &[ $( (stringify!($name), $en, $es), )* ];

        /// The texts in the language of the page being rendered.
        pub fn texts() -> &'static Texts {
            match $crate::i18n::lang() {
                $crate::i18n::Lang::En => &ENGLISH,
                $crate::i18n::Lang::Es => &SPANISH,
            }
        }
    };
}
pub(crate) use catalogue;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Entries that read the same in both languages, on purpose.
    const SAME_IN_BOTH: &[&str] = &["brand", "title_suffix", "pdf"];

    fn all() -> Vec<(&'static str, &'static str, &'static str)> {
        [
            super::common::ENTRIES,
            super::messages::ENTRIES,
            super::records::ENTRIES,
            super::sign_in::ENTRIES,
        ]
        .concat()
    }

    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect()
    }

    #[test]
    fn every_patient_text_has_a_spanish_translation() {
        let mut untranslated = Vec::new();
        for (name, en, es) in all() {
            let left_in_english = en == es && !SAME_IN_BOTH.contains(&name);
            if es.trim().is_empty() || left_in_english {
                untranslated.push(name);
            }
        }
        assert!(untranslated.is_empty(), "no Spanish for: {untranslated:?}");
    }

    #[test]
    fn each_translation_keeps_the_placeholders_of_the_english() {
        for (name, en, es) in all() {
            assert_eq!(placeholders(en), placeholders(es), "{name}");
        }
    }

    #[test]
    fn staff_pages_are_told_from_patient_pages() {
        for staff in ["/staff", "/staff/admin/audit", "/enroll/abc"] {
            assert!(super::is_staff_path(staff), "{staff}");
        }
        for patient in ["/", "/inbox", "/staffing", "/open/tok", "/sign-in"] {
            assert!(!super::is_staff_path(patient), "{patient}");
        }
    }

    #[test]
    fn fill_replaces_each_placeholder() {
        assert_eq!(
            super::fill("{org} sent {n}", &[("org", "Riverside"), ("n", "2")]),
            "Riverside sent 2"
        );
    }
}
