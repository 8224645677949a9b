//! The names generated clients use (see the module's docs in `lib.rs`), and the probes through
//! which they call: as in `rpc_core`'s private module, each call goes through a probe whose
//! real impl carries the client's bounds and whose fallback has none, so that a type that
//! cannot cross the wire is reported once, by the macro's check on the user's type, and not
//! again at every call. A fallback never runs in a program that builds; if one ever did, it
//! fails the call with [`Error::Request`] rather than panicking.

use std::future::Future;
use std::marker::PhantomData;

use rpc_core::params::{Named, Positional};
use rpc_core::{CallError, Error, MethodError};
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

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

/// A method's arguments sent by position, owned: a generated method moves its arguments into
/// this and hands it to the call's future (`call_owned`), so that the method is a plain function
/// returning the runtime's future: one compiled future for each signature, shared by every method
/// with that signature, rather than one state machine per method. Serializes as [`Positional`]
/// over references to the arguments.
pub struct ByPosition<T>(pub T);

/// A method's arguments sent by name, owned (see [`ByPosition`]); serializes as [`Named`].
pub struct ByName<T>(pub T, pub &'static [&'static str]);

macro_rules! owned_params {
    ($($idx:tt $T:ident),+) => {
        impl<$($T: Serialize),+> Serialize for ByPosition<($($T,)+)> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                Positional(($(&self.0.$idx,)+)).serialize(s)
            }
        }

        impl<$($T: Serialize),+> Serialize for ByName<($($T,)+)> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                Named(($(&self.0.$idx,)+), self.1).serialize(s)
            }
        }
    };
}

owned_params!(0 T0);
owned_params!(0 T0, 1 T1);
owned_params!(0 T0, 1 T1, 2 T2);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11);
owned_params!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12);
owned_params!(
    0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13
);
owned_params!(
    0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13,
    14 T14
);
owned_params!(
    0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13,
    14 T14, 15 T15
);

// The impls above cover every arity the macro accepts.
const _: () = assert!(rpc_core::params::MAX_PARAMS == 16);

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
    /// See [`Client::call`]; `params` belong to the returned future.
    fn call_owned<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<P>,
    ) -> impl Future<Output = Result<R, Error>> + use<'a, Self, R, P>
    where
        R: 'a,
        P: Sized + 'a;
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

    fn call_owned<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<P>,
    ) -> impl Future<Output = Result<R, Error>> + use<'a, R, P>
    where
        R: 'a,
        P: Sized + 'a,
    {
        async move { client.call(method, params.as_ref()).await }
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
    fn call_owned<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<P>,
    ) -> impl Future<Output = Result<R, Error>> + use<'a, Self, R, P>
    where
        R: 'a,
        P: Sized + 'a;
    /// Never runs in a program that builds.
    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>) -> Slot<R>;
}

impl<'p, R, P: ?Sized> UntypedFallback<R, P> for &'p Probe<R, (), P> {
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

    fn call_owned<'a>(
        &self,
        _: &'a Client,
        _: Method<'a>,
        _: Option<P>,
    ) -> impl Future<Output = Result<R, Error>> + use<'a, 'p, R, P>
    where
        R: 'a,
        P: Sized + 'a,
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
    /// See [`Client::call_typed`]; `params` belong to the returned future.
    fn call_owned<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<P>,
    ) -> impl Future<Output = Result<R, CallError<E>>> + use<'a, Self, R, E, P>
    where
        R: 'a,
        E: 'a,
        P: Sized + 'a;
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

    fn call_owned<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<P>,
    ) -> impl Future<Output = Result<R, CallError<E>>> + use<'a, R, E, P>
    where
        R: 'a,
        E: 'a,
        P: Sized + 'a,
    {
        async move { client.call_typed(method, params.as_ref()).await }
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
    fn call_owned<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<P>,
    ) -> impl Future<Output = Result<R, CallError<E>>> + use<'a, Self, R, E, P>
    where
        R: 'a,
        E: 'a,
        P: Sized + 'a;
    /// Never runs in a program that builds.
    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>) -> TypedSlot<R, E>;
}

impl<'p, R, E, P: ?Sized> TypedFallback<R, E, P> for &'p Probe<R, E, P> {
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

    fn call_owned<'a>(
        &self,
        _: &'a Client,
        _: Method<'a>,
        _: Option<P>,
    ) -> impl Future<Output = Result<R, CallError<E>>> + use<'a, 'p, R, E, P>
    where
        R: 'a,
        E: 'a,
        P: Sized + 'a,
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
    /// See [`Client::notify`]; `params` belong to the returned future.
    fn notify_owned<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<P>,
    ) -> impl Future<Output = Result<(), Error>> + use<'a, Self, P>
    where
        P: Sized + 'a;
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

    fn notify_owned<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<P>,
    ) -> impl Future<Output = Result<(), Error>> + use<'a, P>
    where
        P: Sized + 'a,
    {
        async move { client.notify(method, params.as_ref()).await }
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
    fn notify_owned<'a>(
        &self,
        client: &'a Client,
        method: Method<'a>,
        params: Option<P>,
    ) -> impl Future<Output = Result<(), Error>> + use<'a, Self, P>
    where
        P: Sized + 'a;
    /// Never runs in a program that builds.
    fn queue(&self, batch: &mut Batch, method: Method<'_>, params: Option<&P>);
}

impl<'p, P: ?Sized> NotifyFallback<P> for &'p Probe<(), (), P> {
    fn notify<'a>(
        &self,
        _: &'a Client,
        _: Method<'a>,
        _: Option<&'a P>,
    ) -> impl Future<Output = Result<(), Error>> + 'a {
        std::future::ready(Err(Error::Request(UNBUILDABLE.into())))
    }

    fn notify_owned<'a>(
        &self,
        _: &'a Client,
        _: Method<'a>,
        _: Option<P>,
    ) -> impl Future<Output = Result<(), Error>> + use<'a, 'p, P>
    where
        P: Sized + 'a,
    {
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
