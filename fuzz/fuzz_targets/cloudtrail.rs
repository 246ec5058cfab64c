//! Bytes -> JSON -> the auto-tagger's pure event handling: `CreateCall::from_event`, the caller's tags, and
//! identity resolution. No AWS. Any panic is a bug; every input is either a create call or a skip with a reason.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tagwarden::identity::Creator;
use tagwarden::tagging::CreateCall;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match CreateCall::from_event(&event) {
        Ok(call) => {
            assert!(call.arn_string().starts_with("arn:"));
            let _ = call.call.request_tags();
            let creator = Creator::from_identity(call.call.user_identity.as_ref());
            let _ = creator.from_studio_tags(Some(&call.arn_string()), None);
        }
        Err(skip) => assert!(!skip.reason.is_empty()),
    }
});
