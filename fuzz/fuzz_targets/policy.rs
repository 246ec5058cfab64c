//! Bytes -> text -> `Policy::from_yaml` (parsing and every validation). Any panic is a bug; an error always
//! says where the policy came from.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tagwarden::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::from_yaml(text, "fuzz") {
        Ok(policy) => assert!(!policy.tags.keys.is_empty()),
        Err(err) => assert!(err.to_string().starts_with("invalid policy fuzz: ")),
    }
});
