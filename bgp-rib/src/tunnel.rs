//! Tunnel pairs: the sessions that run over the tunnels of one VPN connection (a cloud VPN
//! gives two tunnels, each with its own BGP session, towards the same network).
//!
//! * **Active/standby**: on import, paths from the active tunnel get a higher LOCAL_PREF
//!   than those from the standby, so the active one is best; on export, the standby
//!   session advertises with a higher MED or extra AS-path prepends so that the far side
//!   prefers the active tunnel too. When the active session goes down its paths are
//!   removed ([`Rib::peer_down`]) and the standby paths are best with no other trigger;
//!   when it comes back and re-announces, it wins again.
//! * **Active/active**: no adjustment; paths over both tunnels are equal through the IGP
//!   cost step and form the multipath set (with `max_paths` ≥ 2), so both are installed.
//!
//! Import adjustments apply to paths received after the pair is configured (the RIB keeps
//! the post-policy Adj-RIB-In only): configure the pair before the sessions come up, or
//! ask the peers for a route refresh after changing it.

use crate::export::ExportBatch;
use crate::peer::PeerId;
use crate::rib::{Rib, RibError};

/// How the standby tunnel's session makes the far side prefer the active one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum StandbyExport {
    /// Advertise with MULTI_EXIT_DISC `active` on the active session and `standby` (higher)
    /// on the standby one.
    Med {
        /// MED on the active tunnel.
        active: u32,
        /// MED on the standby tunnel.
        standby: u32,
    },
    /// Prepend the local AS this many extra times on the standby session.
    Prepend(u8),
}

/// Tunnel pair mode.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TunnelMode {
    /// One tunnel carries the traffic; the others stand by.
    ActiveStandby {
        /// The active tunnel's session.
        active: PeerId,
        /// LOCAL_PREF of paths over the active tunnel.
        active_local_pref: u32,
        /// LOCAL_PREF of paths over the standby tunnels.
        standby_local_pref: u32,
        /// How the standby sessions advertise.
        export: StandbyExport,
    },
    /// All tunnels carry traffic (equal-cost multipath).
    ActiveActive,
}

impl TunnelMode {
    /// Active/standby with the usual values: LOCAL_PREF 200 / 100, MED 100 / 200.
    pub fn active_standby(active: PeerId) -> Self {
        TunnelMode::ActiveStandby {
            active,
            active_local_pref: 200,
            standby_local_pref: 100,
            export: StandbyExport::Med {
                active: 100,
                standby: 200,
            },
        }
    }
}

/// The sessions of one VPN connection.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct TunnelPair {
    /// The sessions, one per tunnel.
    pub members: Vec<PeerId>,
    /// How they share the traffic.
    pub mode: TunnelMode,
}

impl Rib {
    /// Configures a tunnel pair: sets each member's import LOCAL_PREF and export MED /
    /// prepend, and moves members whose session is up into their new update groups.
    ///
    /// For each member moved while up, returns the UPDATEs to send it: its new group's view
    /// (the MED or prepend changed) and withdrawals of what it had been sent that the new
    /// group does not send. The import LOCAL_PREF applies to paths received from now on; the
    /// RIB keeps no pre-policy copy, so ask those peers for a route refresh.
    pub fn set_tunnel_pair(
        &mut self,
        pair: &TunnelPair,
    ) -> Result<Vec<(PeerId, ExportBatch)>, RibError> {
        for &m in &pair.members {
            self.peer(m)?;
        }
        let mut moved = Vec::new();
        for &m in &pair.members {
            let p = self.peer_mut(m)?;
            match pair.mode {
                TunnelMode::ActiveActive => {
                    p.import_local_pref = None;
                    p.tunnel_med = None;
                    p.tunnel_prepend = 0;
                }
                TunnelMode::ActiveStandby {
                    active,
                    active_local_pref,
                    standby_local_pref,
                    export,
                } => {
                    let is_active = m == active;
                    p.import_local_pref = Some(if is_active {
                        active_local_pref
                    } else {
                        standby_local_pref
                    });
                    match export {
                        StandbyExport::Med {
                            active: a,
                            standby: s,
                        } => {
                            p.tunnel_med = Some(if is_active { a } else { s });
                            p.tunnel_prepend = 0;
                        }
                        StandbyExport::Prepend(n) => {
                            p.tunnel_med = None;
                            p.tunnel_prepend = if is_active { 0 } else { n };
                        }
                    }
                }
            }
            if p.session.is_some() {
                let before = self.advertised(m);
                self.join_group(m);
                let batch = self.resync_export(m, &before)?;
                moved.push((m, batch));
            }
        }
        Ok(moved)
    }
}
