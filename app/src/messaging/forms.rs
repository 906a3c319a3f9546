//! Sending a form with its files (a message, a reply, an organization's logo). The forms post `multipart/form-data`
//! to the server (`/messages`, `/thread/{id}/reply`), which works without
//! JavaScript (the server answers with a redirect to the thread); once the page
//! is hydrated the form is sent with `fetch` instead, so a refusal is shown
//! next to the form and nothing typed is lost.

use crate::i18n::messages::{Texts, ENGLISH};

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(inline_js = r#"
export async function porticoPostForm(id, notSent) {
  const form = document.getElementById(id);
  const res = await fetch(form.action, {
    method: 'POST',
    body: new FormData(form),
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
  });
  let answer = {};
  try { answer = await res.json(); } catch (_) { answer = {}; }
  if (res.ok && answer.thread_id) return answer.thread_id;
  if (res.ok && answer.saved) return '';
  throw new Error(answer.error || notSent.replace('{status}', res.status));
}
"#)]
    extern "C" {
        #[wasm_bindgen(catch, js_name = porticoPostForm)]
        pub async fn post_form(id: String, not_sent: String) -> Result<JsValue, JsValue>;
    }
}

/// Sends the form with this element id; returns the thread id (empty for a
/// form that only saves), or what to tell the person. For staff pages: what it
/// says itself is in English.
pub async fn post_form(id: &str) -> Result<String, String> {
    post_form_in(id, &ENGLISH).await
}

/// As [`post_form`], saying what it says itself (the server's refusals aside)
/// in `t`'s language. `t` is taken by the component, before any `await`: a
/// task spawned from it no longer sees the page's language.
pub async fn post_form_in(id: &str, t: &'static Texts) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        js::post_form(id.to_owned(), t.not_sent_status.to_owned())
            .await
            .map(|v| v.as_string().unwrap_or_default())
            .map_err(|e| {
                js_sys::Reflect::get(&e, &wasm_bindgen::JsValue::from_str("message"))
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| t.not_sent.into())
            })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (id, t);
        Err("forms are sent from the browser".into())
    }
}
