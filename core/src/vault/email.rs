//! Email addresses, normalized once, so that one person has one identity however
//! their address is typed: `" Ana@Clinic.EXAMPLE "` and `"ana@clinic.example"`
//! are the same patient, and so are a domain written in Unicode and in Punycode.
//!
//! An address is personal information: errors say what is wrong, never repeat
//! the address, and `Debug` prints only the domain-free placeholder.

use std::fmt;

use crate::{Error, Result};

/// The longest local part (before the `@`) SMTP carries, in bytes.
const MAX_LOCAL_LEN: usize = 64;
/// The longest address SMTP carries, in bytes.
const MAX_LEN: usize = 254;

/// An email address in the one form the portal stores and compares: trimmed, in
/// lower case, with its domain in ASCII (IDNA/Punycode).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NormalizedEmail(String);

impl NormalizedEmail {
    /// Normalizes `input`: trims surrounding whitespace, lower-cases, converts the
    /// domain to ASCII with IDNA, and checks the shape (one `@`, a local part of 1 to
    /// 64 bytes, at most 254 bytes in all, no whitespace or control characters).
    /// Parsing the result again gives the same address.
    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("is empty"));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("must not contain spaces or control characters"));
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid("must contain exactly one @"));
        };
        let local = local.to_lowercase();
        if local.is_empty() {
            return Err(invalid("has nothing before the @"));
        }
        if local.len() > MAX_LOCAL_LEN {
            return Err(invalid("has more than 64 bytes before the @"));
        }
        if domain.is_empty() {
            return Err(invalid("has no domain after the @"));
        }
        let domain = idna::domain_to_ascii_strict(domain)
            .map_err(|_| invalid("has a domain that is not a valid host name"))?;
        if domain.is_empty() || domain.split('.').any(str::is_empty) {
            return Err(invalid("has a domain that is not a valid host name"));
        }
        let address = format!("{local}@{domain}");
        if address.len() > MAX_LEN {
            return Err(invalid("is longer than 254 bytes"));
        }
        Ok(Self(address))
    }

    /// The address, to digest, seal or send to. Not for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, in ASCII.
    pub fn domain(&self) -> &str {
        self.0.rsplit('@').next().unwrap_or_default()
    }
}

/// Keeps the address out of logs and panics: only its length is shown.
impl fmt::Debug for NormalizedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NormalizedEmail(<{} bytes>)", self.0.len())
    }
}

fn invalid(problem: &str) -> Error {
    Error::Invalid {
        field: "email",
        problem: format!("the address {problem}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn norm(s: &str) -> String {
        NormalizedEmail::parse(s).unwrap().as_str().to_owned()
    }

    #[test]
    fn case_whitespace_and_unicode_domains_are_normalized() {
        assert_eq!(
            norm("  Ana.Lopez@Clinic.EXAMPLE\t"),
            "ana.lopez@clinic.example"
        );
        assert_eq!(norm("jörg@Bücher.example"), "jörg@xn--bcher-kva.example");
        assert_eq!(norm("a@xn--bcher-kva.example"), "a@xn--bcher-kva.example");
        assert_eq!(norm("PAT@localhost"), "pat@localhost");
        assert_eq!(
            NormalizedEmail::parse("x@Bücher.example").unwrap().domain(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn malformed_addresses_are_refused_without_repeating_them() {
        let long_local = format!("{}@example.org", "a".repeat(65));
        let long_total = format!("a@{}.example", "b.".repeat(130));
        for bad in [
            "",
            "   ",
            "no-at-sign.example",
            "two@@example.org",
            "a@b@example.org",
            "@example.org",
            "secret-person@",
            "secret person@example.org",
            "secret\u{7}@example.org",
            "secret@exa mple.org",
            "secret@.example.org",
            "secret@example..org",
            "secret@example.org.",
            "secret@exa_mple.org",
            "secret@-example.org",
            long_local.as_str(),
            long_total.as_str(),
        ] {
            let err = NormalizedEmail::parse(bad).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, Error::Invalid { field: "email", .. }),
                "{bad:?}: {text}"
            );
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn debug_output_does_not_show_the_address() {
        let e = NormalizedEmail::parse("hidden.patient@example.org").unwrap();
        assert!(!format!("{e:?}").contains("hidden"));
    }

    /// Local parts and domain labels mixing ASCII letters, digits, dots, hyphens,
    /// and letters from other scripts and in other cases.
    fn local_part() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9._+äÖßİçΣσ日本-]{1,20}"
    }

    fn domain() -> impl Strategy<Value = String> {
        proptest::collection::vec("[a-zA-Z0-9äöüÜéñ日本]{1,12}", 1..4).prop_map(|l| l.join("."))
    }

    fn flip_ascii_case(s: &str, mask: u64) -> String {
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                if mask >> (i % 64) & 1 == 1 {
                    if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                } else {
                    c
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_any_string(s in any::<String>()) {
            let _ = NormalizedEmail::parse(&s);
        }

        #[test]
        fn never_panics_on_address_like_strings(s in "[ \\ta-zA-Z0-9@.\\-_äß日\u{0}\u{200b}]{0,40}") {
            let _ = NormalizedEmail::parse(&s);
        }

        #[test]
        fn normalizing_is_idempotent(s in any::<String>(), local in local_part(), domain in domain()) {
            for candidate in [s, format!("{local}@{domain}")] {
                if let Ok(once) = NormalizedEmail::parse(&candidate) {
                    let twice = NormalizedEmail::parse(once.as_str()).unwrap();
                    prop_assert_eq!(once, twice);
                }
            }
        }

        #[test]
        fn case_and_surrounding_whitespace_do_not_matter(
            local in local_part(),
            domain in domain(),
            mask in any::<u64>(),
            before in "[ \\t\\n]{0,3}",
            after in "[ \\t\\r\\n]{0,3}",
        ) {
            let plain = format!("{local}@{domain}");
            let varied = format!("{before}{}{after}", flip_ascii_case(&plain, mask));
            match (NormalizedEmail::parse(&plain), NormalizedEmail::parse(&varied)) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(_), Err(_)) => {}
                (a, b) => prop_assert!(false, "one form parsed, the other not: {:?} / {:?}", a, b),
            }
        }

        #[test]
        fn a_unicode_domain_equals_its_punycode_form(local in "[a-z0-9.]{1,10}", domain in domain()) {
            if let Ok(ascii) = idna::domain_to_ascii_strict(&domain) {
                let unicode = NormalizedEmail::parse(&format!("{local}@{domain}"));
                let puny = NormalizedEmail::parse(&format!("{local}@{ascii}"));
                match (unicode, puny) {
                    (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                    (Err(_), Err(_)) => {}
                    (a, b) => prop_assert!(false, "{:?} / {:?}", a, b),
                }
            }
        }
    }
}
