//! The patient's statement as a PDF, written on the server with `pdf-writer`.
//!
//! Helvetica and Helvetica-Bold are two of the fourteen standard fonts every
//! PDF reader has, so nothing is embedded and the file stays small; the price
//! is the WinAnsi (Windows-1252) character set, so anything outside it is
//! shown as '?'. Content streams are left uncompressed: the statement is a few
//! kilobytes of text, and tests can find its words in the bytes.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::statement::{Amounts, Column, Statement};
use crate::language::Language;

const PAGE_W: f32 = 612.0;
const PAGE_H: f32 = 792.0;
const MARGIN: f32 = 40.0;
const TOP: f32 = PAGE_H - MARGIN;
/// Room is kept below this for the footer.
const BOTTOM: f32 = 60.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");

/// Table: a service date column, then one column per amount (`Column::ALL`).
const DATE_W: f32 = 60.0;
const AMOUNT_W: f32 = (WIDTH - DATE_W) / 8.0;
const TABLE_SIZE: f32 = 8.0;
const ROW: f32 = 11.0;

/// The words of the PDF, in the reader's language. `{placeholders}` are filled
/// in; column names are short enough for their column.
struct Words {
    title: &'static str,
    not_a_bill_banner: &'static str,
    intro: &'static str,
    updated: &'static str,
    estimated: &'static str,
    footer: &'static str,
    page_of: &'static str,
    date_range: &'static str,
    fields: [&'static str; 7],
    currency: &'static str,
    currency_note: &'static str,
    services: &'static str,
    service: &'static str,
    service_date: &'static str,
    columns: [&'static str; 8],
    totals: &'static str,
    stated_totals: &'static str,
    denials: &'static str,
    decision: &'static str,
}

const ENGLISH: Words = Words {
    title: "Explanation of Benefits",
    not_a_bill_banner: "THIS IS NOT A BILL",
    intro: "This is not a bill. It shows how your plan processed this claim.",
    updated: "Updated statement: it replaces the one sent before for this claim.",
    estimated: "* Estimated: not stated by the plan; the sum of deductible, copay, \
        coinsurance and not covered.",
    footer: "Explanation of Benefits - THIS IS NOT A BILL",
    page_of: "Page {n} of {total}",
    date_range: "{start} to {end}",
    fields: [
        "Plan",
        "Member ID",
        "Coverage",
        "Claim number",
        "Provider",
        "Statement date",
        "Service dates",
    ],
    currency: "Currency",
    currency_note: "{c} (amounts below are in {c})",
    services: "Services",
    service: "Service",
    service_date: "Service date",
    columns: [
        "Billed",
        "Allowed",
        "Plan paid",
        "Deductible",
        "Copay",
        "Coinsurance",
        "Not covered",
        "You may owe",
    ],
    totals: "Totals",
    stated_totals: "Totals stated by your plan",
    denials: "Why some charges were not paid",
    decision: "Plan's decision",
};

const SPANISH: Words = Words {
    title: "Explicación de beneficios",
    not_a_bill_banner: "ESTO NO ES UNA FACTURA",
    intro: "Esto no es una factura. Muestra cómo su plan procesó este reclamo.",
    updated: "Explicación actualizada: reemplaza a la que se envió antes para este reclamo.",
    estimated: "* Estimado: el plan no lo indica; es la suma de deducible, copago, \
        coseguro y no cubierto.",
    footer: "Explicación de beneficios - ESTO NO ES UNA FACTURA",
    page_of: "Página {n} de {total}",
    date_range: "{start} a {end}",
    fields: [
        "Plan",
        "N.º de miembro",
        "Cobertura",
        "N.º de reclamo",
        "Proveedor",
        "Fecha de emisión",
        "Fechas de servicio",
    ],
    currency: "Moneda",
    currency_note: "{c} (los montos están en {c})",
    services: "Servicios",
    service: "Servicio",
    service_date: "Fecha",
    columns: [
        "Facturado",
        "Permitido",
        "Pagó el plan",
        "Deducible",
        "Copago",
        "Coseguro",
        "No cubierto",
        "Podría deber",
    ],
    totals: "Totales",
    stated_totals: "Totales indicados por su plan",
    denials: "Por qué no se pagaron algunos cargos",
    decision: "Decisión del plan",
};

/// Advance widths (1/1000 em) of ASCII 32..=126, from Adobe's AFM files.
#[rustfmt::skip]
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Windows-1252's 0x80..=0x9F; '?' marks its unassigned bytes.
const CP1252_80: &str = "€?‚ƒ„…†‡ˆ‰Š‹Œ?Ž??‘’“”•–—˜™š›œ?žŸ";

/// The text in Windows-1252, which the fonts are declared to use.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' | '\u{a0}'..='\u{ff}' => c as u8,
            // Notes from uploads may hold tabs and line breaks.
            c if c.is_whitespace() => b' ',
            c => CP1252_80
                .chars()
                .position(|h| h == c)
                .map_or(b'?', |i| 0x80 + i as u8),
        })
        .collect()
}

/// Width in points. Bytes past ASCII are taken as wide as a capital, which
/// errs on the side of truncating rather than overlapping.
fn width(text: &[u8], bold: bool, size: f32) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let units: u32 = text
        .iter()
        .map(|&b| match b {
            32..=126 => u32::from(table[usize::from(b - 32)]),
            _ => 722,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// The text cut to `max` points, ending in "..." when cut. Widths are added
/// up as we go (here and in `wrap`) so that a huge note costs linear time.
fn truncate(text: Vec<u8>, bold: bool, size: f32, max: f32) -> Vec<u8> {
    if width(&text, bold, size) <= max {
        return text;
    }
    let (room, mut w) = (max - width(b"...", bold, size), 0.0);
    let mut cut: Vec<u8> = text
        .into_iter()
        .take_while(|&b| {
            w += width(&[b], bold, size);
            w <= room
        })
        .collect();
    cut.extend_from_slice(b"...");
    cut
}

/// Greedy word wrap. A word wider than a line (an identifier, a URL) is
/// split where it overflows, starting on the current line.
fn wrap(text: &[u8], bold: bool, size: f32, max: f32) -> Vec<Vec<u8>> {
    let (space, mut lines, mut line, mut line_w) = (width(b" ", bold, size), vec![], vec![], 0.0);
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let word_w = width(word, bold, size);
        if !line.is_empty() {
            if line_w + space + word_w <= max || (word_w > max && line_w + space < max) {
                line.push(b' ');
                line_w += space;
            } else {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
        }
        for &b in word {
            let w = width(&[b], bold, size);
            if !line.is_empty() && line_w + w > max {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            line.push(b);
            line_w += w;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Cents as dollars: "$1,234.56", "-$0.05"; "—" when the EOB gives none.
fn money(cents: Option<i64>) -> String {
    let Some(c) = cents else { return "—".into() };
    // unsigned_abs: i64::MIN has no positive counterpart.
    let (dollars, rest) = (c.unsigned_abs() / 100, c.unsigned_abs() % 100);
    let digits = dollars.to_string();
    let mut grouped = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(d);
    }
    format!("{}${grouped}.{rest:02}", if c < 0 { "-" } else { "" })
}

/// Pages laid out top to bottom; a page is finished when the next block
/// would not fit, and the table header is repeated on the new page.
struct Layout {
    done: Vec<Content>,
    page: Content,
    y: f32,
    in_table: bool,
    words: &'static Words,
}

/// One run of text with its baseline starting at (x, y).
fn text(page: &mut Content, x: f32, y: f32, text: &[u8], bold: bool, size: f32) {
    let font = if bold { BOLD } else { REGULAR };
    page.begin_text();
    page.set_font(font, size)
        .next_line(x, y)
        .show(Str(text))
        .end_text();
}

impl Layout {
    fn text(&mut self, x: f32, y: f32, s: &[u8], bold: bool, size: f32) {
        text(&mut self.page, x, y, s, bold, size);
    }

    /// Right-aligned in `[x, x + w]`, shrunk rather than cut so an amount is never misread.
    fn right(&mut self, x: f32, w: f32, s: &str, bold: bool) {
        let text = win_ansi(s);
        let size = TABLE_SIZE.min(TABLE_SIZE * (w - 3.0) / width(&text, bold, TABLE_SIZE).max(1.0));
        let tw = width(&text, bold, size);
        self.text(x + w - 3.0 - tw, self.y, &text, bold, size);
    }

    fn rule(&mut self, y: f32) {
        self.page
            .set_line_width(0.5)
            .move_to(MARGIN, y)
            .line_to(MARGIN + WIDTH, y)
            .stroke();
    }

    /// Makes room for `h` points, starting a page if needed.
    fn need(&mut self, h: f32) {
        if self.y - h >= BOTTOM {
            return;
        }
        self.done
            .push(std::mem::replace(&mut self.page, Content::new()));
        self.y = TOP;
        if self.in_table {
            self.table_header();
        }
    }

    /// A paragraph at `x`, wrapped to the right margin.
    fn para(&mut self, x: f32, s: &str, bold: bool, size: f32) {
        for line in wrap(&win_ansi(s), bold, size, MARGIN + WIDTH - x) {
            self.need(size * 1.3);
            self.y -= size * 1.3;
            self.text(x, self.y, &line, bold, size);
        }
    }

    fn field(&mut self, label: &str, value: Option<&str>) {
        self.need(13.0);
        let label = truncate(win_ansi(label), true, 10.0, 105.0);
        self.text(MARGIN, self.y - 13.0, &label, true, 10.0);
        self.para(MARGIN + 110.0, value.unwrap_or("—"), false, 10.0);
    }

    fn heading(&mut self, s: &str) {
        self.need(40.0); // with the first line under it
        self.y -= 10.0;
        self.para(MARGIN, s, true, 12.0);
    }

    fn table_header(&mut self) {
        self.y -= ROW;
        let date = win_ansi(self.words.service_date);
        self.text(MARGIN, self.y, &date, true, TABLE_SIZE);
        for (i, label) in self.words.columns.iter().enumerate() {
            self.right(MARGIN + DATE_W + i as f32 * AMOUNT_W, AMOUNT_W, label, true);
        }
        self.rule(self.y - 3.0);
        self.y -= 3.0;
    }

    fn amounts(&mut self, first: &str, a: &Amounts, estimate: bool, bold: bool) {
        self.y -= ROW;
        let first = truncate(win_ansi(first), bold, TABLE_SIZE, DATE_W - 3.0);
        self.text(MARGIN, self.y, &first, bold, TABLE_SIZE);
        for (i, col) in Column::ALL.iter().enumerate() {
            let mut s = money(a.get(*col));
            if estimate && *col == Column::YouMayOwe {
                s.push('*');
            }
            self.right(MARGIN + DATE_W + i as f32 * AMOUNT_W, AMOUNT_W, &s, bold);
        }
    }
}

/// The statement as a PDF file in `language`; `updated` marks it as replacing
/// an earlier one. What the plan wrote (services, reasons, its decision) is
/// shown as written.
pub fn statement_pdf(statement: &Statement, updated: bool, language: Language) -> Vec<u8> {
    let s = statement;
    let w = match language {
        Language::English => &ENGLISH,
        Language::Spanish => &SPANISH,
    };
    let mut l = Layout {
        done: Vec::new(),
        page: Content::new(),
        y: TOP,
        in_table: false,
        words: w,
    };

    l.y -= 20.0;
    l.text(MARGIN, l.y, &win_ansi(w.title), true, 20.0);
    // The banner: a shaded band so "not a bill" is the first thing read.
    l.y -= 34.0;
    l.page
        .set_fill_gray(0.88)
        .rect(MARGIN, l.y - 8.0, WIDTH, 28.0)
        .fill_nonzero()
        .set_fill_gray(0.0);
    l.text(
        MARGIN + 10.0,
        l.y,
        &win_ansi(w.not_a_bill_banner),
        true,
        16.0,
    );
    l.y -= 10.0;
    l.para(MARGIN, w.intro, false, 10.0);
    if updated {
        l.y -= 4.0;
        l.para(MARGIN, w.updated, true, 11.0);
    }
    l.y -= 8.0;
    let dates = match (&s.service_start, &s.service_end) {
        (Some(a), Some(b)) if a != b => {
            Some(w.date_range.replace("{start}", a).replace("{end}", b))
        }
        (Some(a), _) | (None, Some(a)) => Some(a.clone()),
        (None, None) => None,
    };
    let values = [
        s.plan.as_deref(),
        s.member_id.as_deref(),
        s.coverage.as_deref(),
        s.claim_number.as_deref(),
        s.provider.as_deref(),
        Some(s.created.as_str()),
        dates.as_deref(),
    ];
    for (label, value) in w.fields.iter().zip(values) {
        l.field(label, value);
    }
    if let Some(c) = s.currency.as_deref().filter(|c| *c != "USD") {
        l.field(w.currency, Some(&w.currency_note.replace("{c}", c)));
    }

    l.heading(w.services);
    l.need(4.0 * ROW);
    l.in_table = true;
    l.table_header();
    for line in &s.lines {
        // The description gets a row of its own, so it never runs into amounts.
        l.need(2.0 * ROW + 3.0);
        let d = match (&line.description, &line.code) {
            (Some(d), Some(c)) => format!("{d} ({c})"),
            (Some(x), None) | (None, Some(x)) => x.clone(),
            (None, None) => w.service.into(),
        };
        let d = match line.sequence {
            Some(n) => format!("{n}. {d}"),
            None => d,
        };
        let d = truncate(win_ansi(&d), false, TABLE_SIZE, WIDTH);
        l.y -= ROW + 2.0;
        l.text(MARGIN, l.y, &d, false, TABLE_SIZE);
        let date = line.service_date.as_deref().unwrap_or("—");
        l.amounts(date, &line.amounts, line.you_may_owe_is_estimate, false);
    }
    l.need(ROW + 6.0);
    l.rule(l.y - 3.0);
    l.y -= 3.0;
    let estimate = s.lines.iter().any(|x| x.you_may_owe_is_estimate);
    l.amounts(w.totals, &s.totals, estimate, true);
    l.in_table = false;
    if estimate {
        l.y -= 4.0;
        l.para(MARGIN, w.estimated, false, 8.0);
    }

    if !s.stated_totals.is_empty() {
        l.heading(w.stated_totals);
        for t in &s.stated_totals {
            l.field(&t.category, Some(&money(t.cents)));
        }
    }
    if !s.denial_reasons.is_empty() {
        l.heading(w.denials);
        for r in &s.denial_reasons {
            l.para(MARGIN + 10.0, &format!("• {r}"), false, 10.0);
        }
    }
    if let Some(d) = &s.disposition {
        l.heading(w.decision);
        l.para(MARGIN, d, false, 10.0);
    }
    let mut pages = l.done;
    pages.push(l.page);
    // The footers, now that the page count is known.
    let total = pages.len();
    for (n, page) in pages.iter_mut().enumerate() {
        let number = w
            .page_of
            .replace("{n}", &(n + 1).to_string())
            .replace("{total}", &total.to_string());
        let number = win_ansi(&number);
        let x = MARGIN + WIDTH - width(&number, false, 8.0);
        text(page, MARGIN, 30.0, &win_ansi(w.footer), false, 8.0);
        text(page, x, 30.0, &number, false, 8.0);
    }
    assemble(pages, w.title)
}

/// The document around the laid-out pages.
fn assemble(pages: Vec<Content>, title: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let (catalog, tree, regular, bold) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
    let mut next = Ref::new(5);
    let ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (next.bump(), next.bump())).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(ids.iter().map(|(p, _)| *p))
        .count(ids.len() as i32);
    pdf.document_info(next.bump()).title(TextStr(title));
    for (id, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    for (content, (page_id, content_id)) in pages.into_iter().zip(ids) {
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(content_id);
        page.resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eob::{parse, Line, ParseOptions};

    const EB3500: &[u8] = include_bytes!(
        "../../tests/fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json"
    );

    fn statement() -> Statement {
        let parsed = parse(EB3500, ParseOptions::default()).expect("fixture is accepted");
        Statement::of(&parsed.eobs[0].eob)
    }

    fn texts(pdf: &[u8]) -> Vec<String> {
        let doc = lopdf::Document::load_mem(pdf).expect("lopdf loads it");
        let pages = doc.get_pages().len() as u32;
        (1..=pages)
            .map(|n| doc.extract_text(&[n]).expect("text"))
            .collect()
    }

    #[test]
    fn money_reads_as_dollars() {
        assert_eq!(money(Some(123456)), "$1,234.56");
        assert_eq!(money(Some(-5)), "-$0.05");
        assert_eq!(money(Some(100_000_000)), "$1,000,000.00");
        assert_eq!(money(None), "—");
        assert!(money(Some(i64::MIN)).starts_with("-$92,233,720,368,547,758."));
    }

    #[test]
    fn fixture_statement_reads_as_not_a_bill_with_its_claim() {
        let s = statement();
        let claim = s.claim_number.clone().expect("EB3500 has an identifier");
        let pdf = statement_pdf(&s, true, Language::English);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(
            pdf.windows(claim.len()).any(|w| w == claim.as_bytes()),
            "uncompressed"
        );
        let text = texts(&pdf);
        assert_eq!(text.len(), 1);
        for want in [
            claim.as_str(),
            "THIS IS NOT A BILL",
            "This is not a bill.",
            "Updated statement",
            "Page 1 of 1",
        ] {
            assert!(text[0].contains(want), "{want} in {}", text[0]);
        }
        assert!(
            !texts(&statement_pdf(&s, false, Language::English))[0].contains("Updated statement")
        );
    }

    #[test]
    fn long_statements_break_pages_with_footers() {
        let mut s = statement();
        s.lines = (0..120)
            .map(|i| Line {
                sequence: Some(i + 1),
                description: Some(format!(
                    "Service number {i} with a long description that goes on {}",
                    "and on ".repeat(30)
                )),
                code: Some(format!("C{i}")),
                service_date: Some("2024-01-02".into()),
                amounts: Amounts {
                    billed: Some(i64::from(i) * 123_456),
                    you_may_owe: Some(1),
                    ..Amounts::default()
                },
                you_may_owe_is_estimate: i % 2 == 0,
            })
            .collect();
        let text = texts(&statement_pdf(&s, false, Language::English));
        assert!(text.len() > 1);
        for (n, page) in text.iter().enumerate() {
            assert!(
                page.contains(&format!("Page {} of {}", n + 1, text.len())),
                "footer on {n}"
            );
            assert!(page.contains("Billed"), "table header repeated on {n}");
        }
        assert!(text.concat().contains("Service number 119"));
    }

    #[test]
    fn text_outside_win_ansi_becomes_question_marks() {
        let mut s = statement();
        s.lines[0].description = Some("Ωmega 測試 café".into());
        s.plan = Some("\u{0}\t計".into());
        s.denial_reasons.push("x".repeat(500));
        let text = texts(&statement_pdf(&s, false, Language::English));
        assert!(text[0].contains("?mega ?? café"), "{}", text[0]);
    }

    #[test]
    fn windows_1252_has_its_punctuation() {
        assert_eq!(
            win_ansi("€—Ÿ é\n\u{81}Ω"),
            [0x80, 0x97, 0x9f, b' ', 0xe9, b' ', b'?', b'?']
        );
    }

    #[test]
    fn cut_text_fits_its_width() {
        let cut = truncate(win_ansi(&"W".repeat(100)), true, 8.0, 60.0);
        assert!(cut.ends_with(b"...") && width(&cut, true, 8.0) <= 60.0);
        let words = "word ".repeat(80);
        let lines = wrap(&win_ansi(&words), false, 10.0, 200.0);
        assert_eq!(lines.join(&b' '), words.trim_end().as_bytes());
        let long = wrap(
            format!("a {}", "x".repeat(500)).as_bytes(),
            false,
            10.0,
            200.0,
        );
        assert!(long[0].starts_with(b"a x") && long.concat().len() == 502);
        for line in lines.iter().chain(&long) {
            assert!(width(line, false, 10.0) <= 200.0);
        }
    }

    #[test]
    fn a_spanish_reader_gets_the_statement_in_spanish_with_its_accents() {
        let s = statement();
        let pdf = statement_pdf(&s, true, Language::Spanish);
        let text = texts(&pdf).concat();
        for words in [
            "ESTO NO ES UNA FACTURA",
            "Esto no es una factura.",
            "Explicaci\u{f3}n actualizada",
            "Podr\u{ed}a deber",
            "P\u{e1}gina 1 de 1",
        ] {
            assert!(text.contains(words), "{words:?} in {text}");
        }
        assert!(
            !text.contains("NOT A BILL") && !text.contains("You may owe"),
            "{text}"
        );
        // The accents are WinAnsi characters (read back through the font's
        // encoding above), not question marks.
        assert!(
            !text.contains("P?gina") && !text.contains("Podr?a"),
            "{text}"
        );
    }
}
