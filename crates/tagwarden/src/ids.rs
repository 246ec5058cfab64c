//! Identifiers of AWS's own: account ids, organizational unit ids, partitions. A leaf: it imports
//! nothing from the crate, so the policy (overrides per account and OU), the organization and the
//! events can all check ids without importing each other.

/// Whether `s` is a 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` looks like an organizational unit id (`ou-xxxx-yyyyyyyy`).
pub fn is_ou_id(s: &str) -> bool {
    s.starts_with("ou-") && s.len() > 3 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The AWS partition a region belongs to: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, the ISO
/// partitions for theirs, `aws` otherwise.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_exactly_twelve_digits() {
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id("12345678901"));
        assert!(!is_account_id("12345678901x"));
        assert!(!is_account_id("1234567890123"));
    }

    #[test]
    fn ou_ids_start_with_ou_and_carry_no_other_punctuation() {
        assert!(is_ou_id("ou-ab12-research1"));
        assert!(!is_ou_id("ou-"));
        assert!(!is_ou_id("research"));
        assert!(!is_ou_id("ou-ab12/x"));
    }

    #[test]
    fn partitions_follow_the_region_prefix() {
        assert_eq!((partition_of("cn-north-1"), partition_of("us-gov-west-1")), ("aws-cn", "aws-us-gov"));
        assert_eq!(partition_of("eu-west-1"), "aws");
    }
}
