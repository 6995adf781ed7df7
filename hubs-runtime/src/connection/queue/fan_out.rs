//! The socket writes of a fan-out, done by a few tasks of their own once every delivery is
//! queued (see [`FanOutWrites`]).

use std::sync::Arc;

use tokio::runtime::Handle;

use super::Shared;

/// Queues a task of a fan-out's writes goes through: enough that the tasks cost little
/// against the writes, few enough that a fan-out to thousands is spread over the runtime's
/// workers and no task holds its worker long.
const QUEUES_PER_TASK: usize = 64;

/// The sockets a fan-out has to write to: its deliveries' queues that were empty when the
/// delivery came (a queue already holding something is written by whoever will write that).
///
/// A fan-out queues its message everywhere first and writes afterwards, so that a
/// connection sent several deliveries meanwhile (a burst of broadcasts) gets them in one
/// write. The writes are left to tasks that each take a run of queues, rather than to each
/// connection's own task: waking a task per recipient cost more than the recipient's write
/// (profiles of a broadcast to 1,000, thirty-seventh pass of BENCHMARKS.md). A socket that
/// does not take everything is left to its connection's task, woken as a sender's write
/// would wake it.
///
/// Dropping it starts what is gathered; drop it with no lock held: outside a Tokio runtime
/// the writes are done then, by the dropping thread.
#[derive(Debug, Default)]
pub(crate) struct FanOutWrites {
    queues: Vec<Arc<Shared>>,
}

impl FanOutWrites {
    /// Adds a queue that now holds a delivery and had nothing before.
    pub(super) fn add(&mut self, queue: &Arc<Shared>) {
        if self.queues.capacity() == 0 {
            self.queues.reserve_exact(QUEUES_PER_TASK);
        }
        self.queues.push(Arc::clone(queue));
        if self.queues.len() == QUEUES_PER_TASK
            && let Ok(runtime) = Handle::try_current()
        {
            // The writes can start while the sender still queues: the task runs once the
            // sender yields, or at once on another worker.
            self.start(&runtime);
        }
    }

    /// Hands what is gathered to a task of its own.
    fn start(&mut self, runtime: &Handle) {
        let queues = std::mem::take(&mut self.queues);
        runtime.spawn(async move { write(queues) });
    }
}

impl Drop for FanOutWrites {
    fn drop(&mut self) {
        if self.queues.is_empty() {
            return;
        }
        match Handle::try_current() {
            Ok(runtime) => self.start(&runtime),
            Err(_) => write(std::mem::take(&mut self.queues)),
        }
    }
}

fn write(queues: Vec<Arc<Shared>>) {
    for queue in queues {
        queue.write_burst();
    }
}
