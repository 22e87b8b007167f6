//! `bgpd`: the BGP daemon for cloud VPN gateways, and the [`Speaker`](speaker::Speaker) other tokio programs
//! can embed.
//!
//! The daemon is a thin driver (conventions §1): it owns sockets, timers and channels, feeds
//! events into `bgp-fsm` sessions and the `bgp-rib` tables, and carries out what they return.
#![deny(unsafe_code)]

pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod demo;
pub mod fib;
pub mod metrics;
pub mod net;
mod serve;
pub mod speaker;
