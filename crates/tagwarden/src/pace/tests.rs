use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sagemaker::Client as SageMaker;
use aws_sdk_sagemaker::operation::stop_notebook_instance::StopNotebookInstanceOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use tokio::time::Instant;

use super::*;
use crate::aws::ResultExt;

/// A slot taken at `now`, panicking if there is none.
fn take(aimd: &mut Aimd, now: Instant) -> u64 {
    aimd.try_acquire(now).expect("a free slot")
}

#[test]
fn a_limiter_starts_at_the_policys_concurrency_and_halves_per_throttle_down_to_one() {
    let mut now = Instant::now();
    let mut aimd = Aimd::new(8);
    assert_eq!(aimd.limit(), 8);
    for expected in [4, 2, 1] {
        let epoch = take(&mut aimd, now);
        assert!(aimd.throttled(epoch, now));
        aimd.release(Ended::Throttled);
        assert_eq!(aimd.limit(), expected);
        now += Timing::DEFAULT.pause;
    }
    assert_eq!(aimd.gap(), Duration::ZERO, "halving concurrency does not space calls yet");
    assert_eq!(Aimd::new(0).limit(), 1, "a concurrency of 0 still lets one call through");
}

#[test]
fn throttles_of_calls_sent_before_the_last_decrease_decrease_nothing_more() {
    let now = Instant::now();
    let mut aimd = Aimd::new(8);
    let epochs: Vec<u64> = (0..8).map(|_| take(&mut aimd, now)).collect();
    assert!(aimd.throttled(epochs[0], now));
    for epoch in &epochs[1..] {
        assert!(!aimd.throttled(*epoch, now), "the same congestion event");
    }
    assert_eq!(aimd.limit(), 4);
}

#[test]
fn concurrency_grows_by_one_per_window_of_clean_successes_up_to_the_maximum() {
    let now = Instant::now();
    let mut aimd = Aimd::new(4);
    let epoch = take(&mut aimd, now);
    aimd.throttled(epoch, now);
    aimd.release(Ended::Throttled);
    assert_eq!(aimd.limit(), 2);
    let later = now + Timing::DEFAULT.pause;
    // A window is `limit` clean successes: 2 at limit 2, then 3 at limit 3, then the maximum holds.
    for (successes, expected) in [(1, 2), (1, 3), (3, 4), (4, 4), (40, 4)] {
        for _ in 0..successes {
            take(&mut aimd, later);
            aimd.release(Ended::Clean);
        }
        assert_eq!(aimd.limit(), expected);
    }
    for ended in [Ended::Retried, Ended::Failed] {
        take(&mut aimd, later);
        aimd.release(ended);
    }
    assert_eq!(aimd.limit(), 4, "a call with a throttled attempt or an error is not a clean success");
}

#[test]
fn no_slot_is_given_past_the_limit_or_before_the_pause_after_a_throttle_ends() {
    let now = Instant::now();
    let mut aimd = Aimd::new(2);
    let first = take(&mut aimd, now);
    take(&mut aimd, now);
    assert_eq!(aimd.try_acquire(now), Err(None), "both slots are taken");
    aimd.throttled(first, now);
    aimd.release(Ended::Throttled);
    assert_eq!(aimd.try_acquire(now), Err(Some(now + Timing::DEFAULT.pause)), "paused after the throttle");
    assert_eq!(aimd.try_acquire(now + Timing::DEFAULT.pause), Err(None), "limit 1, and one call is still in flight");
    aimd.release(Ended::Clean);
    assert!(aimd.try_acquire(now + Timing::DEFAULT.pause).is_ok());
}

#[test]
fn at_one_call_in_flight_a_throttle_spaces_calls_and_doubles_the_spacing_up_to_the_maximum() {
    let mut now = Instant::now();
    let mut aimd = Aimd::new(1);
    let mut gaps = Vec::new();
    for _ in 0..8 {
        let epoch = take(&mut aimd, now);
        aimd.throttled(epoch, now);
        aimd.release(Ended::Throttled);
        gaps.push(aimd.gap().as_millis());
        assert_eq!(aimd.try_acquire(now), Err(Some(now + aimd.gap())), "the next call waits for the gap");
        now += aimd.gap();
    }
    assert_eq!(gaps, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
}

#[test]
fn clean_successes_shorten_the_spacing_until_it_is_gone_and_concurrency_grows_again() {
    let mut now = Instant::now();
    let mut aimd = Aimd::new(2);
    for _ in 0..2 {
        let epoch = take(&mut aimd, now);
        aimd.throttled(epoch, now);
        aimd.release(Ended::Throttled);
        now += Duration::from_secs(1);
    }
    assert_eq!((aimd.limit(), aimd.gap()), (1, Timing::DEFAULT.first_gap));
    let mut successes = 0;
    while !aimd.gap().is_zero() {
        let before = aimd.gap();
        let _ = take(&mut aimd, now);
        aimd.release(Ended::Clean);
        successes += 1;
        assert!(aimd.gap() < before);
        now += before;
    }
    // 50 ms shrinks by a sixteenth per success: below 5 ms after 36 successes.
    assert_eq!(successes, 36);
    assert!(aimd.try_acquire(now).is_ok(), "no spacing any more");
    aimd.release(Ended::Clean);
    assert_eq!(aimd.limit(), 2, "one more clean window at limit 1 raises concurrency");
}

#[test]
fn a_family_gives_up_after_rounds_calls_in_a_row_end_throttled_and_any_success_ends_the_stall() {
    let now = Instant::now();
    let mut aimd = Aimd::new(8);
    for _ in 0..ROUNDS - 1 {
        aimd.release(Ended::Throttled);
    }
    aimd.release(Ended::Retried);
    for _ in 0..ROUNDS - 1 {
        aimd.release(Ended::Failed);
        aimd.release(Ended::Throttled);
    }
    assert!(!aimd.gave_up(), "a success between them, and other errors neither stall nor end a stall");
    take(&mut aimd, now);
    aimd.release(Ended::Throttled);
    assert!(aimd.gave_up());
}

#[test]
fn the_waits_follow_the_clients_retry_policy_and_the_deployed_one_gives_the_default() {
    let deployed = crate::aws::CallPolicy::DEFAULT;
    assert_eq!(Timing::from_backoff(deployed.initial_backoff, deployed.max_backoff), Timing::DEFAULT);
    assert_eq!(Timing::from_retry(Some(&deployed.retry_config())), Timing::DEFAULT);
    assert_eq!(Timing::from_retry(None), Timing::DEFAULT);
    let fast = Timing::from_backoff(Duration::from_millis(1), Duration::from_millis(5));
    assert_eq!(
        (fast.pause, fast.first_gap, fast.max_gap),
        (Duration::from_micros(200), Duration::from_micros(100), Duration::from_millis(5))
    );
}

#[test]
fn throttles_are_told_by_status_error_type_header_or_json_type() {
    assert!(is_throttle(400, None, Some(br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)));
    assert!(is_throttle(400, None, Some(br#"{"__type":"com.amazonaws.sagemaker#ThrottlingException"}"#)));
    assert!(is_throttle(400, Some("ThrottlingException:http://internal.amazon.com/"), None));
    assert!(is_throttle(429, None, None));
    assert!(!is_throttle(400, None, Some(br#"{"__type":"ValidationException","message":"Status (Stopped)"}"#)));
    assert!(!is_throttle(500, None, Some(b"<html>")));
    assert!(!is_throttle(400, None, None));
}

fn throttle() -> HttpResponse {
    let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::from(body))
}

/// A SageMaker client with the interceptor and `attempts` SDK attempts (1 ms backoff) over `rules`.
fn sagemaker(rules: &[&Rule], attempts: u32) -> SageMaker {
    mock_client!(aws_sdk_sagemaker, RuleMode::MatchAny, rules.iter().copied(), move |c| {
        let retry = aws_sdk_sagemaker::config::retry::RetryConfig::standard()
            .with_max_attempts(attempts)
            .with_initial_backoff(Duration::from_millis(1));
        c.retry_config(retry).interceptor(ThrottleSignal)
    })
}

async fn stop(sm: &SageMaker) -> Result<(), AwsError> {
    sm.stop_notebook_instance().notebook_instance_name("nb").send().await.aws("StopNotebookInstance").map(drop)
}

#[tokio::test]
async fn a_call_the_sdk_retried_past_a_throttle_still_slows_its_limiter() {
    let rule = mock!(SageMaker::stop_notebook_instance)
        .sequence()
        .http_response(throttle)
        .output(|| StopNotebookInstanceOutput::builder().build())
        .repeatedly()
        .build();
    let sm = sagemaker(&[&rule], 3);
    let limiter = Arc::new(Limiter::new(8));
    limiter.run(|| stop(&sm)).await.expect("the SDK's retry succeeds");
    assert_eq!((rule.num_calls(), limiter.throttled(), limiter.state().limit()), (2, 1, 4));
    stop(&sm).await.expect("outside a paced call the interceptor does nothing");
    assert_eq!(limiter.throttled(), 1);
}

#[tokio::test]
async fn a_call_throttled_past_the_sdks_attempts_is_issued_again_under_the_limiter_until_done() {
    let rule = mock!(SageMaker::stop_notebook_instance)
        .sequence()
        .http_response(throttle)
        .times(3)
        .output(|| StopNotebookInstanceOutput::builder().build())
        .build();
    let sm = sagemaker(&[&rule], 1);
    let limiter = Arc::new(Limiter::new(8));
    limiter.run(|| stop(&sm)).await.expect("issued again until it is done");
    assert_eq!(rule.num_calls(), 4, "three throttled calls, one that acted");
    // 8 -> 4 -> 2 -> 1 by the throttles, then the clean success is a full window at 1: +1.
    assert_eq!((limiter.throttled(), limiter.state().limit()), (3, 2));
}

#[tokio::test]
async fn a_family_throttled_in_every_round_gives_up_and_sends_no_more_calls() {
    let rule = mock!(SageMaker::stop_notebook_instance).then_http_response(throttle);
    let sm = sagemaker(&[&rule], 1);
    let limiter = Arc::new(Limiter::new(8));
    let err = limiter.run(|| stop(&sm)).await.expect_err("throttled every time");
    assert!(matches!(err, AwsError::Throttled { .. }), "{err}");
    assert_eq!(rule.num_calls(), ROUNDS as usize);
    assert_eq!(limiter.throttled(), u64::from(ROUNDS));
    let again = limiter.run(|| stop(&sm)).await.expect_err("the family gave up");
    assert_eq!((again, rule.num_calls()), (err, ROUNDS as usize), "no call is sent once the family gave up");
}

#[tokio::test]
async fn one_pacer_gives_each_operation_family_its_own_limiter() {
    let pacer = Pacer::new(8, Timing::DEFAULT);
    let stops = pacer.limiter("stop-notebooks");
    assert!(Arc::ptr_eq(&stops, &pacer.limiter("stop-notebooks")), "shared by every action of the place");
    let jobs = pacer.limiter("stop-jobs");
    let epoch = jobs.lock().try_acquire(Instant::now()).unwrap();
    jobs.lock().throttled(epoch, Instant::now());
    assert_eq!((stops.state().limit(), jobs.state().limit()), (8, 4));
}
