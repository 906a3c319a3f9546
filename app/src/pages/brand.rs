//! An organization's logo and accent colour on its pages (the landing page of
//! its emails' links, its staff's home), when its admins set them.

use leptos::prelude::*;
use leptos_meta::Stylesheet;

use crate::auth::Brand;

#[component]
pub fn OrgBrand(brand: Brand, name: String) -> impl IntoView {
    let org = brand.organization_id;
    view! {
        {brand.colour.then(|| view! { <Stylesheet id="brand" href=format!("/brand/{org}/colours.css")/> })}
        {brand.logo.then(|| view! {
            <img class="org-logo" src=format!("/brand/{org}/logo") alt=format!("{name} logo")/>
        })}
    }
}
