//! Signing in: the sign-in page, a notification link's landing page, codes and passkeys.

use super::catalogue;

catalogue! {
    /// The page's title and heading, and the button and links that sign in.
    sign_in { en: "Sign in", es: "Iniciar sesión" }
    or_email_a_code {
        en: "Or we email you a one-time code. The email never contains health information.",
        es: "O le enviamos por correo electrónico un código de un solo uso. El correo electrónico nunca contiene información de salud."
    }
    your_email_address { en: "Your email address", es: "Su dirección de correo electrónico" }
    email_me_a_code { en: "Email me a code", es: "Enviarme un código por correo electrónico" }
    /// After asking by address: the same words whether or not it is known.
    code_on_its_way_if_known {
        en: "If that address has messages with us, a code is on its way. It works once, for 10 minutes.",
        es: "Si esa dirección tiene mensajes con nosotros, hay un código en camino. Sirve una sola vez, durante 10 minutos."
    }
    code_from_the_email { en: "The code from the email", es: "El código del correo electrónico" }
    /// A server function that could not be reached at all.
    portal_unreachable {
        en: "The portal could not be reached. Check your connection and try again.",
        es: "No se pudo conectar con el portal. Revise su conexión e inténtelo de nuevo."
    }

    // The answers to a typed code.
    code_did_not_work {
        en: "That code did not work. Check the newest email, or ask for a new code.",
        es: "Ese código no funcionó. Revise el correo electrónico más reciente o pida un código nuevo."
    }
    enter_the_digits {
        en: "Enter the {digits} digits from the email.",
        es: "Ingrese los {digits} dígitos del correo electrónico."
    }

    // A notification link's landing page.
    your_secure_message { en: "Your secure message", es: "Su mensaje seguro" }
    loading { en: "Loading…", es: "Cargando…" }
    link_expired_title { en: "This link has expired", es: "Este enlace ha vencido" }
    link_expired_body {
        en: "Links in our emails work for 30 days. What we sent is still here: sign in to read it.",
        es: "Los enlaces de nuestros correos electrónicos funcionan durante 30 días. Lo que le enviamos sigue aquí: inicie sesión para leerlo."
    }
    link_broken_title { en: "This link does not work", es: "Este enlace no funciona" }
    link_broken_body {
        en: "It may have been cut short or mistyped. Open it again from the email, or sign in with your email address.",
        es: "Puede que esté incompleto o mal escrito. Ábralo de nuevo desde el correo electrónico o inicie sesión con su dirección de correo electrónico."
    }
    something_went_wrong { en: "Something went wrong", es: "Algo salió mal" }
    new_statements_from {
        en: "You have new statements from {organization}",
        es: "Tiene nuevas explicaciones de beneficios de {organization}"
    }
    sent_you_a_secure_message {
        en: "{organization} sent you a secure message",
        es: "{organization} le envió un mensaje seguro"
    }
    prove_it_is_you_statements {
        en: "To read them, prove it is you: with your passkey, or with a one-time code we email you.",
        es: "Para leerlas, confirme que es usted: con su llave de acceso o con un código de un solo uso que le enviamos por correo electrónico."
    }
    prove_it_is_you_message {
        en: "To read it, prove it is you: with your passkey, or with a one-time code we email you.",
        es: "Para leerlo, confirme que es usted: con su llave de acceso o con un código de un solo uso que le enviamos por correo electrónico."
    }
    code_on_its_way {
        en: "A code is on its way to your email. It works once, for 10 minutes.",
        es: "Hay un código en camino a su correo electrónico. Sirve una sola vez, durante 10 minutos."
    }

    // Passkeys: signing in with one, and the signed-in person's list.
    sign_in_with_a_passkey { en: "Sign in with a passkey", es: "Iniciar sesión con una llave de acceso" }
    passkeys { en: "Passkeys", es: "Llaves de acceso" }
    add_a_passkey_offer {
        en: "Sign in faster next time, with no code to type: add a passkey (your fingerprint, face or device PIN).",
        es: "Inicie sesión más rápido la próxima vez, sin escribir ningún código: agregue una llave de acceso (su huella digital, su rostro o el PIN de su dispositivo)."
    }
    passkey_name_label { en: "Name for this device's passkey", es: "Nombre de la llave de acceso de este dispositivo" }
    /// The name a new passkey is offered before the person types one.
    my_device { en: "My device", es: "Mi dispositivo" }
    add_a_passkey { en: "Add a passkey", es: "Agregar una llave de acceso" }
    new_name_for { en: "New name for {name}", es: "Nuevo nombre para {name}" }
    rename { en: "Rename", es: "Cambiar nombre" }
    remove { en: "Remove", es: "Eliminar" }
    remove_named { en: "Remove {name}", es: "Eliminar {name}" }

    // What the browser's refusal of a passkey means.
    passkey_not_used {
        en: "The passkey was not used (cancelled or timed out). Try again, or use an emailed code.",
        es: "No se usó la llave de acceso (se canceló o se agotó el tiempo). Inténtelo de nuevo o use un código enviado por correo electrónico."
    }
    passkey_already_on_device {
        en: "This device already has a passkey for you here.",
        es: "Este dispositivo ya tiene una llave de acceso suya para este portal."
    }
    passkeys_not_supported {
        en: "This browser cannot use passkeys here. Use an emailed code instead.",
        es: "Este navegador no puede usar llaves de acceso aquí. Use un código enviado por correo electrónico."
    }
    passkey_did_not_work {
        en: "The passkey did not work. Try again, or use an emailed code.",
        es: "La llave de acceso no funcionó. Inténtelo de nuevo o use un código enviado por correo electrónico."
    }

    // Errors from the server functions.
    portal_not_set_up { en: "the portal is not set up", es: "el portal no está configurado" }
    no_session { en: "no session", es: "no hay sesión" }
    portal_busy {
        en: "the portal is busy; try again in a moment",
        es: "el portal está ocupado; inténtelo de nuevo en un momento"
    }
    no_access {
        en: "You do not have access to this. It has been recorded.",
        es: "No tiene acceso a esto. Quedó registrado."
    }
    not_found { en: "not found", es: "no se encontró" }
    went_wrong_on_our_side {
        en: "something went wrong on our side; try again",
        es: "algo salió mal de nuestro lado; inténtelo de nuevo"
    }
    link_no_longer_works {
        en: "this link no longer works; sign in with your email address instead",
        es: "este enlace ya no funciona; inicie sesión con su dirección de correo electrónico"
    }
    sign_in_again { en: "please sign in again", es: "vuelva a iniciar sesión, por favor" }
    start_adding_the_passkey_again {
        en: "start adding the passkey again",
        es: "vuelva a empezar a agregar la llave de acceso"
    }
    start_passkey_sign_in_again {
        en: "start signing in with the passkey again",
        es: "vuelva a iniciar sesión con la llave de acceso"
    }

    // Input that breaks one of core's rules (`Error::Invalid`), by field. In
    // English the page shows core's own words ("{field}: {problem}"); the `en`
    // here only give their gist.
    invalid_email {
        en: "email: the address is not valid",
        es: "correo electrónico: la dirección no es válida"
    }
    invalid_code {
        en: "code: enter the digits from the email",
        es: "código: ingrese los dígitos del correo electrónico"
    }
    invalid_passkey {
        en: "passkey: it did not work; try again",
        es: "llave de acceso: no funcionó; inténtelo de nuevo"
    }
    invalid_name {
        en: "name: must be 1 to {max} characters",
        es: "nombre: debe tener de 1 a {max} caracteres"
    }
    /// Any other field, named as core names it.
    invalid_other { en: "{field}: the value is not valid", es: "{field}: el valor no es válido" }
}
