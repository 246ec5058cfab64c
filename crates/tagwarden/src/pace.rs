//! Pacing under throttling: an adaptive (AIMD) limiter per operation family, so that a large enforcement
//! slows down when SageMaker answers `ThrottlingException` instead of turning into a storm of retries.
//!
//! In: calls to pace ([`Limiter::run`]) and the throttled attempts the SDK saw ([`ThrottleSignal`], an
//! interceptor on the SageMaker client, reports every throttled attempt, the ones the SDK retried included).
//! Out: the calls' own results; a throttled call is issued again under the limiter (a throttled call was not
//! carried out, so issuing it again acts once), until [`ROUNDS`] calls of its family in a row end throttled.
//!
//! The arithmetic ([`Aimd`]) is pure and takes the time as an argument. Above one call in flight it is AIMD on
//! concurrency: starting from the policy's `concurrency`, +1 per window of `limit` clean successes up to that
//! maximum, halved (min 1) on a throttle, then a pause. At one call in flight a fast service can still be
//! called faster than its rate (concurrency / latency), so it goes on as AIMD on the spacing between calls:
//! doubled on a throttle (from 50 ms up to 2 s), shortened by a sixteenth per clean success, and gone below
//! 5 ms (then concurrency grows again); [`Timing`] holds the waits. Throttles of calls sent before the last decrease
//! belong to the same congestion event and decrease nothing more.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::aws::AwsError;

/// The waits of a limiter. [`Timing::DEFAULT`] is what [`Timing::from_backoff`] makes of
/// [`CallPolicy::DEFAULT`](crate::aws::CallPolicy::DEFAULT)'s backoffs (0.5 s, 2 s): the pacing follows the
/// clients' retry policy, so a test policy with millisecond backoffs paces in milliseconds too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long a limiter waits after a throttle that halved its concurrency.
    pub pause: Duration,
    /// The spacing between calls after the first throttle at one call in flight.
    pub first_gap: Duration,
    /// Below this spacing the limiter stops spacing calls (and may raise its concurrency again).
    pub min_gap: Duration,
    /// The longest spacing between calls.
    pub max_gap: Duration,
}

impl Timing {
    /// Pause 100 ms, spacing from 50 ms up to 2 s, none below 5 ms.
    pub const DEFAULT: Self = Self {
        pause: Duration::from_millis(100),
        first_gap: Duration::from_millis(50),
        min_gap: Duration::from_millis(5),
        max_gap: Duration::from_secs(2),
    };

    /// From a retry policy's first and longest backoff: pause a fifth of the first, spacing from a tenth of
    /// it (none below a hundredth) up to the longest.
    pub fn from_backoff(initial: Duration, max: Duration) -> Self {
        Self { pause: initial / 5, first_gap: initial / 10, min_gap: initial / 100, max_gap: max.max(initial / 10) }
    }

    /// From a client's retry configuration (none: [`Timing::DEFAULT`]).
    pub fn from_retry(retry: Option<&aws_smithy_types::retry::RetryConfig>) -> Self {
        retry.map_or(Self::DEFAULT, |r| Self::from_backoff(r.initial_backoff(), r.max_backoff()))
    }
}

/// Paced calls of one family that may end throttled in a row, with no success between them, before the
/// family gives up: the service takes none of its calls now, so every call left returns its throttle at once
/// (the alert is then retried by Lambda) instead of being spaced out until the Lambda times out.
pub const ROUNDS: u32 = 8;
/// How many times one call is issued while it is throttled (other calls of its family getting through).
pub const CALL_ROUNDS: u32 = 2 * ROUNDS;

/// How a paced call ended, for its limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It succeeded with no throttled attempt.
    Clean,
    /// It succeeded after a throttled attempt the SDK retried.
    Retried,
    /// Its last attempt was throttled: it was not carried out.
    Throttled,
    /// Another error, or it was dropped.
    Failed,
}

/// The pure AIMD state of one limiter: concurrency limit, spacing, and the congestion epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aimd {
    max: usize,
    limit: usize,
    in_flight: usize,
    epoch: u64,
    window: usize,
    gap: Duration,
    next_at: Option<Instant>,
    stalled: u32,
    timing: Timing,
}

impl Aimd {
    /// A limiter starting (and capped) at `max` calls in flight (at least 1), with [`Timing::DEFAULT`].
    pub fn new(max: usize) -> Self {
        Self::with_timing(max, Timing::DEFAULT)
    }

    /// A limiter starting (and capped) at `max` calls in flight (at least 1), waiting as `timing` says.
    pub fn with_timing(max: usize, timing: Timing) -> Self {
        let max = max.max(1);
        let (gap, next_at) = (Duration::ZERO, None);
        Self { max, limit: max, in_flight: 0, epoch: 0, window: 0, gap, next_at, stalled: 0, timing }
    }

    /// The calls allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The spacing between calls now (zero: not spacing).
    pub fn gap(&self) -> Duration {
        self.gap
    }

    /// Whether [`ROUNDS`] calls in a row ended throttled with no success between them.
    pub fn gave_up(&self) -> bool {
        self.stalled >= ROUNDS
    }

    /// Takes a slot at `now`: the epoch to report a throttle under, or `Err(Some(t))` to wait until `t`,
    /// or `Err(None)` to wait for a call to end.
    pub fn try_acquire(&mut self, now: Instant) -> Result<u64, Option<Instant>> {
        if let Some(at) = self.next_at.filter(|at| *at > now) {
            return Err(Some(at));
        }
        if self.in_flight >= self.limit {
            return Err(None);
        }
        self.in_flight += 1;
        self.next_at = (!self.gap.is_zero()).then(|| now + self.gap);
        Ok(self.epoch)
    }

    /// A call that took its slot at `epoch` was throttled at `now`; true when this decreased the limiter
    /// (the first throttle since the last decrease), false for one of the same congestion event.
    pub fn throttled(&mut self, epoch: u64, now: Instant) -> bool {
        if epoch != self.epoch {
            return false;
        }
        self.epoch += 1;
        self.window = 0;
        if self.limit > 1 {
            self.limit = (self.limit / 2).max(1);
            self.next_at = Some(now + self.timing.pause);
        } else {
            self.gap = if self.gap.is_zero() { self.timing.first_gap } else { (self.gap * 2).min(self.timing.max_gap) };
            self.next_at = Some(now + self.gap);
        }
        true
    }

    /// A call ended and gave its slot back: a clean success counts towards the window, any success ends a stall.
    pub fn release(&mut self, ended: Ended) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match ended {
            Ended::Clean | Ended::Retried => self.stalled = 0,
            Ended::Throttled => self.stalled += 1,
            Ended::Failed => {}
        }
        if ended != Ended::Clean {
            return;
        }
        self.window += 1;
        if self.window < self.limit {
            return;
        }
        self.window = 0;
        if !self.gap.is_zero() {
            self.gap -= self.gap / 16;
            if self.gap < self.timing.min_gap {
                self.gap = Duration::ZERO;
                self.next_at = None;
            }
        } else if self.limit < self.max {
            self.limit += 1;
        }
    }
}

/// One adaptive limiter: the [`Aimd`] state behind a lock, and the calls waiting for a slot.
#[derive(Debug)]
pub struct Limiter {
    state: Mutex<Aimd>,
    released: Notify,
    throttled: AtomicU64,
    last: Mutex<Option<AwsError>>,
}

impl Limiter {
    /// A limiter starting (and capped) at `max` calls in flight, with [`Timing::DEFAULT`].
    pub fn new(max: usize) -> Self {
        Self::with_timing(max, Timing::DEFAULT)
    }

    /// A limiter starting (and capped) at `max` calls in flight, waiting as `timing` says.
    pub fn with_timing(max: usize, timing: Timing) -> Self {
        let (state, throttled) = (Mutex::new(Aimd::with_timing(max, timing)), AtomicU64::new(0));
        Self { state, released: Notify::new(), throttled, last: Mutex::new(None) }
    }

    /// Throttled attempts seen so far (every one, the SDK's retried ones included).
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// A copy of the AIMD state now.
    pub fn state(&self) -> Aimd {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Aimd> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `call` under the limiter: waits for a slot, reports the call's throttled attempts, and issues a
    /// call throttled in the end again (up to [`CALL_ROUNDS`] times, and until the family gives up: see
    /// [`ROUNDS`]; then the throttle is returned).
    pub async fn run<T, F, Fut>(self: &Arc<Self>, mut call: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let mut round = 1;
        loop {
            if let Some(err) = self.given_up() {
                return Err(err);
            }
            let slot = self.acquire().await;
            if let Some(err) = self.given_up() {
                return Err(err);
            }
            let result = PACED.scope(slot.clone(), call()).await;
            let seen = slot.seen.load(Ordering::Relaxed);
            let ended = match &result {
                Ok(_) if seen == 0 => Ended::Clean,
                Ok(_) => Ended::Retried,
                Err(AwsError::Throttled { .. }) => Ended::Throttled,
                Err(_) => Ended::Failed,
            };
            if ended == Ended::Throttled && seen == 0 {
                // NOTE: a client without the ThrottleSignal interceptor (tests' mocks) shows only the last throttle.
                slot.throttle();
            }
            slot.release(ended);
            match result {
                Err(err @ AwsError::Throttled { .. }) => {
                    if self.lock().gave_up() {
                        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
                        last.get_or_insert_with(|| err.clone());
                        drop(last);
                        self.released.notify_waiters();
                        return Err(err);
                    }
                    if round >= CALL_ROUNDS {
                        return Err(err);
                    }
                    round += 1;
                }
                other => return other,
            }
        }
    }

    /// The throttle the family gave up on, once it has.
    fn given_up(&self) -> Option<AwsError> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    async fn acquire(self: &Arc<Self>) -> Arc<Slot> {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let wait = match self.lock().try_acquire(Instant::now()) {
                Ok(epoch) => {
                    return Arc::new(Slot {
                        limiter: self.clone(),
                        epoch,
                        seen: AtomicU32::new(0),
                        done: AtomicU32::new(0),
                    });
                }
                Err(wait) => wait,
            };
            match wait {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = released => {}
                    }
                }
                None => released.await,
            }
        }
    }
}

/// The slot one call holds: its epoch, and the throttled attempts the interceptor saw during it.
#[derive(Debug)]
struct Slot {
    limiter: Arc<Limiter>,
    epoch: u64,
    seen: AtomicU32,
    done: AtomicU32,
}

impl Slot {
    fn throttle(&self) {
        self.seen.fetch_add(1, Ordering::Relaxed);
        self.limiter.throttled.fetch_add(1, Ordering::Relaxed);
        let decreased = self.limiter.lock().throttled(self.epoch, Instant::now());
        if decreased {
            let state = self.limiter.state();
            tracing::debug!(limit = state.limit(), gap_ms = state.gap().as_millis() as u64, "throttled: slowing down");
        }
    }

    fn release(&self, ended: Ended) {
        if self.done.swap(1, Ordering::Relaxed) == 0 {
            self.limiter.lock().release(ended);
            self.limiter.released.notify_waiters();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // NOTE: a call dropped before it ended (cancelled) still gives its slot back.
        self.release(Ended::Failed);
    }
}

tokio::task_local! {
    /// The slot of the paced call the current task is running, for [`ThrottleSignal`].
    static PACED: Arc<Slot>;
}

/// The limiters of one enforcement in one (account, region), by operation family; shared by all its actions.
#[derive(Debug)]
pub struct Pacer {
    max: usize,
    timing: Timing,
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
}

impl Pacer {
    /// Limiters that start (and are capped) at `max` calls in flight and wait as `timing` says.
    pub fn new(max: usize, timing: Timing) -> Self {
        Self { max, timing, limiters: Mutex::new(HashMap::new()) }
    }

    /// The limiter of `family` (made on first use).
    pub fn limiter(&self, family: &str) -> Arc<Limiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        limiters
            .entry(family.to_owned())
            .or_insert_with(|| Arc::new(Limiter::with_timing(self.max, self.timing)))
            .clone()
    }

    /// Throttled attempts seen by every limiter so far.
    pub fn throttled(&self) -> u64 {
        self.limiters.lock().unwrap_or_else(PoisonError::into_inner).values().map(|l| l.throttled()).sum()
    }
}

/// An interceptor that reports every throttled attempt of a paced call (the SDK's retried ones too) to its
/// limiter; outside a paced call it does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThrottleSignal;

impl Intercept for ThrottleSignal {
    fn name(&self) -> &'static str {
        "TagwardenThrottleSignal"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(response) = context.response() else { return Ok(()) };
        let status = response.status().as_u16();
        if status < 400 {
            return Ok(());
        }
        let header = response.headers().get("x-amzn-errortype");
        if is_throttle(status, header, response.body().bytes()) {
            let _ = PACED.try_with(|slot| slot.throttle());
        }
        Ok(())
    }
}

/// Whether an error answer is a throttle: HTTP 429, or a throttling code in `x-amzn-ErrorType` or the
/// awsJson body's `__type` (`com.amazonaws…#ThrottlingException` or `ThrottlingException`).
pub fn is_throttle(status: u16, header: Option<&str>, body: Option<&[u8]>) -> bool {
    let code = |raw: &str| {
        let raw = raw.split([':', ',']).next().unwrap_or_default();
        raw.rsplit('#').next().unwrap_or_default().trim().to_owned()
    };
    let from_body = || {
        let value: serde_json::Value = serde_json::from_slice(body?).ok()?;
        value.get("__type").or_else(|| value.get("code")).and_then(|v| v.as_str()).map(code)
    };
    let code = header.map(code).or_else(from_body).unwrap_or_default();
    status == 429 || crate::aws::is_throttling_code(&code)
}

#[cfg(test)]
mod tests;
