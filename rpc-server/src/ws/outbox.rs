//! A connection's outbox: what waits for the writer, in order, counted in bytes against the
//! connection's own cap and the endpoint's outbound budget. A subscription that ends takes its
//! waiting items out at once.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, OwnedSemaphorePermit};

use crate::budget::{Budget, Held, Holder};

/// One message for the writer.
pub(super) struct Outbound {
    pub(super) text: Vec<u8>,
    /// Its subscription, when it is an item.
    pub(super) subscription: Option<Arc<Pending>>,
    /// The call slot its answer holds until it is written.
    _permit: Option<OwnedSemaphorePermit>,
    _held: Held,
}

/// A subscription's items queued and not written yet.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) count: AtomicUsize,
    /// Signalled each time one is written.
    pub(super) written: Notify,
}

/// What the writer takes next.
pub(super) enum Next {
    /// A message, and whether more wait behind it.
    Message(Outbound, bool),
    /// Every producer is gone and the queue is empty: close, with this code if any.
    End(Option<(u16, &'static str)>),
    /// The budget shed this connection: close at once.
    Shed,
}

struct Queue {
    messages: VecDeque<Outbound>,
    bytes: usize,
    /// Producers alive: the reader, call tasks, subscription pumps.
    senders: usize,
    /// The close code the reader asks for (a protocol error), sent once the queue is empty.
    close: Option<(u16, &'static str)>,
    shed: bool,
}

pub(super) struct Outbox {
    queue: Mutex<Queue>,
    /// Wakes the writer.
    ready: Notify,
    /// Wakes those waiting for room.
    room: Notify,
    max_bytes: usize,
    budget: Arc<Budget>,
}

impl Holder for Outbox {
    fn held(&self) -> usize {
        self.lock().bytes
    }

    fn shed(&self) {
        let dropped = {
            let mut queue = self.lock();
            queue.shed = true;
            queue.bytes = 0;
            std::mem::take(&mut queue.messages)
        };
        for message in &dropped {
            if let Some(pending) = &message.subscription {
                pending.count.fetch_sub(1, Ordering::AcqRel);
            }
        }
        drop(dropped);
        self.ready.notify_waiters();
        self.room.notify_waiters();
    }
}

impl Outbox {
    pub(super) fn new(max_bytes: usize, budget: Arc<Budget>) -> Self {
        Outbox {
            queue: Mutex::new(Queue {
                messages: VecDeque::new(),
                bytes: 0,
                senders: 0,
                close: None,
                shed: false,
            }),
            ready: Notify::new(),
            room: Notify::new(),
            max_bytes,
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Every change is a push, a pop or a retain: a panic leaves the queue whole.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A producer: the writer ends once every one is dropped and the queue is empty.
    pub(super) fn sender(self: &Arc<Self>) -> Sender {
        self.lock().senders += 1;
        Sender(self.clone())
    }

    /// Queues a call's answer: always taken (the call ran), past the caps if need be.
    pub(super) fn answer(&self, text: Vec<u8>, permit: Option<OwnedSemaphorePermit>) {
        let held = self.budget.hold(text.len());
        self.push(Outbound {
            text,
            subscription: None,
            _permit: permit,
            _held: held,
        });
    }

    /// Queues a subscription's item or last notification, which was given room.
    pub(super) fn item(&self, text: Vec<u8>, subscription: Option<Arc<Pending>>) {
        let held = self.budget.hold(text.len());
        if let Some(pending) = &subscription {
            pending.count.fetch_add(1, Ordering::AcqRel);
        }
        self.push(Outbound {
            text,
            subscription,
            _permit: None,
            _held: held,
        });
    }

    fn push(&self, message: Outbound) {
        {
            let mut queue = self.lock();
            if queue.shed {
                return;
            }
            queue.bytes += message.text.len();
            queue.messages.push_back(message);
        }
        self.ready.notify_one();
    }

    /// Whether the connection's queue and the endpoint's budget have room for `bytes` more.
    fn has_room(&self, bytes: usize) -> bool {
        let queue = self.lock();
        queue.shed || (queue.bytes + bytes <= self.max_bytes && self.budget.fits(bytes))
    }

    /// Waits until `bytes` more fit, for at most `grace` (`None`: no limit); `false` when they
    /// did not in time.
    pub(super) async fn room(&self, bytes: usize, grace: Option<std::time::Duration>) -> bool {
        let wait = async {
            loop {
                let notified = self.room.notified();
                let mut notified = pin!(notified);
                notified.as_mut().enable();
                if self.has_room(bytes) {
                    return;
                }
                // The endpoint's budget frees when any socket writes: look again now and then.
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
                }
            }
        };
        match grace {
            Some(grace) => tokio::time::timeout(grace, wait).await.is_ok(),
            None => {
                wait.await;
                true
            }
        }
    }

    /// Takes out the waiting items of an ended subscription.
    pub(super) fn forget(&self, subscription: &Arc<Pending>) {
        let removed = {
            let mut queue = self.lock();
            let before = queue.messages.len();
            let mut freed = 0;
            queue.messages.retain(|m| {
                let mine = m
                    .subscription
                    .as_ref()
                    .is_some_and(|p| Arc::ptr_eq(p, subscription));
                if mine {
                    freed += m.text.len();
                }
                !mine
            });
            queue.bytes -= freed;
            before - queue.messages.len()
        };
        if removed > 0 {
            subscription.count.fetch_sub(removed, Ordering::AcqRel);
            self.room.notify_waiters();
        }
    }

    /// Asks the writer to close with `code` once everything queued is written.
    pub(super) fn close_with(&self, code: u16, reason: &'static str) {
        self.lock().close.get_or_insert((code, reason));
    }

    /// The writer's next message.
    pub(super) async fn next(&self) -> Next {
        loop {
            let notified = self.ready.notified();
            let mut notified = pin!(notified);
            notified.as_mut().enable();
            {
                let mut queue = self.lock();
                if queue.shed {
                    return Next::Shed;
                }
                if let Some(message) = queue.messages.pop_front() {
                    queue.bytes -= message.text.len();
                    let more = !queue.messages.is_empty();
                    drop(queue);
                    self.room.notify_waiters();
                    return Next::Message(message, more);
                }
                if queue.senders == 0 {
                    return Next::End(queue.close);
                }
            }
            notified.await;
        }
    }
}

/// A producer's hold on the outbox.
pub(super) struct Sender(Arc<Outbox>);

impl std::ops::Deref for Sender {
    type Target = Arc<Outbox>;
    fn deref(&self) -> &Arc<Outbox> {
        &self.0
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let last = {
            let mut queue = self.0.lock();
            queue.senders -= 1;
            queue.senders == 0
        };
        if last {
            self.0.ready.notify_one();
        }
    }
}
