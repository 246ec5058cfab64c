//! One CSV cell, safe to open in a spreadsheet: every CSV Tagwarden writes goes through [`cell`].
//!
//! Tag values, names and creators are written by users, so a value such as `=HYPERLINK(...)` would run as a
//! formula when an operator opens the audit or cost report in a spreadsheet (CSV injection). OWASP's
//! recommendation (<https://owasp.org/www-community/attacks/CSV_Injection>): prefix cells that begin with
//! `=`, `+`, `-`, `@`, tab or carriage return with a single quote, and quote the cell, doubling any `"`.

/// Characters that make a spreadsheet read a cell as a formula when they come first.
const FORMULA_STARTS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// `value` as one CSV cell: a formula-looking value gets a leading `'`, and a cell with a comma, quote,
/// line break or such a prefix is quoted with `"` doubled. For text from users, not for numbers we compute.
pub fn cell(value: &str) -> String {
    if value.starts_with(FORMULA_STARTS) {
        format!("\"'{}\"", value.replace('"', "\"\""))
    } else if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_starting_like_a_formula_get_a_leading_quote() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(cell("+1+cmd|' /C calc'!A0"), "\"'+1+cmd|' /C calc'!A0\"");
        assert_eq!(cell("-2+3"), "\"'-2+3\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("\t=1"), "\"'\t=1\"");
        assert_eq!(cell("\r=1"), "\"'\r=1\"");
    }

    #[test]
    fn plain_cells_are_written_as_they_are_and_commas_are_quoted() {
        assert_eq!(cell("cost-center"), "cost-center");
        assert_eq!(cell("a=b"), "a=b");
        assert_eq!(cell(""), "");
        assert_eq!(cell("x,y"), "\"x,y\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("O'Brien"), "O'Brien");
    }
}
