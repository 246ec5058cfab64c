//! Amounts and thresholds as AWS Budgets writes them: `$1,234.56`, `1234.5 USD`, `EUR 100`, `720 Hrs`,
//! `> 80%`. Read strictly: a number that another locale would read differently (`1.234,56`) is refused
//! rather than guessed, and so is anything negative, not finite or over [`MAX_AMOUNT`].

use super::{AlertError, Threshold, ThresholdKind, clip};

/// The alert line holding the threshold (the parser of the whole message reads it too).
pub(super) const ALERT_THRESHOLD: &str = "Alert Threshold";

/// Anything larger is a misread, not a bill.
pub(super) const MAX_AMOUNT: f64 = 1e12;

/// Reads `$1,234.56`, `-$5`, `1234.5 USD`, `EUR 100`, `€100`, `720 Hrs`, `80%` into (value, unit).
pub(super) fn parse_amount(line: &'static str, raw: &str) -> Result<(f64, String), AlertError> {
    let text = clip(raw.trim());
    let bad = || AlertError::BadAmount { line, text: text.clone() };
    let mut rest = raw.trim();
    let mut negative = false;
    let mut strip_sign = |rest: &mut &str| {
        if let Some(r) = rest.strip_prefix(['-', '−']) {
            negative = true;
            *rest = r.trim_start();
        }
    };
    strip_sign(&mut rest);
    let mut unit = None;
    for (symbol, code) in [("US$", "USD"), ("$", "USD"), ("€", "EUR"), ("£", "GBP")] {
        if let Some(r) = rest.strip_prefix(symbol) {
            (unit, rest) = (Some(code.to_string()), r.trim_start());
            break;
        }
    }
    if unit.is_none() {
        let code = rest.get(..3).filter(|c| c.bytes().all(|b| b.is_ascii_uppercase()));
        if let (Some(code), Some(r)) = (code, rest.get(3..)) {
            (unit, rest) = (Some(code.to_string()), r.trim_start());
        }
    }
    strip_sign(&mut rest);

    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(end);
    let suffix = suffix.trim();
    let value = match read_number(number) {
        Ok(value) => value,
        Err(NumberError::Unreadable) => return Err(bad()),
        Err(NumberError::Ambiguous) => return Err(AlertError::AmbiguousAmount { line, text }),
    };
    let unit = match (unit, suffix) {
        (unit, "") => unit.unwrap_or_default(),
        (Some(unit), suffix) if suffix.eq_ignore_ascii_case(&unit) => unit,
        (None, suffix) if is_unit(suffix) => suffix.to_string(),
        _ => return Err(bad()),
    };
    if negative {
        return Err(AlertError::NegativeAmount { line, text });
    }
    if !value.is_finite() || value > MAX_AMOUNT {
        return Err(AlertError::ImplausibleAmount { line, text });
    }
    Ok((value, unit))
}

enum NumberError {
    Unreadable,
    Ambiguous,
}

/// Digits with optional `,` thousands groups and an optional `.` fraction; nothing else.
fn read_number(s: &str) -> Result<f64, NumberError> {
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(NumberError::Unreadable);
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    if frac.contains([',', '.']) {
        return Err(NumberError::Ambiguous);
    }
    if frac.is_empty() {
        return Err(NumberError::Unreadable);
    }
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or_default();
    if int.contains(',') && !((1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)) {
        return Err(NumberError::Ambiguous);
    }
    s.replace(',', "").parse().map_err(|_| NumberError::Unreadable)
}

/// A usage unit (`GB`, `Hrs`, `GB-Mo`, `Requests`) or `%`; never an exponent (`8.1e2` is not 8.1 of unit `e2`).
fn is_unit(s: &str) -> bool {
    let exponent = s
        .strip_prefix(['e', 'E'])
        .map(|r| r.trim_start_matches(['+', '-']))
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    s == "%"
        || (!exponent
            && s.len() <= 32
            && s.starts_with(char::is_alphabetic)
            && s.chars().all(|c| c.is_alphanumeric() || " -/._".contains(c)))
}

/// `> $800.00`, `>= 80%`, `> 80.00 %`.
pub(super) fn parse_threshold(raw: &str) -> Result<Threshold, AlertError> {
    let text = raw.trim();
    if text.starts_with(['<', '=', '≤']) {
        return Err(AlertError::UnsupportedThreshold(clip(text)));
    }
    let rest = [">=", "≥", ">"].iter().find_map(|op| text.strip_prefix(op)).unwrap_or(text).trim();
    match rest.strip_suffix('%') {
        Some(percent) => match parse_amount(ALERT_THRESHOLD, percent)? {
            (value, unit) if unit.is_empty() => Ok(Threshold { value, kind: ThresholdKind::Percentage }),
            _ => Err(AlertError::BadAmount { line: ALERT_THRESHOLD, text: clip(text) }),
        },
        None => Ok(Threshold { value: parse_amount(ALERT_THRESHOLD, rest)?.0, kind: ThresholdKind::Absolute }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::message::BUDGETED_AMOUNT;
    use super::super::parse_alert_message;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_with_separators_without_decimals_and_with_currency_codes_are_read() {
        for (written, value, unit) in [
            ("$1,234.5", 1234.5, "USD"),
            ("$1,234,567.89", 1234567.89, "USD"),
            ("$1000", 1000.0, "USD"),
            ("100.00 USD", 100.0, "USD"),
            ("EUR 100.00", 100.0, "EUR"),
            ("€100", 100.0, "EUR"),
            ("$100.00 USD", 100.0, "USD"),
            ("1.234", 1.234, ""),
            ("720 Hrs", 720.0, "Hrs"),
            ("5,000 GB-Mo", 5000.0, "GB-Mo"),
        ] {
            assert_eq!(parse_amount(BUDGETED_AMOUNT, written).unwrap(), (value, unit.to_string()), "{written}");
        }
    }

    #[test]
    fn negative_zero_absurd_and_other_locale_amounts_are_refused() {
        for (line, expected) in [
            ("Budgeted Amount: $abc", "Budgeted Amount: cannot read '$abc' as an amount"),
            ("Budgeted Amount: $0.00", "budgeted amount must be positive, got 0"),
            (
                "Budgeted Amount: $0.00000001",
                "Budgeted Amount: '$0.00000001' is too small to compare against (under 0.0001)",
            ),
            ("Budgeted Amount: -$5.00", "Budgeted Amount: amount must not be negative, got '-$5.00'"),
            ("Budgeted Amount: $-5.00", "Budgeted Amount: amount must not be negative, got '$-5.00'"),
            ("Budgeted Amount: NaN", "Budgeted Amount: cannot read 'NaN' as an amount"),
            ("Budgeted Amount: $inf", "Budgeted Amount: cannot read '$inf' as an amount"),
            ("Budgeted Amount: $1e3", "Budgeted Amount: cannot read '$1e3' as an amount"),
            ("Budgeted Amount: $100.", "Budgeted Amount: cannot read '$100.' as an amount"),
            ("Budgeted Amount: $100 EUR", "Budgeted Amount: cannot read '$100 EUR' as an amount"),
            (
                "Budgeted Amount: $2,000,000,000,000",
                "Budgeted Amount: '$2,000,000,000,000' is implausibly large (over 1e12)",
            ),
            (
                "Budgeted Amount: 1.234,56 €",
                "Budgeted Amount: '1.234,56 €' does not use ',' for thousands and '.' for decimals; refusing to guess",
            ),
            (
                "ACTUAL Amount: $1.234.567",
                "ACTUAL Amount: '$1.234.567' does not use ',' for thousands and '.' for decimals; refusing to guess",
            ),
            (
                "ACTUAL Amount: 12,5 EUR",
                "ACTUAL Amount: '12,5 EUR' does not use ',' for thousands and '.' for decimals; refusing to guess",
            ),
            ("ACTUAL Amount: 900 EUR", "ACTUAL Amount: unit 'EUR' differs from the budgeted amount's 'USD'"),
            ("Alert Threshold: > lots", "Alert Threshold: cannot read 'lots' as an amount"),
            ("Alert Threshold: < 80%", "Alert Threshold: only 'greater than' thresholds are supported, got '< 80%'"),
        ] {
            let key = line.split(':').next().unwrap();
            assert_eq!(error(&with((key, line))), expected, "{line}");
        }
    }

    #[test]
    fn scientific_notation_is_refused_not_read_as_a_unit_named_e() {
        let both =
            monthly(&["Budget Name: ml-marketing", "Budgeted Amount: 1e3", "Alert Type: ACTUAL", "ACTUAL Amount: 2e3"]);
        assert_eq!(error(&both), "Budgeted Amount: cannot read '1e3' as an amount");
        assert!(error(&with(("ACTUAL Amount", "ACTUAL Amount: 8.124E-2"))).contains("cannot read '8.124E-2'"));
        let usage = with(("Budgeted Amount", "Budgeted Amount: 720 Hrs"));
        let usage = usage.replace("ACTUAL Amount: $812.40", "ACTUAL Amount: 800 Hrs");
        assert_eq!(parse_alert_message(None, &usage).unwrap().unit, "Hrs");
    }

    proptest! {
        #[test]
        fn amounts_formatted_the_aws_way_read_back_exactly(cents in 1u64..100_000_000_000_000) {
            let digits = (cents / 100).to_string();
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            let written = format!("${grouped}.{:02}", cents % 100);
            let (value, unit) = parse_amount(BUDGETED_AMOUNT, &written).unwrap();
            prop_assert_eq!(value, format!("{}.{:02}", cents / 100, cents % 100).parse::<f64>().unwrap());
            prop_assert_eq!(unit, "USD");
        }
    }
}
