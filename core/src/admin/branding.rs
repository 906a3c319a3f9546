//! An organization's branding, as its admins set it: the name patients see,
//! an accent colour, and a logo. The colour must keep white text readable on
//! it (WCAG AA, 4.5:1), and the logo must be a PNG or a JPEG by its content.

use super::require_admin;
use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    auth::Client,
    messages::StaffMember,
    store::{on_pool, Store},
    Error, Result,
};

/// The largest logo accepted.
pub const LOGO_MAX_BYTES: usize = 200_000;
const NAME_MAX_CHARS: usize = 100;

/// What an organization looks like to patients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branding {
    pub display_name: String,
    /// `#rrggbb`, lower case.
    pub colour: Option<String>,
    pub has_logo: bool,
}

/// A change of branding; `logo: None` keeps the logo there is.
#[derive(Clone, Debug, Default)]
pub struct BrandingChange {
    pub display_name: String,
    /// Empty: the portal's own colour.
    pub colour: String,
    pub logo: Option<Vec<u8>>,
    pub remove_logo: bool,
}

pub async fn branding(store: &Store, organization_id: &str) -> Result<Branding> {
    let row: Option<(String, Option<String>, bool)> = on_pool!(store, |pool| sqlx::query_as(
        "SELECT display_name, brand_colour, logo IS NOT NULL FROM organizations WHERE id = $1"
    )
    .bind(organization_id)
    .fetch_optional(pool)
    .await)?;
    let (display_name, colour, has_logo) = row.ok_or(Error::NotFound)?;
    Ok(Branding {
        display_name,
        colour,
        has_logo,
    })
}

/// The organization's logo and its content type, if it has one.
pub async fn logo(store: &Store, organization_id: &str) -> Result<Option<(Vec<u8>, String)>> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> = on_pool!(store, |pool| sqlx::query_as(
        "SELECT logo, logo_type FROM organizations WHERE id = $1"
    )
    .bind(organization_id)
    .fetch_optional(pool)
    .await)?;
    Ok(row.and_then(|(logo, kind)| logo.zip(kind)))
}

pub async fn set_branding(
    store: &Store,
    audit: &AuditLog,
    admin: &StaffMember,
    change: &BrandingChange,
    client: &Client,
) -> Result<()> {
    require_admin(admin)?;
    let name = change.display_name.trim();
    if name.is_empty()
        || name.chars().count() > NAME_MAX_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(invalid(
            "display_name",
            format!("must be 1 to {NAME_MAX_CHARS} characters, on one line"),
        ));
    }
    let colour = match change.colour.trim() {
        "" => None,
        typed => Some(check_colour(typed)?),
    };
    let logo = match &change.logo {
        Some(bytes) => Some((logo_type(bytes)?, bytes)),
        None => None,
    };
    on_pool!(store, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE organizations SET display_name = $1, brand_colour = $2 WHERE id = $3")
            .bind(name)
            .bind(&colour)
            .bind(&admin.organization_id)
            .execute(&mut *tx)
            .await?;
        if let Some((kind, bytes)) = &logo {
            sqlx::query("UPDATE organizations SET logo = $1, logo_type = $2 WHERE id = $3")
                .bind(bytes.as_slice())
                .bind(*kind)
                .bind(&admin.organization_id)
                .execute(&mut *tx)
                .await?;
        } else if change.remove_logo {
            sqlx::query("UPDATE organizations SET logo = NULL, logo_type = NULL WHERE id = $1")
                .bind(&admin.organization_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })?;
    let event = AuditEvent::new(
        Actor::staff(&admin.staff_id),
        Action::BrandingChanged,
        Outcome::Success,
    )
    .about(admin.organization_id.clone())
    .in_organization(admin.organization_id.clone());
    audit.record(client.stamp(event)).await.map(drop)
}

fn invalid(field: &'static str, problem: String) -> Error {
    Error::Invalid { field, problem }
}

/// `#rrggbb` (lower-cased) when white text on it has a contrast of 4.5:1 or more.
fn check_colour(typed: &str) -> Result<String> {
    let hex = typed.strip_prefix('#').unwrap_or(typed);
    let channels: Option<Vec<u8>> = (hex.len() == 6 && hex.is_ascii())
        .then(|| {
            (0..3)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect()
        })
        .flatten();
    let Some(channels) = channels else {
        return Err(invalid("colour", "must be a colour such as #0b5cad".into()));
    };
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance =
        0.2126 * linear(channels[0]) + 0.7152 * linear(channels[1]) + 0.0722 * linear(channels[2]);
    let contrast = 1.05 / (luminance + 0.05);
    if contrast < 4.5 {
        return Err(invalid(
            "colour",
            format!("is too light: white text on it has a contrast of {contrast:.1}:1, and at least 4.5:1 is needed"),
        ));
    }
    Ok(format!("#{}", hex.to_ascii_lowercase()))
}

fn logo_type(bytes: &[u8]) -> Result<&'static str> {
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(invalid(
            "logo",
            format!("must be at most {} KB", LOGO_MAX_BYTES / 1000),
        ));
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok("image/jpeg")
    } else {
        Err(invalid("logo", "must be a PNG or JPEG image".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::{check_colour, logo_type};

    #[test]
    fn a_colour_must_keep_white_text_readable() {
        assert_eq!(check_colour("#0B5CAD").unwrap(), "#0b5cad");
        assert_eq!(check_colour("1b2430").unwrap(), "#1b2430");
        for bad in ["#ffff00", "#777777", "blue", "#12345", "#12345g", "#ééé"] {
            assert!(check_colour(bad).is_err(), "{bad} accepted");
        }
        // #767676 is the lightest grey that passes on white: 4.54:1.
        assert!(check_colour("#767676").is_ok());
    }

    #[test]
    fn a_logo_is_a_png_or_jpeg_by_its_content() {
        assert_eq!(logo_type(b"\x89PNG\r\n\x1a\nrest").unwrap(), "image/png");
        assert_eq!(logo_type(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(), "image/jpeg");
        assert!(logo_type(b"<svg onload=alert(1)>").is_err());
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(super::LOGO_MAX_BYTES + 1, 0);
        assert!(logo_type(&big).is_err());
    }
}
