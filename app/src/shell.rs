//! The HTML document around every page, and the router.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_location,
    path, SsrMode,
};

use crate::{
    i18n::{common::texts, is_staff_path, lang, provide_lang},
    pages::brand::{HeaderBrand, HeaderOrganization},
};

use crate::pages::{
    access_history::AccessHistoryPage,
    admin::AdminPage,
    admin_alerts::AdminAlertsPage,
    admin_audit::AdminAuditPage,
    admin_branding::AdminBrandingPage,
    admin_systems::AdminSystemsPage,
    home::HomePage,
    inbox::InboxPage,
    not_found::NotFound,
    open_link::OpenLinkPage,
    sign_in::SignInPage,
    signed_out::SignedOutPage,
    staff::{EnrollPage, MailboxPage, StaffHomePage, StaffSignInPage},
    statements::{StatementView, StatementsPage},
    thread::ThreadPage,
};

/// The whole document, as the server sends it. The hydration scripts carry the
/// per-response CSP nonce that the server puts in context.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang=lang().code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: header, the routed page, footer.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_lang();
    let t = texts();
    // Set once the browser has hydrated the page (effects run only there), so
    // tests and scripts can tell a live page from server-rendered HTML.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));

    view! {
        <Stylesheet id="portico" href="/pkg/portico.css"/>
        <Title formatter=|page: String| crate::i18n::fill(texts().title_suffix, &[("page", &page)])/>
        <a class="skip-link" href="#content">{t.skip_to_content}</a>
        <Router>
            <SiteHeader/>
            <main id="content" tabindex="-1" data-hydrated=move || hydrated.get().to_string()>
                <Routes fallback=NotFound>
                    // Patient pages are rendered whole before the response starts
                    // (SsrMode::Async): streamed out of order, their content would
                    // need JavaScript to move into place, and they must read without it.
                    <Route path=path!("") view=HomePage/>
                    <Route path=path!("/open/:token") view=OpenLinkPage ssr=SsrMode::Async/>
                    <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/inbox") view=InboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/signed-out") view=SignedOutPage/>
                    <Route path=path!("/enroll/:token") view=EnrollPage/>
                    <Route path=path!("/staff/sign-in") view=StaffSignInPage/>
                    <Route path=path!("/staff") view=StaffHomePage/>
                    <Route path=path!("/staff/admin") view=AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/admin/audit") view=AdminAuditPage/>
                    <Route path=path!("/staff/admin/systems") view=AdminSystemsPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/admin/branding") view=AdminBrandingPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/admin/alerts") view=AdminAlertsPage ssr=SsrMode::Async/>
                    <Route path=path!("/staff/mailbox/:id") view=MailboxPage/>
                    // Rendered whole before the response starts, so a refusal is a real 403.
                    <Route path=path!("/thread/:id") view=ThreadPage ssr=SsrMode::Async/>
                    <Route path=path!("/statements") view=StatementsPage ssr=SsrMode::Async/>
                    <Route path=path!("/access-history") view=AccessHistoryPage ssr=SsrMode::Async/>
                    <Route path=path!("/statements/:id") view=StatementView ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>{t.footer}</p>
            </footer>
        </Router>
    }
}

/// The portal's name, and on an organization's pages its name and logo
/// (see [`HeaderBrand`]), and the language switch.
#[component]
fn SiteHeader() -> impl IntoView {
    let t = texts();
    let location = use_location();
    let brand = HeaderBrand::of_page();
    let first_path = location.pathname.get_untracked();
    let (org, org_name, org_logo) = match &brand {
        Some(b) => (
            Some(b.organization_id.clone()),
            Some(b.name.clone()),
            Some(b.logo.to_string()),
        ),
        None => (None, None, None),
    };
    view! {
        <header class="site-header" data-org=org data-org-name=org_name data-org-logo=org_logo>
            <a class="brand" href="/">{t.brand}</a>
            <span class="tagline">{t.tagline}</span>
            {brand.map(|brand| view! {
                <Show when=move || HeaderBrand::applies_at(&first_path, &location.pathname.get())>
                    <HeaderOrganization brand=brand.clone()/>
                </Show>
            })}
            <LanguageSwitch/>
        </header>
    }
}

/// Offers the other language on patient pages: a plain form, so it works
/// without JavaScript; the server keeps the choice in a cookie (and, for a
/// signed-in patient, for emails) and brings the browser back to this page.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let location = use_location();
    let (code, name) = lang().other();
    // The query, if any, is kept (`?code=sent` on the sign-in page).
    let back = move || {
        let query = location.search.get();
        match query.trim_start_matches('?') {
            "" => location.pathname.get(),
            query => format!("{}?{query}", location.pathname.get()),
        }
    };
    let t = texts();
    view! {
        <Show when=move || !is_staff_path(&location.pathname.get())>
            <form class="language-switch" method="post" action="/language" aria-label=t.language_label>
                <input type="hidden" name="back" value=back/>
                <button type="submit" name="lang" value=code lang=code>{name}</button>
            </form>
        </Show>
    }
}
