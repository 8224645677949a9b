//! Attacks on a public endpoint, each bounded and on 127.0.0.1 only: slow heads, stalled
//! readers, idle floods over a low file limit, huge batches and oversize bodies against the
//! `spec_server` program run as a child process (its memory read from `/proc`), and the RPC
//! layer's limits (call timeout, concurrency cap, answer size) and graceful shutdown against a
//! server in this process. Each attack asserts that the server's memory stays bounded and that
//! an honest client is served while it lasts. The server's timeouts are shortened through
//! `spec_server`'s options so that no test waits out the production defaults.
//!
//! - `spec_server`: the harness: the program as a child process, its memory, an honest client;
//! - `attacks`: the attacks on that program;
//! - `budgets`: one client taking over: WebSocket queues, unfinished messages, slow bodies,
//!   every slot (against `pubsub` and `spec_server`, from another peer address);
//! - `limits`: the RPC layer's limits, in this process;
//! - `shutdown`: graceful shutdown, in this process.

#[path = "../common/mod.rs"]
mod common;

mod attacks;
mod budgets;
mod limits;
mod shutdown;
mod spec_server;

pub(crate) use rpc_core::rpc;
pub(crate) use serde_json::{Value, json};
pub(crate) use std::io::{BufRead, BufReader};
pub(crate) use std::net::SocketAddr;
pub(crate) use std::process::{Child, Command, Stdio};
pub(crate) use std::sync::Arc;
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
pub(crate) use std::time::{Duration, Instant};
pub(crate) use tokio::io::{AsyncReadExt, AsyncWriteExt};
pub(crate) use tokio::net::{TcpSocket, TcpStream};
