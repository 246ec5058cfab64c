//! SageMaker's tag rules: 50 tags per resource, key and value length and character set, reserved prefixes.

use std::sync::LazyLock;

use regex::Regex;

/// Most tags one SageMaker resource may carry, system tags included.
pub const MAX_TAGS: usize = 50;
/// Longest tag key, in characters.
pub const MAX_KEY_CHARS: usize = 128;
/// Longest tag value, in characters.
pub const MAX_VALUE_CHARS: usize = 256;

static ALLOWED: LazyLock<Regex> = LazyLock::new(|| {
    // NOTE: the character class of SageMaker's Tag model: letters, separators, numbers and `_.:/=+-@`.
    #[allow(clippy::expect_used)]
    Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("static regex compiles")
});

/// Whether a key is written by AWS or SageMaker itself and must never be written by Tagwarden.
pub fn is_system_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.starts_with("aws:") || lower.starts_with("sagemaker:")
}

/// Why a key or value breaks SageMaker's rules, or `None` when it is fine.
pub fn key_problem(key: &str) -> Option<String> {
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS {
        return Some(format!("key must be 1 to {MAX_KEY_CHARS} characters, got {chars}"));
    }
    if !ALLOWED.is_match(key) {
        return Some(format!("key {key:?} has characters outside letters, digits, spaces and _.:/=+-@"));
    }
    if is_system_key(key) {
        return Some(format!("key {key:?} uses a reserved prefix (aws: or sagemaker:)"));
    }
    None
}

/// Why a value breaks SageMaker's rules, or `None` when it is fine.
pub fn value_problem(value: &str) -> Option<String> {
    let chars = value.chars().count();
    if chars > MAX_VALUE_CHARS {
        return Some(format!("value is {chars} characters, more than {MAX_VALUE_CHARS}"));
    }
    if !ALLOWED.is_match(value) {
        return Some(format!(
            "value {:?} has characters outside letters, digits, spaces and _.:/=+-@",
            truncate(value, 40)
        ));
    }
    None
}

/// Makes a value legal: disallowed characters become `-`, and it is cut to the maximum length.
pub fn sanitize_value(value: &str) -> String {
    value
        .chars()
        .map(|c| if ALLOWED.is_match(c.encode_utf8(&mut [0; 4])) { c } else { '-' })
        .take(MAX_VALUE_CHARS)
        .collect()
}

/// The first `max` characters of `s`, with `…` when cut: for logs and messages.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// Longest SNS `Subject` Tagwarden sends, in characters and bytes (SNS wants fewer than 100).
pub const MAX_SNS_SUBJECT: usize = 99;

/// `text` as a legal SNS `Subject`: printable ASCII only (anything else becomes `?`), at most
/// [`MAX_SNS_SUBJECT`] bytes, ending with `...` when cut; the one function every `Publish` goes through.
pub fn sns_subject(text: &str) -> String {
    // SNS Publish, `Subject`: "Subjects must be ASCII text that begins with a letter, number, or punctuation
    // mark; must not include line breaks or control characters; and must be less than 100 characters long."
    // https://docs.aws.amazon.com/sns/latest/api/API_Publish.html (the SDK model says "UTF-8 text with no line
    // breaks or control characters, and less than 100 characters long":
    // https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/sns/aws.sdk.kotlin.services.sns.model/-publish-request/subject.html).
    // Printable ASCII satisfies both, and one byte per character makes bytes and characters the same count.
    let ascii: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            ' '..='~' => c,
            _ => '?',
        })
        .collect();
    let mut subject =
        if ascii.len() <= MAX_SNS_SUBJECT { ascii } else { format!("{}...", ascii[..MAX_SNS_SUBJECT - 3].trim_end()) };
    // It must begin with a letter, number or punctuation mark, and be non-empty.
    if !subject.starts_with(|c: char| c.is_ascii_graphic()) {
        subject = format!("Tagwarden:{subject}");
        subject.truncate(MAX_SNS_SUBJECT);
    }
    subject
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_legal_subject(subject: &str) {
        assert!(subject.len() < 100 && subject.chars().count() < 100, "{} bytes: {subject}", subject.len());
        assert!(subject.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{subject}");
        assert!(subject.starts_with(|c: char| c.is_ascii_graphic()), "{subject}");
    }

    #[test]
    fn sns_subject_of_99_characters_is_kept_whole() {
        let text = "a".repeat(99);
        assert_eq!(sns_subject(&text), text);
    }

    #[test]
    fn sns_subject_of_100_characters_is_cut_to_99_bytes_ending_with_dots() {
        let subject = sns_subject(&"a".repeat(100));
        assert_legal_subject(&subject);
        assert_eq!(subject, format!("{}...", "a".repeat(96)));
    }

    #[test]
    fn sns_subject_of_101_characters_is_cut_below_100() {
        let subject = sns_subject(&"b".repeat(101));
        assert_legal_subject(&subject);
        assert!(subject.ends_with("..."), "{subject}");
    }

    #[test]
    fn sns_subject_with_multi_byte_text_stays_under_100_bytes_and_is_ascii() {
        let subject = sns_subject(&format!("Budget {} für Zoë 💸 — {}", "é".repeat(60), "ü".repeat(60)));
        assert_legal_subject(&subject);
        assert!(subject.starts_with("Budget ??"), "{subject}");
        let short = sns_subject("Zoë");
        assert_eq!(short, "Zo?");
    }

    #[test]
    fn sns_subject_turns_line_breaks_and_control_characters_into_legal_text() {
        let subject = sns_subject("line one\nline two\r\u{7}\u{1b}[31m");
        assert_legal_subject(&subject);
        assert_eq!(subject, "line one line two ??[31m");
        assert_legal_subject(&sns_subject(""));
        assert_legal_subject(&sns_subject("\u{7}"));
    }

    #[test]
    fn sns_subject_for_a_63_character_name_is_legal() {
        let name = "n".repeat(63);
        let subject = sns_subject(&format!("Tagwarden restored the tags of training-job {name} after a change"));
        assert_legal_subject(&subject);
    }

    proptest! {
        #[test]
        fn sns_subject_is_always_legal(text in ".{0,300}") {
            let subject = sns_subject(&text);
            prop_assert!(subject.len() < 100 && subject.chars().count() < 100);
            prop_assert!(subject.chars().all(|c| c.is_ascii_graphic() || c == ' '));
            prop_assert!(subject.starts_with(|c: char| c.is_ascii_graphic()));
        }
    }

    #[test]
    fn accepts_unicode_letters_and_the_punctuation_sagemaker_allows() {
        assert_eq!(value_problem("Zoë Müller @ cc-1/2 = a+b_c.d:e"), None);
        assert_eq!(key_problem("cost-center"), None);
    }

    #[test]
    fn rejects_reserved_prefixes_commas_and_overlong_keys() {
        assert!(key_problem("aws:createdBy").is_some());
        assert!(key_problem("SageMaker:domain-arn").is_some());
        assert!(key_problem("a,b").is_some());
        assert!(key_problem(&"k".repeat(129)).is_some());
        assert!(key_problem("").is_some());
        assert!(value_problem(&"v".repeat(257)).is_some());
        assert!(value_problem("tab\there").is_some());
    }

    #[test]
    fn sanitizing_replaces_bad_characters_and_cuts_to_256() {
        assert_eq!(sanitize_value("a,b;c"), "a-b-c");
        assert_eq!(sanitize_value(&"x".repeat(300)).chars().count(), 256);
    }

    proptest! {
        #[test]
        fn sanitized_values_are_always_legal(s in any::<String>()) {
            prop_assert_eq!(value_problem(&sanitize_value(&s)), None);
        }
    }
}
