//! The HTML document around every page, and the router.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
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
        <html lang="en">
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
    // Set once the browser has hydrated the page (effects run only there), so
    // tests and scripts can tell a live page from server-rendered HTML.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));

    view! {
        <Stylesheet id="portico" href="/pkg/portico.css"/>
        <Title formatter=|page: String| format!("{page} · Portico")/>
        <a class="skip-link" href="#content">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="/">"Portico"</a>
            <span class="tagline">"Secure health messages"</span>
        </header>
        <Router>
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
        </Router>
        <footer class="site-footer">
            <p>"Portico never sends health information by email. Messages open only here, after you sign in."</p>
        </footer>
    }
}
