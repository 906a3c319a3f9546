//! FHIR decimals to integer cents, from the JSON text itself (never through f64).

/// The largest amount Portico takes, in cents ($10 billion): far above any
/// claim, and low enough that no statement's sums can overflow.
pub const MAX_CENTS: i64 = 1_000_000_000_000;

/// The cents of a JSON number's text (`"135.57"`, `"-0.5"`, `"1e2"`), rounded
/// half away from zero to the cent when it carries more decimals (Synthea
/// writes `28.104000000000003`). `None` when it is not a number, or beyond
/// [`MAX_CENTS`] either way.
pub fn cents(text: &str) -> Option<i64> {
    exact_cents(text).filter(|c| c.abs() <= MAX_CENTS)
}

fn exact_cents(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], exponent(&rest[at + 1..])?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // digits * 10^(exponent - frac_len); we want it * 100, rounded.
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let shift = exponent
        .checked_sub(i32::try_from(frac_part.len()).ok()?)?
        .checked_add(2)?;
    let value: i128 = if digits.is_empty() {
        0
    } else if shift >= 0 {
        if digits.len() as i64 + i64::from(shift) > 20 {
            return None;
        }
        let base: i128 = digits.parse().ok()?;
        base.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?
    } else {
        let cut = usize::try_from(-shift).ok()?;
        if cut > digits.len() {
            // Below a cent: rounds to 0 or 1 depending on the first dropped digit.
            let leading_zeros = cut - digits.len();
            let round_up = leading_zeros == 0 && digits.as_bytes()[0] >= b'5';
            i128::from(round_up)
        } else {
            let (kept, dropped) = digits.split_at(digits.len() - cut);
            if kept.len() > 20 {
                return None;
            }
            let kept: i128 = if kept.is_empty() {
                0
            } else {
                kept.parse().ok()?
            };
            let round_up = dropped.as_bytes().first().is_some_and(|d| *d >= b'5');
            kept + i128::from(round_up)
        }
    };
    let value = if negative { -value } else { value };
    i64::try_from(value).ok()
}

/// An exponent's value; one too small to write as an `i32` is clamped (the
/// amount is then zero), one too large is refused.
fn exponent(text: &str) -> Option<i32> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match text.parse::<i32>() {
        Ok(e) => Some(e),
        Err(_) if text.starts_with('-') => Some(-1_000_000),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::cents;

    #[test]
    fn absurd_amounts_are_refused_and_vanishing_ones_are_zero() {
        assert_eq!(cents("10000000000"), Some(super::MAX_CENTS));
        assert_eq!(cents("10000000000.01"), None);
        assert_eq!(cents("5e16"), None);
        assert_eq!(cents("-5e16"), None);
        assert_eq!(cents("1e-9999999999"), Some(0));
        assert_eq!(cents("1e9999999999"), None);
        assert_eq!(cents("1e"), None);
    }

    #[test]
    fn decimals_become_cents_without_floats() {
        assert_eq!(cents("135.57"), Some(13557));
        assert_eq!(cents("0"), Some(0));
        assert_eq!(cents("0.0"), Some(0));
        assert_eq!(cents("120.00"), Some(12000));
        assert_eq!(cents("28.104000000000003"), Some(2810));
        assert_eq!(cents("112.41600000000001"), Some(11242));
        assert_eq!(cents("0.005"), Some(1));
        assert_eq!(cents("0.004"), Some(0));
        assert_eq!(cents("0.0005"), Some(0));
        assert_eq!(cents("-0.5"), Some(-50));
        assert_eq!(cents("-2.675"), Some(-268));
        assert_eq!(cents("1e2"), Some(10000));
        assert_eq!(cents("1.5E-1"), Some(15));
        assert_eq!(cents("7"), Some(700));
        assert_eq!(cents("\"7\""), None);
        assert_eq!(cents("abc"), None);
        assert_eq!(cents("1e400"), None);
        assert_eq!(cents("99999999999999999999999"), None);
    }
}
