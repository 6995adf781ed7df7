//! One driver process: its share of the connections, opened at the planned pace, kept open
//! (a failed one is reopened), replaced by churn, and counted.

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::LocalSet;
use tokio::time::{Instant, sleep, sleep_until};

use crate::check::Totals;
use crate::link::{Link, Pool};
use crate::plan::{Plan, instant_at, now_ns};
use crate::session::{Ending, Session, Shared};

/// Connect errors printed before going quiet.
const ERRORS_SHOWN: u64 = 5;

/// Runs worker `worker` of `plan` to the end and returns its totals.
pub(crate) fn run(plan: Plan, worker: usize) -> Totals {
    bench::procfs::raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, plan.port));
    let shared = Rc::new(Shared {
        pool: Rc::new(Pool::new(addr)),
        totals: RefCell::new(Totals::default()),
        plan,
        addr,
    });
    let local = LocalSet::new();
    local.block_on(&runtime, async {
        let slots = shared.plan.slots_of(worker);
        let ramp = shared.plan.steady_ns - shared.plan.start_ns;
        let mut churnable = Vec::new();
        let mut tasks = Vec::new();
        for (i, &slot) in slots.iter().enumerate() {
            let churn = Rc::new(Notify::new());
            if !shared.plan.is_announcer(slot) {
                churnable.push(churn.clone());
            }
            let opens_at = shared.plan.start_ns + ramp * i as u64 / slots.len().max(1) as u64;
            let shared = shared.clone();
            tasks.push(tokio::task::spawn_local(async move {
                sleep_until(instant_at(opens_at)).await;
                keep_open(&shared, slot, &churn).await;
            }));
        }
        tokio::task::spawn_local(churn(shared.clone(), churnable, worker as u64));
        for task in tasks {
            let _ = task.await;
        }
    });
    drop(local);
    Rc::try_unwrap(shared)
        .map(|s| s.totals.into_inner())
        .unwrap_or_else(|s| std::mem::take(&mut *s.totals.borrow_mut()))
}

/// Keeps connection `slot` open until the soak ends, reopening it after churn or a failure.
async fn keep_open(shared: &Rc<Shared>, slot: usize, churn: &Notify) {
    let stop = instant_at(shared.plan.stop_ns);
    let mut seed = (slot as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ now_ns();
    while Instant::now() < stop {
        let link = if shared.plan.is_long_polling(slot) {
            Link::long_polling(shared.pool.clone()).await
        } else {
            Link::websocket(shared.addr).await
        };
        let link = match link {
            Ok(link) => link,
            Err(e) => {
                let failures = {
                    let mut totals = shared.totals.borrow_mut();
                    totals.connect_failures += 1;
                    totals.connect_failures
                };
                if failures <= ERRORS_SHOWN {
                    eprintln!("soak: connection {slot} could not open: {e}");
                }
                sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        shared.totals.borrow_mut().opened += 1;
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        match Session::new(shared.clone(), slot, link, seed)
            .run(churn)
            .await
        {
            Ending::Churned => shared.totals.borrow_mut().churned += 1,
            Ending::Finished => return,
            Ending::Failed => sleep(Duration::from_secs(1)).await,
        }
    }
}

/// From steady state to the stop, replaces the planned share of churnable connections per
/// minute, spread over each second.
async fn churn(shared: Rc<Shared>, churnable: Vec<Rc<Notify>>, seed: u64) {
    if churnable.is_empty() {
        return;
    }
    sleep_until(instant_at(shared.plan.steady_ns)).await;
    let stop = instant_at(shared.plan.stop_ns);
    let per_second = churnable.len() as f64 * shared.plan.churn_per_minute / 60.0;
    let mut owed = 0.0;
    let mut rng = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while Instant::now() < stop {
        tick.tick().await;
        owed += per_second;
        while owed >= 1.0 {
            owed -= 1.0;
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            churnable[(rng % churnable.len() as u64) as usize].notify_one();
        }
    }
}
