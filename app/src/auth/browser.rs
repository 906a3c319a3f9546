//! The browser's WebAuthn API, reached through a few lines of JavaScript
//! bundled with the WebAssembly (served from this site, so the CSP allows it):
//! the options arrive as WebAuthn JSON from the server, and the credential goes
//! back as JSON. On the server these are never called.

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(inline_js = r#"
export async function porticoCreatePasskey(options) {
  const parsed = JSON.parse(options);
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(parsed.publicKey);
  const credential = await navigator.credentials.create({ publicKey });
  return JSON.stringify(credential.toJSON());
}
export async function porticoGetPasskey(options) {
  const parsed = JSON.parse(options);
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(parsed.publicKey);
  const credential = await navigator.credentials.get({ publicKey });
  return JSON.stringify(credential.toJSON());
}
"#)]
    extern "C" {
        #[wasm_bindgen(catch, js_name = porticoCreatePasskey)]
        pub async fn create(options: String) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch, js_name = porticoGetPasskey)]
        pub async fn get(options: String) -> Result<JsValue, JsValue>;
    }

    /// What to tell the person when the browser says no, in the language of `t`.
    pub fn describe(error: JsValue, t: &crate::i18n::sign_in::Texts) -> String {
        let name = js_sys::Reflect::get(&error, &JsValue::from_str("name"))
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" => t.passkey_not_used.into(),
            "InvalidStateError" => t.passkey_already_on_device.into(),
            "NotSupportedError" | "SecurityError" => t.passkeys_not_supported.into(),
            _ => t.passkey_did_not_work.into(),
        }
    }
}

/// Asks the browser to make a passkey; returns the credential as JSON, or what
/// to tell the person in the language of `t` (read by the caller: this runs
/// outside the component tree).
pub async fn create_passkey(
    options: String,
    t: &crate::i18n::sign_in::Texts,
) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        js::create(options)
            .await
            .map(|v| v.as_string().unwrap_or_default())
            .map_err(|e| js::describe(e, t))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (options, t);
        Err("passkeys work only in the browser".into())
    }
}

/// Asks the browser to sign with a passkey; returns the assertion as JSON, or
/// what to tell the person in the language of `t`.
pub async fn get_passkey(
    options: String,
    t: &crate::i18n::sign_in::Texts,
) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        js::get(options)
            .await
            .map(|v| v.as_string().unwrap_or_default())
            .map_err(|e| js::describe(e, t))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (options, t);
        Err("passkeys work only in the browser".into())
    }
}
