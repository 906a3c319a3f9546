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

    /// What to tell the person when the browser says no.
    pub fn describe(error: JsValue) -> String {
        let name = js_sys::Reflect::get(&error, &JsValue::from_str("name"))
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" => "The passkey was not used (cancelled or timed out). Try again, or use an emailed code.".into(),
            "InvalidStateError" => "This device already has a passkey for you here.".into(),
            "NotSupportedError" | "SecurityError" => "This browser cannot use passkeys here. Use an emailed code instead.".into(),
            _ => "The passkey did not work. Try again, or use an emailed code.".into(),
        }
    }
}

/// Asks the browser to make a passkey; returns the credential as JSON.
pub async fn create_passkey(options: String) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        js::create(options)
            .await
            .map(|v| v.as_string().unwrap_or_default())
            .map_err(js::describe)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err("passkeys work only in the browser".into())
    }
}

/// Asks the browser to sign with a passkey; returns the assertion as JSON.
pub async fn get_passkey(options: String) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        js::get(options)
            .await
            .map(|v| v.as_string().unwrap_or_default())
            .map_err(js::describe)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err("passkeys work only in the browser".into())
    }
}
