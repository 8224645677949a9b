//! The names generated clients use (see the module's docs in `lib.rs`), and the probes through
//! which they call: as in `rpc_core`'s private module, each call goes through a probe whose
//! real impl carries the client's bounds and whose fallback has none, so that a type that
//! cannot cross the wire is reported once, by the macro's check on the user's type, and not
//! again at every call. A fallback never runs in a program that builds; if one ever did, it
//! fails the call with [`Error::Request`] rather than panicking.

use std::future::Future;
use std::marker::PhantomData;

use rpc_core::{CallError, Error, MethodError};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::{
    Batch, BatchResponse, Client, ClientBuilder, Method, Slot, Subscription, TypedSlot,
};

/// A call whose result is `R`, error `E` (`()` for none) and params `P`.
pub struct Probe<R, E, P: ?Sized>(PhantomData<Types<R, E, P>>);

/// The types a [`Probe`] stands for, owning none of them.
type Types<R, E, P> = fn() -> (R, E, PhantomData<P>);

// Built only by generated code, in a const-like position; `Default` would be one more name
// in the contract for nothing.
#[allow(clippy::new_without_default)]
impl<R, E, P: ?Sized> Probe<R, E, P> {
    /// A probe for a call of these types.
    pub const fn new() -> Self {
        Probe(PhantomData)
    }
}

const UNBUILDABLE: &str = "a method's types cannot cross the wire";

/// Calls of a method without its own error type.
pub trait Untyped<R, P: ?Sized> {
    /// See [`Client::call`].
    fn call<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<R, Error>> + 'a
    where
        R: 'a;
    /// See [`Batch::call`].
    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>) -> Slot<R>;
}

impl<R: DeserializeOwned, P: Serialize + ?Sized> Untyped<R, P> for Probe<R, (), P> {
    fn call<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<R, Error>> + 'a
    where
        R: 'a,
    {
        client.call(method, params)
    }

    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>) -> Slot<R> {
        batch.call(method, params)
    }
}

/// The fallback of [`Untyped`].
pub trait UntypedFallback<R, P: ?Sized> {
    /// Never runs in a program that builds.
    fn call<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<R, Error>> + 'a
    where
        R: 'a;
    /// Never runs in a program that builds.
    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>) -> Slot<R>;
}

impl<R, P: ?Sized> UntypedFallback<R, P> for &Probe<R, (), P> {
    fn call<'a>(
        &self,
        _: &'a Client,
        _: Method<'a>,
        _: Option<&'a P>,
    ) -> impl Future<Output = Result<R, Error>> + 'a
    where
        R: 'a,
    {
        std::future::ready(Err(Error::Request(UNBUILDABLE.into())))
    }

    fn queue(&self, batch: &mut Batch, _: Method<'_>, _: Option<&P>) -> Slot<R> {
        Slot::failed(batch, UNBUILDABLE)
    }
}

/// Calls of a method with its own error type `E`.
pub trait Typed<R, E, P: ?Sized> {
    /// See [`Client::call_typed`].
    fn call<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<R, CallError<E>>> + 'a
    where
        R: 'a,
        E: 'a;
    /// See [`Batch::call_typed`].
    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>) -> TypedSlot<R, E>;
}

impl<R: DeserializeOwned, E: MethodError, P: Serialize + ?Sized> Typed<R, E, P> for Probe<R, E, P> {
    fn call<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<R, CallError<E>>> + 'a
    where
        R: 'a,
        E: 'a,
    {
        client.call_typed(method, params)
    }

    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>) -> TypedSlot<R, E> {
        batch.call_typed(method, params)
    }
}

/// The fallback of [`Typed`].
pub trait TypedFallback<R, E, P: ?Sized> {
    /// Never runs in a program that builds.
    fn call<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<R, CallError<E>>> + 'a
    where
        R: 'a,
        E: 'a;
    /// Never runs in a program that builds.
    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>) -> TypedSlot<R, E>;
}

impl<R, E, P: ?Sized> TypedFallback<R, E, P> for &Probe<R, E, P> {
    fn call<'a>(
        &self,
        _: &'a Client,
        _: Method<'a>,
        _: Option<&'a P>,
    ) -> impl Future<Output = Result<R, CallError<E>>> + 'a
    where
        R: 'a,
        E: 'a,
    {
        std::future::ready(Err(CallError::Call(Error::Request(UNBUILDABLE.into()))))
    }

    fn queue(&self, batch: &mut Batch, _: Method<'_>, _: Option<&P>) -> TypedSlot<R, E> {
        TypedSlot::failed(batch, UNBUILDABLE)
    }
}

/// Notifications.
pub trait Notify<P: ?Sized> {
    /// See [`Client::notify`].
    fn notify<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<(), Error>> + 'a;
    /// See [`Batch::notify`].
    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>);
}

impl<P: Serialize + ?Sized> Notify<P> for Probe<(), (), P> {
    fn notify<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<(), Error>> + 'a {
        client.notify(method, params)
    }

    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>) {
        batch.notify(method, params)
    }
}

/// The fallback of [`Notify`].
pub trait NotifyFallback<P: ?Sized> {
    /// Never runs in a program that builds.
    fn notify<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<(), Error>> + 'a;
    /// Never runs in a program that builds.
    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>);
}

impl<P: ?Sized> NotifyFallback<P> for &Probe<(), (), P> {
    fn notify<'a>(
        &self,
        _: &'a Client,
        _: Method<'a>,
        _: Option<&'a P>,
    ) -> impl Future<Output = Result<(), Error>> + 'a {
        std::future::ready(Err(Error::Request(UNBUILDABLE.into())))
    }

    fn queue(&self, batch: &mut Batch, _: Method<'_>, _: Option<&P>) {
        batch.fail(UNBUILDABLE);
    }
}

/// Subscriptions (`#[rpc(subscription = ...)]` methods): items `T`, error `E`, params `P`.
pub trait Subscribe<T, E, P: ?Sized> {
    /// See [`Client::subscribe`].
    fn subscribe<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        notification: &'static str,
        unsubscribe: &'static str,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<Subscription<T, E>, CallError<E>>> + 'a
    where
        T: 'a,
        E: 'a;
}

impl<T: DeserializeOwned, E: MethodError, P: Serialize + ?Sized> Subscribe<T, E, P>
    for Probe<T, E, P>
{
    fn subscribe<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        notification: &'static str,
        unsubscribe: &'static str,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<Subscription<T, E>, CallError<E>>> + 'a
    where
        T: 'a,
        E: 'a,
    {
        client.subscribe(method, notification, unsubscribe, params)
    }
}

/// The fallback of [`Subscribe`].
pub trait SubscribeFallback<T, E, P: ?Sized> {
    /// Never runs in a program that builds.
    fn subscribe<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        notification: &'static str,
        unsubscribe: &'static str,
        params: Option<&'a P>,
    ) -> impl Future<Output = Result<Subscription<T, E>, CallError<E>>> + 'a
    where
        T: 'a,
        E: 'a;
}

impl<T, E, P: ?Sized> SubscribeFallback<T, E, P> for &Probe<T, E, P> {
    fn subscribe<'a>(
        &self,
        _: &'a Client,
        _: Method<'a>,
        _: &'static str,
        _: &'static str,
        _: Option<&'a P>,
    ) -> impl Future<Output = Result<Subscription<T, E>, CallError<E>>> + 'a
    where
        T: 'a,
        E: 'a,
    {
        std::future::ready(Err(CallError::Call(Error::Request(UNBUILDABLE.into()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expression the macro generates for a subscription method picks the real impl when
    /// the types can cross the wire, and the fallback when they cannot.
    // The borrow is what generated code writes: it makes the fallback's `&Probe` impl a match.
    #[allow(clippy::needless_borrow)]
    #[tokio::test]
    async fn the_generated_subscribe_call_resolves_to_the_client() {
        // Both in scope, as in generated code.
        use super::{Subscribe as _, SubscribeFallback as _};
        let client = Client::new("http://127.0.0.1:9/rpc").unwrap();
        let params = (1u64, 2u32);
        let real = (&Probe::<u64, rpc_core::ErrorObject, (u64, u32)>::new())
            .subscribe(
                &client,
                Method::new("subscribe_counter"),
                "counter",
                "unsubscribe_counter",
                Some(&params),
            )
            .await;
        let Err(CallError::Call(Error::Request(why))) = real else {
            panic!("{real:?}");
        };
        assert!(why.contains("need a ws:// URL"), "{why}");

        /// Neither serializes nor deserializes.
        #[derive(Debug)]
        struct Opaque;
        let fallback = (&Probe::<Opaque, rpc_core::ErrorObject, Opaque>::new())
            .subscribe(&client, Method::new("s"), "n", "u", Some(&Opaque))
            .await;
        let Err(CallError::Call(Error::Request(why))) = fallback else {
            panic!("{fallback:?}");
        };
        assert_eq!(why, UNBUILDABLE);
    }
}
