//! What every page shares (header, footer, the language switch) and the small
//! pages: home, signed out, not found.

use super::catalogue;

catalogue! {
    /// The product's name, the same in both languages.
    brand { en: "Portico", es: "Portico" }
    /// The page title's ending: "Inbox · Portico".
    title_suffix { en: "{page} · Portico", es: "{page} · Portico" }
    skip_to_content { en: "Skip to content", es: "Saltar al contenido" }
    tagline { en: "Secure health messages", es: "Mensajes de salud seguros" }
    /// Names the switch's form for screen readers.
    language_label { en: "Language", es: "Idioma" }
    footer { en: "Portico never sends health information by email. Messages open only here, after you sign in.",
             es: "Portico nunca envía información de salud por correo electrónico. Los mensajes solo se abren aquí, después de iniciar sesión." }

    home_title { en: "Welcome", es: "Bienvenido" }
    home_heading { en: "Your secure health messages", es: "Sus mensajes de salud seguros" }
    home_lead { en: "Portico is where your care team and your health plan send you messages and Explanation of Benefits statements. Everything is encrypted, and every view is recorded.",
                es: "Portico es donde su equipo de atención y su plan de salud le envían mensajes y explicaciones de beneficios. Todo está cifrado y cada consulta queda registrada." }
    home_how { en: "How to read a message", es: "Cómo leer un mensaje" }
    home_step_link { en: "Open the link in the notification email you received. The email itself never contains health information.",
                     es: "Abra el enlace del correo de aviso que recibió. El correo en sí nunca contiene información de salud." }
    home_step_prove { en: "Prove it is you with a passkey, or with a one-time code we email you.",
                      es: "Demuestre que es usted con una llave de acceso, o con un código de un solo uso que le enviamos por correo." }
    home_step_read { en: "Read and reply. You can see who viewed your records, and when.",
                     es: "Lea y responda. Puede ver quién consultó sus registros, y cuándo." }
    larger_text { en: "Larger text", es: "Texto más grande" }
    standard_text { en: "Standard text", es: "Texto normal" }

    signed_out_title { en: "Signed out", es: "Sesión cerrada" }
    signed_out_heading { en: "You are signed out", es: "Su sesión está cerrada" }
    signed_out_shared { en: "Close this window if you are on a shared computer.",
                        es: "Cierre esta ventana si usa una computadora compartida." }
    sign_in_again { en: "Sign in again", es: "Iniciar sesión de nuevo" }

    not_found_title { en: "Page not found", es: "Página no encontrada" }
    not_found_text { en: "This address does not lead to a page. If you followed a link from an email, open it again, or go to the ",
                     es: "Esta dirección no lleva a ninguna página. Si siguió un enlace de un correo, ábralo de nuevo, o vaya a la " }
    home_page { en: "home page", es: "página de inicio" }
}
