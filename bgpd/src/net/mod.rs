//! Sockets: listener, active connect, TCP-MD5, GTSM, interface binding and framing.
