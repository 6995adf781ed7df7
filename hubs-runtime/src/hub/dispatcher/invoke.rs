//! One invocation's way: lookup, authorization, binding, filters, the method, its
//! Completion.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::connection::{LENT_FRAME_ROOM, LentFrame};
use crate::hub::Decision;
use crate::hub::HubInvocation;
use crate::hub::streams::{UploadChannel, UploadItem};
use crate::hub::texts::{self, panic_error};
use crate::hub::{Bindings, Context, Hub, HubError, MethodFuture};
use crate::lifetime::HubConnection;
use crate::protocol::{CompletionOutcome, Encoded, Invocation};
use crate::rare::rare;

use super::{HubDispatcher, lock};

/// A bound invocation, ready to run.
pub(super) struct Call {
    pub(super) future: MethodFuture,
    pub(super) context: Context,
    /// Error texts name the method as the client spelled it.
    pub(super) name: Cow<'static, str>,
    pub(super) streaming: bool,
    /// An async policy still to decide whether the call may run.
    pub(super) authorization: Option<BoxFuture<'static, bool>>,
}

/// The calls of one connection, as its read loop keeps them.
#[derive(Default)]
pub(super) struct Calls {
    /// The invocation slots, made when a call first has to wait: most connections' calls
    /// complete at once and never hold one.
    pub(super) slots: Option<Arc<Semaphore>>,
    /// The invocation waiting for a slot. While there is one the loop reads nothing more, as
    /// ASP.NET Core's does: the client's sends back up into its socket instead of this
    /// server's memory. Boxed: rarely there, and the read loop lives as long as the
    /// connection.
    pub(super) waiting: Option<Box<Call>>,
    /// Made with the first stream: most connections never run one.
    pub(super) running: Option<Running>,
    /// The upload streams still open, by stream id.
    pub(super) uploads: HashMap<String, mpsc::Sender<UploadItem>>,
}

/// How a call holds one of the connection's invocation slots.
pub(super) enum Slot<'a> {
    /// Streams and calls with uploads take none.
    Unlimited,
    /// One is free, and is taken only if the call has to wait: a call that completes at its
    /// first poll never touches the semaphore. The semaphore is made with the first slot
    /// taken (`limit` of them).
    Free {
        slots: &'a mut Option<Arc<Semaphore>>,
        limit: usize,
    },
    /// Taken already: the call waited for it.
    Held(OwnedSemaphorePermit),
}

impl Slot<'_> {
    /// The permit a call that waits keeps until its completion is queued.
    fn take(self) -> Option<OwnedSemaphorePermit> {
        match self {
            Slot::Unlimited => None,
            // Only the read loop takes slots, and it has not taken one since it saw this one
            // free; other tasks only give theirs back.
            Slot::Free { slots, limit } => Some(
                Arc::clone(slots.get_or_insert_with(|| Arc::new(Semaphore::new(limit))))
                    .try_acquire_owned()
                    .expect("a slot seen free is still free"),
            ),
            Slot::Held(permit) => Some(permit),
        }
    }
}

/// Streaming invocations that may still be cancelled, by invocation id.
pub(super) type Running = Arc<Mutex<HashMap<String, CancellationToken>>>;

impl<H: Hub> HubDispatcher<H> {
    /// Binds one invocation and starts it (or queues it for a slot), or answers why it
    /// cannot run.
    pub(super) fn invoke(
        &self,
        context: &Context,
        calls: &mut Calls,
        invocation: &Invocation<'_>,
        streaming: bool,
    ) {
        let connection = context.connection();
        let protocol = connection.protocol();
        let detailed = self.options.enable_detailed_errors;
        let id = invocation.invocation_id.as_deref();
        let target = &*invocation.target;
        // Refusals are the client's doing: debug, and never the arguments' text.
        let fail = |text: String| {
            rare();
            tracing::debug!(hub = self.hub_name, connection_id = %connection.id(), error = %text, "invocation refused");
            if let Some(id) = id {
                deliver(connection, id, CompletionOutcome::error(&text));
            }
        };

        let Some(index) = self.lookup(target) else {
            return fail(texts::unknown_method(target));
        };
        let method = &H::METHODS[index];
        // Refused calls never reach binding or the method (ASP.NET Core checks right after
        // finding the method).
        let rules: [&[crate::hub::AuthorizeRule]; 2] = match method.allow_anonymous {
            true => [&[], &[]],
            false => [H::AUTHORIZE, method.authorize],
        };
        let user = || context.user_arc();
        let authorization =
            match self
                .policies
                .decide(&rules, user, Some(method.name), Some(&invocation.arguments))
            {
                Decision::Allowed => None,
                Decision::Denied => return fail(texts::unauthorized(target)),
                Decision::Pending(decision) => Some(decision),
            };
        if method.streaming != streaming {
            return fail(if streaming {
                texts::streaming_mismatch(target)
            } else {
                texts::non_streaming_mismatch(target)
            });
        }
        if invocation.stream_ids.len() != method.uploads {
            let error = HubError::new(format!(
                "Client sent {} stream(s), Hub method expects {}.",
                invocation.stream_ids.len(),
                method.uploads
            ));
            return fail(texts::invocation_failed(target, &error, detailed));
        }
        if invocation.arguments.len() != method.arguments {
            return fail(texts::argument_count(
                target,
                invocation.arguments.len(),
                method.arguments,
                detailed,
            ));
        }
        if streaming
            && let Some(id) = id
            && calls
                .running
                .as_ref()
                .is_some_and(|running| lock(running).contains_key(id))
        {
            return fail(format!("Invocation ID '{id}' is already in use."));
        }

        let capacity = self.options.stream_buffer_capacity;
        // Most calls upload nothing: no channels, and nothing to add to the uploads.
        let (senders, channels): (Option<Vec<_>>, Vec<_>) = match invocation.stream_ids.is_empty() {
            true => (None, Vec::new()),
            false => {
                let (senders, channels) = invocation
                    .stream_ids
                    .iter()
                    .map(|stream_id| {
                        let (sender, receiver) = mpsc::channel(capacity);
                        (
                            (stream_id.to_string(), sender),
                            UploadChannel { receiver, protocol },
                        )
                    })
                    .unzip();
                (Some(senders), channels)
            }
        };
        // The method's context. A call that completes at its first poll (most do) needs no
        // other; a stream keeps a copy, which shares its cancellation.
        let method_context = context.for_invocation(id, streaming);
        let stream_context = streaming.then(|| method_context.clone());
        let filtered = (!self.filters.is_empty()).then(|| method_context.clone());
        let mut bindings = Bindings::new(&invocation.arguments, channels);
        let future = match H::invoke(&self.hub, index, method_context, &mut bindings) {
            Ok(future) => future,
            Err(error) => {
                // The deserializer's message may quote the argument: only its index is logged.
                tracing::debug!(
                    hub = self.hub_name,
                    method = method.name,
                    connection_id = %connection.id(),
                    argument = error.index,
                    "argument binding failed"
                );
                return fail(texts::argument_types(target, detailed));
            }
        };
        // Filters get their own copy of the arguments; without filters nothing is copied.
        let mut future = match filtered {
            None => future,
            Some(filtered) => {
                let hub = self.hub.clone();
                let call = HubInvocation::new(
                    hub,
                    self.hub_name,
                    filtered,
                    method.name,
                    &invocation.arguments,
                );
                self.filters.around_invocation(call, future)
            }
        };
        if let Some(senders) = senders {
            calls.uploads.extend(senders);
        }
        let policy_pending = authorization.is_some();
        // What the call keeps when it outlives this step.
        let call = |future| Call {
            future,
            context: stream_context.unwrap_or_else(|| context.for_invocation(id, false)),
            name: if target == method.name {
                Cow::Borrowed(method.name)
            } else {
                Cow::Owned(target.to_owned())
            },
            streaming,
            authorization,
        };
        // Streaming calls and calls with uploads take no slot; others run when one is free,
        // and until then the loop reads nothing more.
        let slot = if streaming || method.uploads > 0 {
            Slot::Unlimited
        } else if calls
            .slots
            .as_ref()
            .is_none_or(|s| s.available_permits() > 0)
        {
            Slot::Free {
                slots: &mut calls.slots,
                limit: self.options.maximum_parallel_invocations_per_client,
            }
        } else {
            rare();
            calls.waiting = Some(Box::new(call(future)));
            return;
        };
        let span = self.span(target, id);
        let inline = polls_inline(streaming, policy_pending, &span);
        if inline && self.completes_inline(&mut future, connection, id, target) {
            return;
        }
        self.spawn(call(future), slot, &mut calls.running, span, inline);
    }

    /// Runs a call that waited for its slot, and sends its Completion.
    pub(super) fn start(&self, mut call: Call, slot: Slot<'_>, running: &mut Option<Running>) {
        let span = self.span(&call.name, call.context.invocation_id());
        let inline = polls_inline(call.streaming, call.authorization.is_some(), &span);
        let connection = call.context.connection();
        let id = call.context.invocation_id();
        if inline && self.completes_inline(&mut call.future, connection, id, &call.name) {
            // The slot it holds is given back now, after its completion was queued.
            return;
        }
        self.spawn(call, slot, running, span, inline)
    }

    /// A span per invocation for debugging (disabled, and free, below debug level).
    fn span(&self, name: &str, id: Option<&str>) -> tracing::Span {
        tracing::debug_span!(
            "invocation",
            hub = self.hub_name,
            method = %name,
            invocation_id = id.unwrap_or_default(),
            outcome = tracing::field::Empty,
            duration_us = tracing::field::Empty,
        )
    }

    /// Polls a call once, without a task, and sends its Completion if it finished. One that
    /// waits moves to its own task (see [`spawn`](Self::spawn)), whose first poll registers
    /// the task's waker in place of this no-op one.
    fn completes_inline(
        &self,
        future: &mut MethodFuture,
        connection: &HubConnection,
        id: Option<&str>,
        name: &str,
    ) -> bool {
        let mut first = std::task::Context::from_waker(std::task::Waker::noop());
        let outcome =
            match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut first))) {
                Ok(Poll::Pending) => return false,
                Ok(Poll::Ready(outcome)) => Ok(outcome),
                Err(panic) => Err(panic),
            };
        let detailed = self.options.enable_detailed_errors;
        let call = (self.hub_name, name);
        completion(connection, id, call, None, Some(outcome), detailed, deliver);
        true
    }

    /// Runs a call as its own task, sending its Completion when it ends. `polled`: it was
    /// polled once already ([`polls_inline`]).
    fn spawn(
        &self,
        call: Call,
        slot: Slot<'_>,
        running: &mut Option<Running>,
        span: tracing::Span,
        polled: bool,
    ) {
        let detailed = self.options.enable_detailed_errors;
        // Only a stream can be cancelled by the client, and only a stream is tracked as running.
        let (cancel, running) = match call.streaming {
            true => (
                call.context.cancel_token().cloned(),
                Some(Arc::clone(running.get_or_insert_with(Running::default))),
            ),
            false => (None, None),
        };
        if let (Some(id), Some(cancel), Some(running)) =
            (call.context.invocation_id(), &cancel, &running)
        {
            lock(running).insert(id.to_owned(), cancel.clone());
        }
        let hub = self.hub_name;
        let started = (!span.is_disabled()).then(std::time::Instant::now);
        let Call {
            future,
            context,
            name,
            streaming,
            authorization,
        } = call;
        let future = AssertUnwindSafe(future).catch_unwind();
        let traced = started.is_some().then(|| span.clone());
        let permit = slot.take();
        let task = async move {
            // The slot is held until the completion is queued, so a call that waited for it
            // is answered after the one before it.
            let _slot = permit;
            if let Some(decision) = authorization
                && !decision.await
            {
                // The method never runs: its future is dropped unpolled.
                let text = texts::unauthorized(&name);
                let connection = context.connection();
                if let Some(id) = context.invocation_id() {
                    deliver(connection, id, CompletionOutcome::error(&text));
                }
                tracing::debug!(hub, method = %name, connection_id = %context.connection_id(), "invocation refused: unauthorized");
                span.record("outcome", "unauthorized");
                if let (Some(id), Some(running)) = (context.invocation_id(), &running) {
                    lock(running).remove(id);
                }
                return;
            }
            let outcome = match (&cancel, streaming) {
                // A cancelled stream stops at once: its producer is dropped. The method is
                // polled first, so it starts even when the client cancelled right after
                // invoking, and sees its cancellation (ASP.NET Core runs the method before it
                // reads the CancelInvocation).
                (Some(cancel), true) => tokio::select! {
                    biased;
                    outcome = future => Some(outcome),
                    _ = cancel.cancelled() => None,
                },
                _ => Some(future.await),
            };
            if let (Some(id), Some(running)) = (context.invocation_id(), &running) {
                lock(running).remove(id);
            }
            if let Some(started) = started {
                let ended = match &outcome {
                    None => "cancelled",
                    Some(Ok(Ok(_))) => "completed",
                    Some(_) => "failed",
                };
                span.record("outcome", ended);
                span.record("duration_us", started.elapsed().as_micros() as u64);
            }
            let connection = context.connection();
            let id = context.invocation_id();
            if !streaming {
                completion(
                    connection,
                    id,
                    (hub, &name),
                    None,
                    outcome,
                    detailed,
                    deliver,
                );
                return;
            }
            let write = |connection: &HubConnection, id: &str, outcome: CompletionOutcome<'_>| {
                connection.protocol().write_completion(id, outcome)
            };
            let stream_started = Some(context.stream_started());
            if let Some(frame) = completion(
                connection,
                id,
                (hub, &name),
                stream_started,
                outcome,
                detailed,
                write,
            ) {
                // After the items, which may still be waiting for room in the queue.
                context.connection().deliver_own_paced(frame).await;
            }
        };
        let mut task: BoxFuture<'static, ()> = match traced {
            Some(span) => Box::pin(task.instrument(span)),
            None => Box::pin(task),
        };
        if !streaming && !polled {
            // A call not polled where it started (a policy to decide, a trace) takes no task
            // either when it finishes at its first poll.
            let mut first = std::task::Context::from_waker(std::task::Waker::noop());
            if task.as_mut().poll(&mut first).is_ready() {
                return;
            }
        }
        tokio::spawn(task);
    }
}

/// Whether a call is polled once where it is started, before it takes a task: not a stream,
/// no policy still to decide, and not traced (a traced call runs inside its span).
fn polls_inline(streaming: bool, policy_pending: bool, span: &tracing::Span) -> bool {
    !streaming && !policy_pending && span.is_disabled()
}

/// What a finished invocation sends: its Completion (none for a call without an id), after
/// logging a failure, made by `send`. `stream_started` is `None` for a call that is not a
/// stream, and `outcome` is `None` for a cancelled stream.
fn completion<R>(
    connection: &HubConnection,
    id: Option<&str>,
    (hub, name): (&str, &str),
    stream_started: Option<bool>,
    outcome: Option<std::thread::Result<Result<Encoded, HubError>>>,
    detailed: bool,
    send: impl FnOnce(&HubConnection, &str, CompletionOutcome<'_>) -> R,
) -> Option<R> {
    let result = match outcome {
        None => Ok(Encoded::default()),
        Some(outcome) => outcome.unwrap_or_else(|panic| Err(panic_error(&*panic))),
    };
    if let Err(error) = &result {
        // The error as the method (or a filter) made it; never the arguments.
        tracing::error!(hub, method = %name, connection_id = %connection.id(), %error, "hub method failed");
    }
    let sent = match result {
        Ok(_) if stream_started.is_some() => send(connection, id?, CompletionOutcome::Empty),
        Ok(value) => send(connection, id?, CompletionOutcome::Result(&value)),
        Err(error) => {
            let text = if stream_started == Some(true) {
                texts::streaming_failed(&error, detailed)
            } else {
                texts::invocation_failed(name, &error, detailed)
            };
            send(connection, id?, CompletionOutcome::error(&text))
        }
    };
    Some(sent)
}

/// Sends a Completion written into this thread's buffer, so that one the socket takes at once
/// needs no allocation of its own.
fn deliver(connection: &HubConnection, id: &str, outcome: CompletionOutcome<'_>) {
    thread_local! {
        static COMPLETION: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    /// A larger buffer is not kept for the next Completion.
    const KEPT: usize = 4096;
    // Taken out while in use, so that a send made meanwhile (a tracing subscriber's) finds
    // an empty buffer rather than a borrowed one.
    let mut buffer = COMPLETION.take();
    // With room before it for the transport's header, which then need not be sent apart.
    let start =
        connection
            .protocol()
            .write_completion_in(&mut buffer, LENT_FRAME_ROOM, id, outcome);
    connection.deliver_lent(LentFrame::new(&mut buffer, start));
    if buffer.capacity() <= KEPT {
        COMPLETION.set(buffer);
    }
}
