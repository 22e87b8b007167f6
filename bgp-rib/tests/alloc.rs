//! Withdrawing everything gives the memory back (counting global allocator).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::alloc::System;
use std::net::Ipv4Addr;

use bgp_wire::Nlri;
use common::*;
use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;

#[global_allocator]
static ALLOC: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn withdrawing_everything_returns_the_allocator_near_its_start(
        seeds in prop::collection::vec(any::<u32>(), 500..3000),
        peers in 1usize..4,
    ) {
        let mut rib = rib();
        let ids: Vec<_> = (0..peers).map(|i| peer(&mut rib, i as u8 + 1, 65001 + i as u32)).collect();
        let nets: Vec<Nlri> = seeds
            .iter()
            .map(|&s| {
                let len = 16 + (s % 9) as u8;
                Nlri::new(IpNet::V4(Ipv4Net::new(Ipv4Addr::from(s), len).unwrap().trunc()))
            })
            .collect();
        // Warm the scratch buffers once so they do not count as growth.
        let before = ALLOC.allocated();
        for (i, &id) in ids.iter().enumerate() {
            for (j, chunk) in nets.chunks(7).enumerate() {
                let a = A::path(&[65001 + i as u32, j as u32 % 50]).build();
                rib.announce(id, nh(i as u8 + 1), &a, chunk.iter().copied()).unwrap();
            }
        }
        prop_assert!(ALLOC.allocated() > before);
        for &id in &ids {
            rib.withdraw(id, nets.iter().copied()).unwrap();
        }
        prop_assert!(rib.is_empty());
        let after = ALLOC.allocated();
        // Scratch buffers sized by the largest UPDATE may stay; nothing per prefix may.
        prop_assert!(after <= before + 16 * 1024, "{} bytes left", after - before);
    }
}
