//! An organization's branding on its pages (the landing page of its emails'
//! links, its staff's pages): its name and logo in the portal header, and its
//! accent colour, when its admins set them.

use leptos::prelude::*;
use leptos_meta::Stylesheet;

use crate::auth::Brand;

/// The accent colour of `brand`'s organization, as a stylesheet (the CSP
/// allows no inline styles).
#[component]
pub fn OrgBrand(brand: Brand) -> impl IntoView {
    let org = brand.organization_id;
    brand
        .colour
        .then(|| view! { <Stylesheet id="brand" href=format!("/brand/{org}/colours.css")/> })
}

/// The organization whose page is being served, for the portal header. The
/// server finds it before the page renders (server/src/http/branding.rs) and
/// puts it in the request; the header writes it into its `data-org*`
/// attributes, which the browser reads back when it hydrates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderBrand {
    pub organization_id: String,
    pub name: String,
    pub logo: bool,
}

impl HeaderBrand {
    /// The brand of the page being rendered, if it is an organization's.
    pub fn of_page() -> Option<Self> {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<HeaderBrand>().cloned())
        }
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        {
            let header = document().query_selector("header.site-header").ok()??;
            Some(HeaderBrand {
                organization_id: header.get_attribute("data-org")?,
                name: header.get_attribute("data-org-name")?,
                logo: header.get_attribute("data-org-logo").as_deref() == Some("true"),
            })
        }
        #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
        {
            None
        }
    }

    /// Whether the brand still applies at `path`: on the landing page it was
    /// found for, or anywhere among the staff pages; not on a patient's own
    /// pages, which span organizations (after signing in from a landing page).
    pub fn applies_at(first_path: &str, path: &str) -> bool {
        path == first_path
            || (crate::i18n::is_staff_path(first_path) && crate::i18n::is_staff_path(path))
    }
}

/// The organization's name and logo, in the portal header.
#[component]
pub fn HeaderOrganization(brand: HeaderBrand) -> impl IntoView {
    let HeaderBrand {
        organization_id,
        name,
        logo,
    } = brand;
    let alt = format!("{name} logo");
    view! {
        <span class="org-brand">
            {logo.then(|| view! { <img class="org-logo" src=format!("/brand/{organization_id}/logo") alt=alt/> })}
            <span class="org-name">{name}</span>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::HeaderBrand;

    #[test]
    fn the_brand_stays_on_its_page_and_across_staff_pages_only() {
        assert!(HeaderBrand::applies_at("/open/tok", "/open/tok"));
        assert!(!HeaderBrand::applies_at("/open/tok", "/inbox"));
        assert!(HeaderBrand::applies_at("/staff", "/staff/admin/audit"));
        assert!(!HeaderBrand::applies_at("/staff", "/inbox"));
    }
}
