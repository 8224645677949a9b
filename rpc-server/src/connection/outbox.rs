//! A connection's outbox: what waits for the writer, counted in bytes against the connection's
//! own cap and the endpoint's outbound budget. Answers go first, in order; then the
//! subscriptions' items, each subscription's in order, the subscriptions taking turns. A
//! subscription that is dropped takes its waiting items out at once.

use std::collections::{HashMap, VecDeque};
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
    answers: VecDeque<Outbound>,
    /// Each subscription's items, by its [`Pending`]'s address.
    items: HashMap<usize, VecDeque<Outbound>>,
    /// The subscriptions with items waiting, in turn.
    turns: VecDeque<usize>,
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
            queue.turns.clear();
            (
                std::mem::take(&mut queue.answers),
                std::mem::take(&mut queue.items),
            )
        };
        for items in dropped.1.values() {
            if let Some(pending) = items.front().and_then(|m| m.subscription.as_ref()) {
                pending.count.fetch_sub(items.len(), Ordering::AcqRel);
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
                answers: VecDeque::new(),
                items: HashMap::new(),
                turns: VecDeque::new(),
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
            match &message.subscription {
                None => queue.answers.push_back(message),
                Some(pending) => {
                    let key = Arc::as_ptr(pending) as usize;
                    let queue = &mut *queue;
                    let items = queue.items.entry(key).or_default();
                    if items.is_empty() {
                        queue.turns.push_back(key);
                    }
                    items.push_back(message);
                }
            }
        }
        self.ready.notify_one();
    }

    /// Whether the connection's queue and the endpoint's budget have room for `bytes` more:
    /// `None` when they do, else whether it is the endpoint's budget that is short.
    fn short(&self, bytes: usize) -> Option<bool> {
        let queue = self.lock();
        if queue.shed {
            return None;
        }
        if queue.bytes + bytes > self.max_bytes {
            return Some(false);
        }
        (!self.budget.fits(bytes)).then_some(true)
    }

    /// Waits until `bytes` more fit, for at most `grace` (`None`: no limit); `false` when they
    /// did not in time.
    pub(super) async fn room(&self, bytes: usize, grace: Option<std::time::Duration>) -> bool {
        let wait = async {
            loop {
                let notified = self.room.notified();
                let mut notified = pin!(notified);
                notified.as_mut().enable();
                match self.short(bytes) {
                    None => return,
                    // This socket's writes free its own room, and wake the waiters.
                    Some(false) => notified.await,
                    // The endpoint's budget frees when any socket writes: look again now and
                    // then.
                    Some(true) => tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
                    },
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

    /// Takes out the waiting items of a dropped subscription.
    pub(super) fn forget(&self, subscription: &Arc<Pending>) {
        let key = Arc::as_ptr(subscription) as usize;
        let removed = {
            let mut queue = self.lock();
            let Some(items) = queue.items.remove(&key) else {
                return;
            };
            queue.bytes -= items.iter().map(|m| m.text.len()).sum::<usize>();
            // At most one turn per subscription, and at most as many as it holds.
            queue.turns.retain(|k| *k != key);
            items
        };
        subscription
            .count
            .fetch_sub(removed.len(), Ordering::AcqRel);
        drop(removed);
        self.room.notify_waiters();
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
                if let Some(message) = queue.pop() {
                    queue.bytes -= message.text.len();
                    let more = !queue.answers.is_empty() || !queue.turns.is_empty();
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

impl Queue {
    /// The next message: an answer, else the item of the subscription whose turn it is.
    fn pop(&mut self) -> Option<Outbound> {
        if let Some(answer) = self.answers.pop_front() {
            return Some(answer);
        }
        while let Some(key) = self.turns.pop_front() {
            let Some(items) = self.items.get_mut(&key) else {
                continue;
            };
            let item = items.pop_front();
            if items.is_empty() {
                self.items.remove(&key);
            } else {
                self.turns.push_back(key);
            }
            if item.is_some() {
                return item;
            }
        }
        None
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
