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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
