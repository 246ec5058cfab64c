//! Pacing under throttling: an adaptive (AIMD) limiter per operation family, so that a large enforcement
//! slows down when SageMaker answers `ThrottlingException` instead of turning into a storm of retries.
//!
//! In: calls to pace ([`Limiter::run`]) and the throttled attempts the SDK saw ([`ThrottleSignal`], an
//! interceptor on the SageMaker client, reports every throttled attempt, the ones the SDK retried included).
//! Out: the calls' own results; a throttled call is issued again under the limiter (a throttled call was not
//! carried out, so issuing it again acts once), up to [`ROUNDS`] times.
//!
//! The arithmetic ([`Aimd`]) is pure and takes the time as an argument. Above one call in flight it is AIMD on
//! concurrency: starting from the policy's `concurrency`, +1 per window of `limit` clean successes up to that
//! maximum, halved (min 1) on a throttle, then a [`PAUSE`]. At one call in flight a fast service can still be
//! called faster than its rate (concurrency / latency), so it goes on as AIMD on the spacing between calls:
//! doubled on a throttle (from [`FIRST_GAP`] up to [`MAX_GAP`]), shortened by a sixteenth per clean success,
//! and gone below [`MIN_GAP`] (then concurrency grows again). Throttles of calls sent before the last decrease
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

/// How long a limiter waits after a throttle that halved its concurrency.
pub const PAUSE: Duration = Duration::from_millis(100);
/// The spacing between calls after the first throttle at one call in flight.
pub const FIRST_GAP: Duration = Duration::from_millis(50);
/// Below this spacing the limiter stops spacing calls (and may raise its concurrency again).
pub const MIN_GAP: Duration = Duration::from_millis(5);
/// The longest spacing between calls (one call every 2 s).
pub const MAX_GAP: Duration = Duration::from_secs(2);
/// How many times one call is issued while it is throttled before its throttle is the caller's error.
pub const ROUNDS: u32 = 8;

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
}

impl Aimd {
    /// A limiter starting (and capped) at `max` calls in flight (at least 1).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self { max, limit: max, in_flight: 0, epoch: 0, window: 0, gap: Duration::ZERO, next_at: None }
    }

    /// The calls allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The spacing between calls now (zero: not spacing).
    pub fn gap(&self) -> Duration {
        self.gap
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
            self.next_at = Some(now + PAUSE);
        } else {
            self.gap = if self.gap.is_zero() { FIRST_GAP } else { (self.gap * 2).min(MAX_GAP) };
            self.next_at = Some(now + self.gap);
        }
        true
    }

    /// A call ended and gave its slot back; `clean`: it succeeded without any throttled attempt.
    pub fn release(&mut self, clean: bool) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if !clean {
            return;
        }
        self.window += 1;
        if self.window < self.limit {
            return;
        }
        self.window = 0;
        if !self.gap.is_zero() {
            self.gap -= self.gap / 16;
            if self.gap < MIN_GAP {
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
}

impl Limiter {
    /// A limiter starting (and capped) at `max` calls in flight.
    pub fn new(max: usize) -> Self {
        Self { state: Mutex::new(Aimd::new(max)), released: Notify::new(), throttled: AtomicU64::new(0) }
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
    /// call throttled in the end again (up to [`ROUNDS`] times; then its throttle is returned).
    pub async fn run<T, F, Fut>(self: &Arc<Self>, mut call: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let mut round = 1;
        loop {
            let slot = self.acquire().await;
            let result = PACED.scope(slot.clone(), call()).await;
            let throttled = matches!(result, Err(AwsError::Throttled { .. }));
            if throttled && slot.seen.load(Ordering::Relaxed) == 0 {
                // NOTE: a client without the ThrottleSignal interceptor (tests' mocks) shows only the last throttle.
                slot.throttle();
            }
            slot.release(result.is_ok() && slot.seen.load(Ordering::Relaxed) == 0);
            match result {
                Err(AwsError::Throttled { .. }) if round < ROUNDS => round += 1,
                other => return other,
            }
        }
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

    fn release(&self, clean: bool) {
        if self.done.swap(1, Ordering::Relaxed) == 0 {
            self.limiter.lock().release(clean);
            self.limiter.released.notify_waiters();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // NOTE: a call dropped before it ended (cancelled) still gives its slot back.
        self.release(false);
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
    limiters: Mutex<HashMap<String, Arc<Limiter>>>,
}

impl Pacer {
    /// Limiters that start (and are capped) at `max` calls in flight.
    pub fn new(max: usize) -> Self {
        Self { max, limiters: Mutex::new(HashMap::new()) }
    }

    /// The limiter of `family` (made on first use).
    pub fn limiter(&self, family: &str) -> Arc<Limiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        limiters.entry(family.to_owned()).or_insert_with(|| Arc::new(Limiter::new(self.max))).clone()
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
