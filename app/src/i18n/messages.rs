//! The inbox, a thread, and replying.

use super::catalogue;

catalogue! {
    loading { en: "Loading…", es: "Cargando…" }

    // The inbox.
    your_messages { en: "Your messages", es: "Sus mensajes" }
    statements_link {
        en: "Your statements (Explanation of Benefits)",
        es: "Sus explicaciones de beneficios"
    }
    access_history_link {
        en: "Access history: who opened your messages and statements",
        es: "Historial de acceso: quién abrió sus mensajes y explicaciones de beneficios"
    }
    no_messages_yet {
        en: "No messages yet. Messages from your care team and your health plan appear here.",
        es: "Todavía no tiene mensajes. Aquí aparecerán los mensajes de su equipo de atención y de su plan de salud."
    }
    /// A thread's subject when its message was withdrawn or erased.
    withdrawn_message { en: "Withdrawn message", es: "Mensaje retirado" }
    /// The badge of an unread thread, after its subject.
    new_badge { en: " New", es: " Nuevo" }
    please_sign_in { en: "Please sign in", es: "Inicie sesión" }
    open_after_sign_in {
        en: "Your messages open only after you sign in.",
        es: "Sus mensajes solo se abren después de iniciar sesión."
    }
    sign_in { en: "Sign in", es: "Iniciar sesión" }
    sign_out { en: "Sign out", es: "Cerrar sesión" }
    sign_out_everywhere { en: "Sign out on every device", es: "Cerrar sesión en todos los dispositivos" }

    // The idle timeout: its warning and what is shown once it is past.
    signed_out_for_inactivity {
        en: "You were signed out after {duration} of inactivity, to keep your information safe.",
        es: "Se cerró su sesión después de {duration} de inactividad, para proteger su información."
    }
    still_there { en: "Are you still there?", es: "¿Sigue ahí?" }
    signing_out_in {
        en: "For your security you will be signed out in {duration}.",
        es: "Por su seguridad, su sesión se cerrará en {duration}."
    }
    stay_signed_in { en: "Stay signed in", es: "Mantener la sesión abierta" }
    one_minute { en: "1 minute", es: "1 minuto" }
    minutes { en: "{count} minutes", es: "{count} minutos" }
    one_second { en: "1 second", es: "1 segundo" }
    seconds { en: "{count} seconds", es: "{count} segundos" }

    // A thread.
    secure_message { en: "Secure message", es: "Mensaje seguro" }
    cannot_open { en: "You cannot open this", es: "No puede abrir este contenido" }
    withdrawn_by_on {
        en: "This message was withdrawn by {by} on {on}.",
        es: "Este mensaje fue retirado por {by} el {on}."
    }
    erased_at_your_request {
        en: "This content was erased at your request.",
        es: "Este contenido se borró a petición suya."
    }
    attached_files { en: "Attached files", es: "Archivos adjuntos" }
    /// An attached file's kind.
    pdf { en: "PDF", es: "PDF" }
    png_image { en: "PNG image", es: "Imagen PNG" }
    jpeg_image { en: "JPEG image", es: "Imagen JPEG" }
    text_file { en: "Text", es: "Texto" }

    // Replying.
    your_reply { en: "Your reply", es: "Su respuesta" }
    attach_files { en: "Attach files (PDF, PNG, JPEG or text)", es: "Adjuntar archivos (PDF, PNG, JPEG o texto)" }
    send_reply { en: "Send reply", es: "Enviar respuesta" }
    not_sent_status {
        en: "The message was not sent (status {status}). Try again.",
        es: "El mensaje no se envió (estado {status}). Inténtelo de nuevo."
    }
    not_sent { en: "The message was not sent. Try again.", es: "El mensaje no se envió. Inténtelo de nuevo." }

    // Refusals from the server.
    sign_in_again { en: "please sign in again", es: "vuelva a iniciar sesión, por favor" }
    staff_only { en: "for staff only", es: "solo para el personal" }
    // A reply refused by the server (server/src/http/messages.rs), as a
    // Spanish reader is told; English readers get the server's own words.
    reply_refused_body {
        en: "body: write a reply that is not empty and not too long",
        es: "Su respuesta: escriba un texto que no esté vacío ni sea demasiado largo."
    }
    reply_refused_files {
        en: "attachments: only PDF, PNG, JPEG and plain text, within the size allowed",
        es: "Archivos adjuntos: solo PDF, PNG, JPEG o texto, dentro del tamaño permitido."
    }
    reply_refused {
        en: "The reply was not sent. Check it and try again.",
        es: "La respuesta no se envió. Revísela e inténtelo de nuevo."
    }
}
