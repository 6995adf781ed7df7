//! The replies to a client's burst of calls, sent together.
//!
//! A read that brings several messages (a client that pipelines its calls) would otherwise
//! answer each with a write of its own. What the connection is sent while they are handled
//! (their Completions, and whatever else comes meanwhile, in order) is held and leaves in one
//! write for every [`BATCH`] messages, so that the first reply waits for a few calls at most,
//! never for the whole read.

use crate::lifetime::HubConnection;

/// Messages whose replies leave in one write.
const BATCH: u32 = 16;

/// Where the batch of the messages at hand stands.
#[derive(Default)]
pub(super) struct Batch {
    open: bool,
    /// Messages handled since the batch began.
    messages: u32,
}

impl Batch {
    /// Before a message is handled; `more`: the read holds more after it.
    #[inline]
    pub(super) fn next_message(&mut self, connection: &HubConnection, more: bool) {
        if self.open && self.messages == BATCH {
            self.end(connection);
        }
        if !self.open && more {
            connection.begin_batch();
            self.open = true;
            self.messages = 0;
        }
        self.messages += u32::from(self.open);
    }

    /// Sends what is held, once the messages at hand are handled or before the loop waits.
    #[inline]
    pub(super) fn end(&mut self, connection: &HubConnection) {
        if self.open {
            connection.end_batch();
            self.open = false;
        }
    }
}
