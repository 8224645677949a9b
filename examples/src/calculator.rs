//! The calculator service: plain functions made remote.

use rpc_core::{RpcError, rpc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a calculation has no answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum MathError {
    /// The equation has no real roots.
    NoRealRoots {
        /// The discriminant `b*b - 4*a*c`, which is negative.
        discriminant: f64,
    },
    /// `a` is zero: the equation is not quadratic.
    NotQuadratic,
    /// The sum does not fit in 64 bits.
    Overflow,
}

impl std::fmt::Display for MathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MathError::NoRealRoots { discriminant } => {
                write!(
                    f,
                    "math domain error: no real roots (discriminant {discriminant})"
                )
            }
            MathError::NotQuadratic => f.write_str("math domain error: `a` must not be zero"),
            MathError::Overflow => f.write_str("overflow"),
        }
    }
}

impl std::error::Error for MathError {}

impl RpcError for MathError {
    fn code(&self) -> i64 {
        match self {
            MathError::NoRealRoots { .. } | MathError::NotQuadratic => 1001,
            MathError::Overflow => 1002,
        }
    }
}

/// A calculator with a few helpful extras.
#[rpc]
pub trait Calculator {
    /// Add together everything in `things`.
    async fn add_together(&self, #[rpc(variadic)] things: Vec<i64>) -> Result<i64, MathError>;

    /// Roots of `a*x*x + b*x + c == 0`, smallest first; a double root is listed once.
    async fn quadratic(&self, a: f64, b: f64, c: f64) -> Result<Vec<f64>, MathError>;

    /// Returns `value` exactly as it arrived: a tuple comes back as a list.
    async fn remote_repr(&self, value: Value) -> Value;

    /// The length of each argument: characters of a string, elements of a list, members of an
    /// object, and `null` for anything without a length.
    async fn lengths(&self, #[rpc(variadic)] things: Vec<Value>) -> Vec<Option<usize>>;
}

/// The calculator as a local implementation.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalCalculator;

impl Calculator for LocalCalculator {
    async fn add_together(&self, things: Vec<i64>) -> Result<i64, MathError> {
        things
            .into_iter()
            .try_fold(0i64, i64::checked_add)
            .ok_or(MathError::Overflow)
    }

    async fn quadratic(&self, a: f64, b: f64, c: f64) -> Result<Vec<f64>, MathError> {
        if a == 0.0 {
            return Err(MathError::NotQuadratic);
        }
        let discriminant = b * b - 4.0 * a * c;
        if discriminant < 0.0 {
            return Err(MathError::NoRealRoots { discriminant });
        }
        let root = discriminant.sqrt();
        let mut roots = vec![(-b - root) / (2.0 * a), (-b + root) / (2.0 * a)];
        roots.sort_by(f64::total_cmp);
        roots.dedup();
        Ok(roots)
    }

    async fn remote_repr(&self, value: Value) -> Value {
        value
    }

    async fn lengths(&self, things: Vec<Value>) -> Vec<Option<usize>> {
        things
            .iter()
            .map(|thing| match thing {
                Value::String(s) => Some(s.chars().count()),
                Value::Array(a) => Some(a.len()),
                Value::Object(o) => Some(o.len()),
                _ => None,
            })
            .collect()
    }
}

/// The calculator's endpoint, with `rpc.discover`, `system.*` introspection and the explorer
/// page.
pub fn endpoint() -> rpc_server::RpcService<CalculatorServer<LocalCalculator>> {
    rpc_server::RpcService::new(CalculatorServer(LocalCalculator))
        .introspection(true)
        .explorer(true)
        .api_version("1.0.0")
}

/// The calculator at `/rpc` (the explorer on `GET /rpc`).
pub fn app() -> axum::Router {
    axum::Router::new().route("/rpc", endpoint().into_method_router())
}
