//! Explanation of Benefits statements and the access history.

use super::catalogue;

catalogue! {
    loading { en: "Loading…", es: "Cargando…" }
    back_to_messages { en: "Back to your messages", es: "Volver a sus mensajes" }
    cannot_open { en: "You cannot open this", es: "No puede abrir este contenido" }

    // The statement list.
    your_statements { en: "Your statements", es: "Sus explicaciones de beneficios" }
    not_bills {
        en: "Explanation of Benefits statements from your health plan. These are not bills.",
        es: "Explicaciones de beneficios de su plan de salud. Estos documentos no son facturas."
    }
    no_statements_yet { en: "No statements yet.", es: "Todavía no tiene explicaciones de beneficios." }
    plan { en: "Plan", es: "Plan de salud" }
    provider { en: "Provider", es: "Proveedor" }
    service_dates { en: "Service dates", es: "Fechas de servicio" }
    /// The badge of a statement replaced by a newer version of it.
    updated_badge { en: " Updated", es: " Actualizada" }
    /// Service dates that span more than a day.
    date_range { en: "{start} to {end}", es: "del {start} al {end}" }

    // One statement.
    statement_title { en: "Statement", es: "Explicación de beneficios" }
    explanation_of_benefits { en: "Explanation of Benefits", es: "Explicación de beneficios" }
    /// Must read as `portico_core::eob::NOT_A_BILL` in English.
    not_a_bill { en: "This is not a bill.", es: "Esto no es una factura." }
    newer_version {
        en: "A newer version of this statement exists: ",
        es: "Existe una versión más reciente de esta explicación de beneficios: "
    }
    see_the_latest { en: "see the latest", es: "ver la más reciente" }
    member { en: "Member", es: "Miembro" }
    claim_number { en: "Claim number", es: "Número de reclamo" }
    processed { en: "Processed", es: "Fecha de procesamiento" }
    services_scroll { en: "Services (scrolls sideways)", es: "Servicios (se desplaza hacia los lados)" }
    services { en: "Services", es: "Servicios" }
    service { en: "Service", es: "Servicio" }
    date { en: "Date", es: "Fecha" }
    is_estimate { en: " (you may owe is an estimate)", es: " (lo que usted podría deber es un estimado)" }
    totals { en: "Totals", es: "Totales" }
    totals_stated_by_plan { en: "Totals stated by your plan", es: "Totales indicados por su plan" }
    why_not_paid { en: "Why some services were not paid", es: "Por qué no se pagaron algunos servicios" }
    plans_note { en: "Plan's note: {note}", es: "Nota del plan: {note}" }
    download_pdf { en: "Download PDF", es: "Descargar PDF" }
    download_fhir_json { en: "Download FHIR JSON", es: "Descargar datos FHIR JSON" }
    asked_for_correction { en: "You asked for a correction: ", es: "Usted pidió una corrección: " }
    see_the_conversation { en: "see the conversation", es: "ver la conversación" }
    ask_for_correction {
        en: "Something wrong? Ask your plan to correct this statement",
        es: "¿Algo está mal? Pida a su plan que corrija esta explicación de beneficios"
    }
    what_to_correct { en: "What should be corrected?", es: "¿Qué se debe corregir?" }
    send_to_member_services { en: "Send to member services", es: "Enviar a servicios para miembros" }

    // A statement's columns, in order.
    billed { en: "Billed", es: "Monto facturado" }
    allowed { en: "Allowed", es: "Monto permitido" }
    plan_paid { en: "Plan paid", es: "Pagado por el plan" }
    deductible { en: "Deductible", es: "Deducible" }
    copay { en: "Copay", es: "Copago" }
    coinsurance { en: "Coinsurance", es: "Coseguro" }
    not_covered { en: "Not covered", es: "No cubierto" }
    you_may_owe { en: "You may owe", es: "Usted podría deber" }

    // The access history.
    access_history { en: "Access history", es: "Historial de acceso" }
    access_history_intro {
        en: "Everyone who opened your messages and statements, and everything else done with them, newest first. Staff are named as their organization names them.",
        es: "Todas las personas que abrieron sus mensajes y explicaciones de beneficios, y todo lo demás que se hizo con ellos, de lo más reciente a lo más antiguo. El personal aparece con el nombre que le da su organización."
    }
    older_entries { en: "Older entries", es: "Entradas anteriores" }
    refused { en: "Refused", es: "Rechazado" }
    failed { en: "Failed", es: "Falló" }
    open_the_conversation { en: "Open the conversation", es: "Abrir la conversación" }
    open_the_statement { en: "Open the statement", es: "Abrir la explicación de beneficios" }

    // Who acted.
    you { en: "You", es: "Usted" }
    role_admin { en: "administrator", es: "administrador" }
    role_clinician { en: "clinician", es: "profesional clínico" }
    role_billing { en: "billing staff", es: "personal de facturación" }
    role_staff { en: "staff", es: "personal" }
    unnamed_staff {
        en: "A member of staff ({role}), {organization}",
        es: "Un miembro del personal ({role}), {organization}"
    }
    through_its_system { en: "{organization}, through its system", es: "{organization}, a través de su sistema" }
    portico_automatically { en: "Portico, automatically", es: "Portico, automáticamente" }
    someone_else {
        en: "Someone signed in as another person",
        es: "Alguien que inició sesión como otra persona"
    }

    // What was done, after who did it ("You opened a message").
    message_viewed { en: "opened a message", es: "abrió un mensaje" }
    inbox_viewed { en: "looked at the list of messages", es: "consultó la lista de mensajes" }
    thread_viewed { en: "opened a conversation", es: "abrió una conversación" }
    attachment_downloaded { en: "downloaded an attached file", es: "descargó un archivo adjunto" }
    eob_list_viewed {
        en: "looked at the list of statements",
        es: "consultó la lista de explicaciones de beneficios"
    }
    eob_viewed { en: "opened a statement", es: "abrió una explicación de beneficios" }
    eob_exported_pdf {
        en: "downloaded a statement as PDF",
        es: "descargó una explicación de beneficios en PDF"
    }
    eob_exported_fhir_json {
        en: "downloaded a statement's data (FHIR JSON)",
        es: "descargó los datos de una explicación de beneficios (FHIR JSON)"
    }
    access_history_viewed { en: "looked at this access history", es: "consultó este historial de acceso" }
    message_sent { en: "sent a message", es: "envió un mensaje" }
    message_revoked { en: "withdrew a message", es: "retiró un mensaje" }
    message_expired { en: "withdrew a message when it expired", es: "retiró un mensaje cuando venció" }
    eob_published { en: "published a statement", es: "publicó una explicación de beneficios" }
    member_directory_updated { en: "updated its member list", es: "actualizó su lista de miembros" }
    link_opened { en: "opened a link from an email", es: "abrió un enlace de un correo electrónico" }
    code_sent { en: "asked for a sign-in code", es: "pidió un código para iniciar sesión" }
    code_rejected {
        en: "typed a sign-in code that did not work",
        es: "escribió un código para iniciar sesión que no funcionó"
    }
    code_accepted { en: "used a sign-in code", es: "usó un código para iniciar sesión" }
    passkey_used { en: "used a passkey", es: "usó una llave de acceso" }
    sign_in_succeeded { en: "signed in", es: "inició sesión" }
    sign_in_failed { en: "tried to sign in", es: "intentó iniciar sesión" }
    passkey_added { en: "added a passkey", es: "agregó una llave de acceso" }
    passkey_removed { en: "removed a passkey", es: "eliminó una llave de acceso" }
    session_expired {
        en: "was signed out after a time",
        es: "quedó con la sesión cerrada después de un tiempo"
    }
    signed_out { en: "signed out", es: "cerró sesión" }
    signed_out_everywhere { en: "signed out on every device", es: "cerró sesión en todos los dispositivos" }
    staff_invited { en: "invited a member of staff", es: "invitó a un miembro del personal" }
    staff_role_changed {
        en: "changed a member of staff's role",
        es: "cambió el rol de un miembro del personal"
    }
    staff_disabled { en: "disabled a member of staff", es: "desactivó a un miembro del personal" }
    mailbox_changed { en: "changed a mailbox", es: "cambió un buzón" }
    organization_changed {
        en: "changed an organization's settings",
        es: "cambió la configuración de una organización"
    }
    api_key_created { en: "created an API key", es: "creó una clave de API" }
    api_key_revoked { en: "revoked an API key", es: "revocó una clave de API" }
    branding_changed {
        en: "changed an organization's branding",
        es: "cambió la imagen de marca de una organización"
    }
    audit_searched { en: "searched the audit log", es: "buscó en el registro de auditoría" }
    audit_exported { en: "exported the audit log", es: "exportó el registro de auditoría" }
    audit_verified { en: "checked the audit log", es: "verificó el registro de auditoría" }
    alert_raised { en: "raised a security alert", es: "emitió una alerta de seguridad" }
    keys_rotated { en: "renewed the encryption keys", es: "renovó las claves de cifrado" }
    identity_erased { en: "erased this identity's key", es: "borró la clave de esta identidad" }
}
