//! Embedding `bgpd`'s `Speaker` in your own tokio gateway.
//!
//! A VPN gateway program owns its data plane; it only needs BGP to learn where prefixes go
//! and to advertise its own. This example builds a speaker in code, adds a peer and a locally
//! originated route at run time, and consumes the stream of best-route changes the way a
//! gateway would program its forwarding table. To have someone to talk to, it also starts a
//! second speaker on loopback standing in for the cloud gateway.
//!
//! Run: `cargo run -p bgpd --example embed`

use bgp_rib::LocalRoute;
use bgpd::speaker::{PeerSpec, RouteEvent, Speaker, SpeakerConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ours = Ipv4Addr::new(127, 60, 0, 1);
    let cloud = Ipv4Addr::new(127, 60, 0, 2);

    // The stand-in cloud gateway: AS 64512, answers connections, advertises 10.2.0.0/16.
    let mut cloud_config = SpeakerConfig::new(64512, cloud);
    cloud_config.listen = vec![SocketAddr::new(cloud.into(), 0)];
    cloud_config.networks = vec![LocalRoute::new("10.2.0.0/16".parse()?)];
    let cloud_side = Speaker::start(cloud_config.clone()).await?;
    let mut their_peer = PeerSpec::new(&cloud_config, ours.into(), 65000);
    their_peer.session.passive = true;
    cloud_side.add_peer(their_peer).await?;
    let port = cloud_side.listening()[0].port();

    // Our gateway: built in code, no configuration file.
    let config = SpeakerConfig::new(65000, ours);
    let gateway = Speaker::start(config.clone()).await?;
    let mut routes = gateway.subscribe();
    let mut peer = PeerSpec::new(&config, cloud.into(), 64512);
    peer.transport.port = port;
    peer.transport.local_address = Some(ours.into());
    peer.description = Some("cloud gateway".into());
    gateway.add_peer(peer).await?;
    gateway
        .originate(LocalRoute::new("10.1.0.0/16".parse()?))
        .await?;

    // Program the data plane from best-route changes (here: print what would be installed).
    let learned = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(RouteEvent { prefix, best }) = routes.recv().await {
            match best {
                Some(b) if !b.local => {
                    let hops: Vec<String> =
                        b.next_hops.iter().map(|h| h.address.to_string()).collect();
                    println!(
                        "install {prefix} via {} (AS path {:?})",
                        hops.join(", "),
                        b.as_path
                    );
                    return Some(prefix);
                }
                Some(_) => println!("originating {prefix}"),
                None => println!("remove {prefix}"),
            }
        }
        None
    })
    .await?;
    let advertised = cloud_side.routes(Default::default()).await?;
    println!(
        "cloud side now has {}",
        advertised
            .iter()
            .map(|r| r.prefix.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    gateway.shutdown("example finished").await;
    cloud_side.shutdown("example finished").await;
    if learned.is_none() {
        return Err("no route learned".into());
    }
    Ok(())
}
