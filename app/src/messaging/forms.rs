//! Sending a form with its files (a message, a reply, an organization's logo). The forms post `multipart/form-data`
//! to the server (`/messages`, `/thread/{id}/reply`), which works without
//! JavaScript (the server answers with a redirect to the thread); once the page
//! is hydrated the form is sent with `fetch` instead, so a refusal is shown
//! next to the form and nothing typed is lost.

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(inline_js = r#"
export async function porticoPostForm(id) {
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
  throw new Error(answer.error || `The message was not sent (status ${res.status}). Try again.`);
}
"#)]
    extern "C" {
        #[wasm_bindgen(catch, js_name = porticoPostForm)]
        pub async fn post_form(id: String) -> Result<JsValue, JsValue>;
    }
}

/// Sends the form with this element id; returns the thread id (empty for a
/// form that only saves), or what to tell the person.
pub async fn post_form(id: &str) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        js::post_form(id.to_owned())
            .await
            .map(|v| v.as_string().unwrap_or_default())
            .map_err(|e| {
                js_sys::Reflect::get(&e, &wasm_bindgen::JsValue::from_str("message"))
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| "The message was not sent. Try again.".into())
            })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        Err("forms are sent from the browser".into())
    }
}
