//! The generated code names everything by absolute path: it compiles in a module without the
//! prelude, and next to user items that shadow prelude and std names.

mod m {
    #![no_implicit_prelude]

    use ::rpc_core::rpc;

    #[derive(::std::fmt::Debug, ::serde::Serialize, ::serde::Deserialize)]
    pub struct Oops;

    impl ::std::fmt::Display for Oops {
        fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
            f.write_str("oops")
        }
    }

    impl ::rpc_core::RpcError for Oops {}

    impl ::std::convert::From<::rpc_core::Error> for Oops {
        fn from(_: ::rpc_core::Error) -> Self {
            Oops
        }
    }

    /// No prelude in sight.
    #[rpc(client_impl, namespace = "bare")]
    pub trait Bare {
        /// A named, optional param.
        #[rpc(params = "named", aliases = ["bare_get"])]
        async fn get(
            &self,
            key: ::std::string::String,
            default: ::std::option::Option<u32>,
        ) -> ::std::result::Result<u32, Oops>;

        /// Variadic.
        async fn sum(&self, #[rpc(variadic)] xs: ::std::vec::Vec<i64>) -> ::core::result::Result<i64, Oops>;

        /// A notification-shaped method still returns a `Result` under `client_impl`.
        async fn ping(&self) -> ::std::result::Result<(), Oops>;
    }

    /// Plain results and notifications, without the prelude.
    #[rpc]
    pub trait Plain {
        /// A value.
        async fn value(&self, x: ::std::option::Option<::std::string::String>) -> ::std::vec::Vec<u8>;

        /// A notification.
        async fn poke(&self, #[rpc(variadic)] xs: ::std::vec::Vec<u8>);
    }
}

mod shadowed {
    #![allow(dead_code)]

    use ::rpc_core::rpc;

    // User items named like what generated code might use unqualified.
    struct Option;
    struct Some;
    struct None;
    struct Ok;
    struct Err;
    struct Vec;
    struct String;
    struct Box;
    trait Send {}
    trait Sync {}
    trait Future {}
    trait Into {}
    trait From {}
    trait Default {}
    trait Clone {}
    trait Debug {}
    mod core {}
    mod std {}
    mod serde {}
    mod rpc_core {}
    mod rpc_client {}
    mod serde_json {}

    /// The user's own `Result` alias.
    type Result<T> = ::core::result::Result<T, ::core::convert::Infallible>;

    /// Shadowed names all around.
    #[rpc]
    pub trait Shadowed {
        /// Params and results that do not mention any shadowed name.
        async fn add(&self, a: i64, b: i64) -> (i64, bool);

        /// A notification.
        async fn note(&self, #[rpc(variadic)] xs: ::std::vec::Vec<u8>);
    }

    struct S;

    impl Shadowed for S {
        async fn add(&self, a: i64, b: i64) -> (i64, bool) {
            (a + b, true)
        }

        async fn note(&self, _xs: ::std::vec::Vec<u8>) {}
    }

    pub(crate) fn server() -> impl ::rpc_core::Service {
        ShadowedServer(S)
    }
}

fn main() {
    let _ = shadowed::server();
    let _ = m::BareClient::new("http://127.0.0.1:1");
    let _ = m::PlainClient::new("http://127.0.0.1:1");
}
