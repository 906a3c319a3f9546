//! A message body on the page: plain text, with web addresses made into links.
//! Never HTML: every piece is put on the page as text, and only `http` and
//! `https` addresses become links (no `javascript:`, no `data:`).

use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Link(String),
}

/// Splits `text` into plain runs and web links.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    let mut out: Vec<Piece> = Vec::new();
    for span in finder.spans(text) {
        let s = span.as_str();
        let web = span.kind().is_some() && {
            let lower = s.to_ascii_lowercase();
            lower.starts_with("https://") || lower.starts_with("http://")
        };
        match (web, out.last_mut()) {
            (true, _) => out.push(Piece::Link(s.to_owned())),
            (false, Some(Piece::Text(run))) => run.push_str(s),
            (false, _) => out.push(Piece::Text(s.to_owned())),
        }
    }
    out
}

/// A body, as text with links.
#[component]
pub fn BodyText(text: String) -> impl IntoView {
    view! {
        <p class="body">
            {pieces(&text).into_iter().map(|piece| match piece {
                Piece::Text(run) => run.into_any(),
                Piece::Link(url) => {
                    let shown = url.clone();
                    view! {
                        <a href=url rel="noopener noreferrer nofollow" target="_blank">{shown}</a>
                    }.into_any()
                }
            }).collect_view()}
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_addresses_become_links_and_nothing_else_does() {
        assert_eq!(
            pieces("See https://example.org/prep?x=1. Call us."),
            [
                Piece::Text("See ".into()),
                Piece::Link("https://example.org/prep?x=1".into()),
                Piece::Text(". Call us.".into()),
            ]
        );
        // Markup stays text: it is never parsed, only shown.
        assert_eq!(
            pieces("<b>hi</b> <a href=\"javascript:alert(1)\">x</a>"),
            [Piece::Text(
                "<b>hi</b> <a href=\"javascript:alert(1)\">x</a>".into()
            )]
        );
        assert_eq!(
            pieces("javascript:alert(1) data:text/html,hi mailto:a@b.example"),
            [Piece::Text(
                "javascript:alert(1) data:text/html,hi mailto:a@b.example".into()
            )]
        );
        assert_eq!(pieces(""), []);
    }
}
